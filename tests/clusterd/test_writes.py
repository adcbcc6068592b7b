"""Cluster writes reach every member: concurrently, durably, in order, also the
ones that were offline (rule 4). Real elektrads, real clusterd."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..support.waiting import wait_until
from .api import (
    RESULT,
    add_instance,
    assign,
    create_cluster,
    error_code,
    results,
    set_key,
    target,
)
from .conftest import Clusterd, Elektrad


def cluster_of(
    clusterd: Clusterd, daemons: list[Elektrad], name: str = "prod"
) -> tuple[str, list[str]]:
    cluster = create_cluster(clusterd, name)
    instances = []
    for n, daemon in enumerate(daemons):
        instance = add_instance(clusterd, f"{name}-{n}", daemon.url)
        assign(clusterd, cluster, instance)
        instances.append(instance)
    return cluster, instances


def test_a_cluster_write_reaches_every_member(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    daemons = elektrads(3)
    cluster, _ = cluster_of(clusterd, daemons)
    response = set_key(clusterd, target(cluster=cluster), "user/app/port", "8080")
    assert results(response) == {"prod-0": "APPLIED", "prod-1": "APPLIED", "prod-2": "APPLIED"}
    assert [d.value("user:/app/port") for d in daemons] == ["8080"] * 3
    key = clusterd.ok(
        'query($c: ID!) { cluster(id: $c) { key(path: "user:/app/port") { path value } } }',
        c=cluster,
    )["cluster"]["key"]
    assert key == {"path": "user:/app/port", "value": "8080"}


def test_nested_members_get_the_ancestors_writes(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    top_daemon, nested_daemon = elektrads(2)
    prod, _ = cluster_of(clusterd, [top_daemon], "prod")
    eu = create_cluster(clusterd, "eu", parent=prod)
    assign(clusterd, eu, add_instance(clusterd, "eu-0", nested_daemon.url))
    response = set_key(clusterd, target(cluster=prod), "system:/dns", "10.0.0.53")
    assert results(response) == {"prod-0": "APPLIED", "eu-0": "APPLIED"}
    assert nested_daemon.value("system:/dns") == "10.0.0.53"
    members = clusterd.ok(
        "query($c: ID!) { cluster(id: $c) { instances { name } all: instances(recursive: true)"
        " { name } children { name } } }",
        c=prod,
    )["cluster"]
    assert members == {
        "instances": [{"name": "prod-0"}],
        "all": [{"name": "eu-0"}, {"name": "prod-0"}],
        "children": [{"name": "eu"}],
    }


def test_a_cycle_of_clusters_is_refused(clusterd: Clusterd) -> None:
    a = create_cluster(clusterd, "a")
    b = create_cluster(clusterd, "b", parent=a)
    c = create_cluster(clusterd, "c", parent=b)
    for new_parent in (c, a):
        response = clusterd.query(
            "mutation($a: ID!, $p: ID) { updateCluster(id: $a, input: {parentId: $p}) { id } }",
            a=a,
            p=new_parent,
        )
        assert error_code(response) == "CLUSTER_CYCLE"
    moved = clusterd.ok(
        "mutation($c: ID!) { updateCluster(id: $c, input: {parentId: null}) { parent { id } } }",
        c=c,
    )
    assert moved["updateCluster"]["parent"] is None


def test_joining_delivers_the_cluster_and_ancestor_keys(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    prod = create_cluster(clusterd, "prod")
    eu = create_cluster(clusterd, "eu", parent=prod)
    set_key(clusterd, target(cluster=prod), "user:/a", "from prod")
    set_key(clusterd, target(cluster=eu), "user:/b", "from eu")
    clusterd.ok(
        'mutation($c: ID!) { setMeta(target: {clusterId: $c}, path: "user:/b", key: "note",'
        ' value: "n") { operationId } }',
        c=eu,
    )
    instance = add_instance(clusterd, "new", daemon.url)
    assign(clusterd, eu, instance)
    wait_until(
        lambda: daemon.value("user:/a") == "from prod" and daemon.value("user:/b") == "from eu"
    )
    import httpx

    wait_until(lambda: httpx.get(f"{daemon.url}/kdb/user:/b").json()["meta"] == {"note": "n"})


def test_an_offline_member_gets_the_write_when_it_comes_back(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    online, offline = elektrads(2)
    cluster, instances = cluster_of(clusterd, [online, offline])
    offline.stop()
    first = set_key(clusterd, target(cluster=cluster), "user:/app/mode", "old")
    second = set_key(clusterd, target(cluster=cluster), "user:/app/mode", "new")
    assert results(first) == {"prod-0": "APPLIED", "prod-1": "PENDING"}
    assert results(second) == {"prod-0": "APPLIED", "prod-1": "PENDING"}
    pending = clusterd.ok(
        "query($i: ID!) { instance(id: $i) { pending { op path attempts lastError } } }",
        i=instances[1],
    )["instance"]["pending"]
    # The first may be SUPERSEDED already (an attempt meanwhile coalesced
    # the queue); the newest waits.
    assert 1 <= len(pending) <= 2
    assert {(p["op"], p["path"]) for p in pending} == {("SET", "user:/app/mode")}
    # Tried once, or known unreachable already (health check): not tried again.
    assert pending[0]["lastError"]
    offline.start()
    wait_until(lambda: offline.value("user:/app/mode") == "new")
    wait_until(
        lambda: (
            not clusterd.ok(
                "query($i: ID!) { instance(id: $i) { pending { path } } }", i=instances[1]
            )["instance"]["pending"]
        )
    )
    time.sleep(0.3)
    assert offline.value("user:/app/mode") == "new"  # in order: the old value never wins


def test_a_member_that_refuses_the_value_is_failed_with_its_message(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    strict, lenient = elektrads(2)
    cluster, _ = cluster_of(clusterd, [strict, lenient])
    import httpx

    httpx.put(f"{strict.url}/kdb/user:/app/port", content=b"80")
    httpx.post(f"{strict.url}/kdbMeta/user:/app/port", json={"key": "check/type", "value": "long"})
    response = set_key(clusterd, target(cluster=cluster), "user:/app/port", "eighty", force=True)
    by_name = {r["instance"]["name"]: r for r in response["data"]["setKey"]["results"]}
    assert by_name["prod-0"]["delivery"] == "FAILED"
    assert "prod-0 refused" in by_name["prod-0"]["error"]
    assert "long" in by_name["prod-0"]["error"]
    assert by_name["prod-1"]["delivery"] == "APPLIED"
    assert strict.value("user:/app/port") == "80"


def test_a_direct_write_refused_by_validation_is_an_error(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    import httpx

    httpx.put(f"{daemon.url}/kdb/user:/n", content=b"1")
    httpx.post(f"{daemon.url}/kdbMeta/user:/n", json={"key": "check/type", "value": "long"})
    response = set_key(clusterd, target(instance=instance), "user:/n", "one")
    assert error_code(response) == "VALIDATION_FAILED"


def test_cluster_move_copy_delete_and_meta_reach_members(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    cluster, _ = cluster_of(clusterd, [daemon])
    where = target(cluster=cluster)
    set_key(clusterd, where, "user:/a/x", "1")
    for mutation, field in [
        ('copyKey(target: $t, from: "user:/a", to: "user:/b")', "copyKey"),
        ('moveKey(target: $t, from: "user:/a", to: "user:/c")', "moveKey"),
        ('setMeta(target: $t, path: "user:/c/x", key: "note", value: "n")', "setMeta"),
        ('deleteKey(target: $t, path: "user:/b")', "deleteKey"),
    ]:
        response = clusterd.query(f"mutation($t: Target!) {{ {mutation} {RESULT} }}", t=where)
        # APPLIED within --write-wait, or PENDING on a loaded machine: in order either way.
        assert results(response, field)["prod-0"] in ("APPLIED", "PENDING"), mutation
    wait_until(
        lambda: (
            (daemon.value("user:/a/x"), daemon.value("user:/b/x"), daemon.value("user:/c/x"))
            == (None, None, "1")
        ),
        what="every write delivered",
    )
    keys = clusterd.ok(
        'query($c: ID!) { cluster(id: $c) { keys(path: "user:/", depth: 5)'
        " { path exists meta { key value } } } }",
        c=cluster,
    )["cluster"]["keys"]
    assert [(k["path"], k["exists"]) for k in keys] == [("user:/", False), ("user:/c/x", True)]
    assert keys[1]["meta"] == [{"key": "note", "value": "n"}]


def test_a_write_needs_exactly_one_target_and_a_namespace(clusterd: Clusterd) -> None:
    # Target is @oneOf: GraphQL refuses none or two before anything runs.
    both = set_key(clusterd, {"instanceId": "1", "clusterId": "1"}, "user:/a", "1")
    assert error_code(both) == "BAD_USER_INPUT"
    assert error_code(set_key(clusterd, {}, "user:/a", "1")) == "BAD_USER_INPUT"
    cluster = create_cluster(clusterd, "c")
    assert error_code(set_key(clusterd, target(cluster=cluster), "/cascading", "1")) == (
        "INVALID_KEY_NAME"
    )
    assert error_code(set_key(clusterd, target(cluster=cluster), "nonsense/a", "1")) == (
        "INVALID_KEY_NAME"
    )
    assert error_code(set_key(clusterd, target(cluster="999"), "user:/a", "1")) == "NOT_FOUND"
