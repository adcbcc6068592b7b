"""The three rules clusterd enforces itself, against real elektrads, on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, error_code, set_key, target
from .conftest import AUTH, Clusterd, Elektrad

# -- rule 1: no instance twice --------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["{url}/", "{url}", "HTTP://127.0.0.1:{port}/", "http://127.0.0.1:{port}//"],
)
def test_the_same_url_spelled_differently_is_refused(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]], spelling: str
) -> None:
    (daemon,) = elektrads(1)
    add_instance(clusterd, "web-01", daemon.url)
    response = clusterd.query(
        'mutation($h: String!) { addInstance(input: {name: "again", host: $h}) { id } }',
        h=spelling.format(url=daemon.url, port=daemon.port),
    )
    assert error_code(response) == "INSTANCE_EXISTS"
    assert "already registered as web-01" in response["errors"][0]["message"]


def test_the_same_daemon_under_another_address_is_refused(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    add_instance(clusterd, "web-01", daemon.url)
    response = clusterd.query(
        'mutation($h: String!) { addInstance(input: {name: "alias", host: $h}) { id } }',
        h=f"http://localhost:{daemon.port}",
    )
    assert error_code(response) == "INSTANCE_EXISTS"
    assert "this elektrad is already registered as web-01" in response["errors"][0]["message"]


@pytest.mark.parametrize(
    "host", ["ftp://example.org", "not a url", "http://user:pw@example.org", "http://:80", ""]
)
def test_a_host_that_is_no_elektrad_url_is_refused(clusterd: Clusterd, host: str) -> None:
    response = clusterd.query(
        'mutation($h: String!) { addInstance(input: {name: "x", host: $h}) { id } }', h=host
    )
    assert error_code(response) == "INVALID_HOST"
    assert clusterd.ok("{ instances { id } }")["instances"] == []


def test_an_offline_instance_can_be_registered_and_shows_offline(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    daemon.stop()
    refused = clusterd.query(
        'mutation($h: String!) { addInstance(input: {name: "later", host: $h}) { id } }',
        h=daemon.url,
    )
    assert error_code(refused) == "INSTANCE_UNREACHABLE"
    message = refused["errors"][0]["message"]
    assert message.startswith(f"nothing answers as an elektrad at {daemon.url} (")
    assert "allowOffline" in message
    assert clusterd.ok("{ instances { id } }")["instances"] == []
    # Asked for: registered, OFFLINE, and ONLINE once its elektrad answers.
    instance = add_instance(clusterd, "later", daemon.url, allow_offline=True)
    data = clusterd.ok("query($i: ID!) { instance(id: $i) { status lastSeen } }", i=instance)
    assert data["instance"] == {"status": "OFFLINE", "lastSeen": None}


def test_an_address_without_a_scheme_is_taken_as_http(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    typed = daemon.url.removeprefix("http://")  # 127.0.0.1:PORT, as people type it
    instance = add_instance(clusterd, "web-01", typed)
    data = clusterd.ok("query($i: ID!) { instance(id: $i) { host status } }", i=instance)
    assert data["instance"] == {"host": daemon.url, "status": "ONLINE"}


def test_an_address_that_answers_but_not_as_an_elektrad_is_refused(clusterd: Clusterd) -> None:
    # clusterd itself: it answers HTTP, but GET /version is no elektrad's.
    refused = clusterd.query(
        'mutation($h: String!) { addInstance(input: {name: "x", host: $h}) { id } }',
        h=clusterd.url,
    )
    assert error_code(refused) == "INSTANCE_UNREACHABLE"
    assert f"nothing answers as an elektrad at {clusterd.url}" in refused["errors"][0]["message"]


# -- rule 2: one cluster per instance ---------------------------------------------


def test_an_instance_in_a_cluster_cannot_join_another(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web-01", daemon.url)
    prod, staging = create_cluster(clusterd, "prod"), create_cluster(clusterd, "staging")
    assert assign(clusterd, prod, instance)["data"]["assignInstance"]["cluster"]["name"] == "prod"
    refused = assign(clusterd, staging, instance)
    assert error_code(refused) == "ALREADY_IN_CLUSTER"
    assert refused["errors"][0]["message"] == "web-01 is already in cluster prod"
    assert refused["errors"][0]["extensions"]["cluster"] == "prod"
    assert not assign(clusterd, prod, instance).get("errors")  # same cluster again: fine


def test_of_two_concurrent_assignments_exactly_one_wins(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    daemons = elektrads(1)
    instances = [add_instance(clusterd, f"i{n}", d.url) for n, d in enumerate(daemons)]
    for round_ in range(5):
        clusters = [create_cluster(clusterd, f"r{round_}-{n}") for n in range(4)]
        instance = instances[0]

        def claim(cluster: str, instance: str = instance) -> bool:
            with httpx.Client(base_url=clusterd.url, timeout=30, headers=AUTH) as http:
                body = http.post(
                    "/graphql",
                    json={
                        "query": "mutation($c: ID!, $i: ID!) "
                        "{ assignInstance(clusterId: $c, instanceId: $i) { id } }",
                        "variables": {"c": cluster, "i": instance},
                    },
                ).json()
            if body.get("errors"):
                assert body["errors"][0]["extensions"]["code"] == "ALREADY_IN_CLUSTER"
                return False
            return True

        with ThreadPoolExecutor(4) as pool:
            wins = list(pool.map(claim, clusters))
        assert wins.count(True) == 1
        clusterd.ok("mutation($i: ID!) { unassignInstance(instanceId: $i) { id } }", i=instance)


# -- rule 3: cluster keys are locked on members ----------------------------------


@pytest.fixture
def member(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> tuple[str, str, Elektrad]:
    """An instance in cluster "prod", which sets user:/app/port = 8080."""
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web-01", daemon.url)
    cluster = create_cluster(clusterd, "prod")
    assign(clusterd, cluster, instance)
    set_key(clusterd, target(cluster=cluster), "user:/app/port", "8080")
    assert daemon.value("user:/app/port") == "8080"
    return instance, cluster, daemon


LOCKED_WRITES = [
    ('setKey(target: $t, path: "user:/app/port", value: "1")', "setKey"),
    ('setKey(target: $t, path: "user/app/port", value: "1")', "setKey"),
    ('deleteKey(target: $t, path: "user:/app/port")', "deleteKey"),
    ('deleteKey(target: $t, path: "user:/app")', "deleteKey"),
    ('deleteKey(target: $t, path: "user:/")', "deleteKey"),
    ('moveKey(target: $t, from: "user:/app/port", to: "user:/x")', "moveKey"),
    ('moveKey(target: $t, from: "user:/app", to: "user:/x")', "moveKey"),
    ('moveKey(target: $t, from: "user:/own", to: "user:/app/port")', "moveKey"),
    ('copyKey(target: $t, from: "user:/own", to: "user:/app/port")', "copyKey"),
    ('copyKey(target: $t, from: "user:/own", to: "user:/app")', "copyKey"),
    ('setMeta(target: $t, path: "user:/app/port", key: "note", value: "n")', "setMeta"),
    ('deleteMeta(target: $t, path: "user:/app/port", key: "note")', "deleteMeta"),
]


@pytest.mark.parametrize(("mutation", "field"), LOCKED_WRITES)
def test_every_write_to_a_locked_key_through_the_member_is_refused(
    clusterd: Clusterd, member: tuple[str, str, Elektrad], mutation: str, field: str
) -> None:
    instance, _, daemon = member
    clusterd.ok(
        'mutation($t: Target!) { setKey(target: $t, path: "user:/own", value: "mine") '
        "{ operationId } }",
        t=target(instance=instance),
    )
    response = clusterd.query(
        f"mutation($t: Target!) {{ {mutation} {{ operationId }} }}", t=target(instance=instance)
    )
    assert error_code(response) == "KEY_LOCKED"
    assert response["errors"][0]["extensions"]["cluster"] == "prod"
    assert "set by cluster prod" in response["errors"][0]["message"]
    assert daemon.value("user:/app/port") == "8080"
    assert daemon.value("user:/own") == "mine"


def test_the_members_own_keys_stay_editable(
    clusterd: Clusterd, member: tuple[str, str, Elektrad]
) -> None:
    instance, _, daemon = member
    for mutation in [
        'setKey(target: $t, path: "user:/app/host", value: "a")',
        'setMeta(target: $t, path: "user:/app/host", key: "note", value: "n")',
        'copyKey(target: $t, from: "user:/app/host", to: "user:/other/host")',
        'moveKey(target: $t, from: "user:/other", to: "user:/third")',
        'deleteKey(target: $t, path: "user:/third")',
    ]:
        response = clusterd.query(
            f"mutation($t: Target!) {{ {mutation} {{ results {{ delivery }} }} }}",
            t=target(instance=instance),
        )
        assert not response.get("errors"), (mutation, response)
    assert daemon.value("user:/app/host") == "a"


def test_locked_by_names_the_owning_cluster(
    clusterd: Clusterd, member: tuple[str, str, Elektrad]
) -> None:
    instance, _, _ = member
    set_key(clusterd, target(instance=instance), "user:/app/host", "a")
    data = clusterd.ok(
        """query($i: ID!) { instance(id: $i) {
             port: key(path: "user:/app/port") { value lockedBy { name } }
             host: key(path: "user:/app/host") { value lockedBy { name } } } }""",
        i=instance,
    )["instance"]
    assert data["port"] == {"value": "8080", "lockedBy": {"name": "prod"}}
    assert data["host"] == {"value": "a", "lockedBy": None}


def test_a_child_cluster_cannot_set_a_key_its_ancestor_sets(
    clusterd: Clusterd, member: tuple[str, str, Elektrad]
) -> None:
    _, prod, _ = member
    eu = create_cluster(clusterd, "prod-eu", parent=prod)
    response = set_key(clusterd, target(cluster=eu), "user:/app/port", "9090")
    assert error_code(response) == "KEY_LOCKED"
    assert response["errors"][0]["extensions"]["cluster"] == "prod"
    assert not set_key(clusterd, target(cluster=eu), "user:/app/region", "eu").get("errors")


def test_a_member_that_leaves_keeps_the_keys_unlocked(
    clusterd: Clusterd, member: tuple[str, str, Elektrad]
) -> None:
    instance, _, daemon = member
    clusterd.ok("mutation($i: ID!) { unassignInstance(instanceId: $i) { id } }", i=instance)
    assert daemon.value("user:/app/port") == "8080"  # kept
    response = set_key(clusterd, target(instance=instance), "user:/app/port", "1")
    assert not response.get("errors")  # and unlocked
    assert daemon.value("user:/app/port") == "1"


def test_a_moved_cluster_delivers_its_new_ancestors_keys_and_frees_the_old(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    old, new = create_cluster(clusterd, "old"), create_cluster(clusterd, "new")
    team = create_cluster(clusterd, "team", parent=old)
    set_key(clusterd, target(cluster=old), "user:/app/from-old", "1")
    set_key(clusterd, target(cluster=new), "user:/app/from-new", "2")
    assign(clusterd, team, instance)
    # Joining delivers in the background (assignInstance does not wait).
    wait_until(lambda: daemon.value("user:/app/from-old") == "1")
    assert daemon.value("user:/app/from-new") is None

    moved = clusterd.query(
        "mutation($c: ID!, $p: ID!) { updateCluster(id: $c, input: {parentId: $p}) "
        "{ parent { name } } }",
        c=team,
        p=new,
    )
    assert moved["data"]["updateCluster"]["parent"] == {"name": "new"}
    wait_until(lambda: daemon.value("user:/app/from-new") == "2")
    # The new ancestor's key is locked on the member, the old one's is free.
    assert error_code(set_key(clusterd, target(instance=instance), "user:/app/from-new", "x")) == (
        "KEY_LOCKED"
    )
    assert not set_key(clusterd, target(instance=instance), "user:/app/from-old", "x").get("errors")
    assert daemon.value("user:/app/from-old") == "x"
    pending = clusterd.ok("query($i: ID!) { instance(id: $i) { pending { value } } }", i=instance)
    assert pending["instance"]["pending"] == []
