"""The history of configuration: every change of a key, who made it, paged."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx

from elektra_web.clusterd.app import ClusterdConfig

from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, results, set_key, target
from .conftest import TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd
from .test_auth import make_token

ENTRY = "id at actor origin operationId op path value previous meta instanceId clusterId"
HISTORY = (
    "query($t: Target!, $p: String, $first: Int!, $before: ID) "
    "{ history(target: $t, pathPrefix: $p, first: $first, before: $before) "
    f"{{ hasMore entries {{ {ENTRY} }} operations {{ operationId actor entries {{ id }} }} }} }}"
)


def history(
    clusterd: Clusterd,
    where: dict[str, str],
    prefix: str | None = None,
    first: int = 50,
    before: str | None = None,
) -> dict[str, Any]:
    page: dict[str, Any] = clusterd.ok(HISTORY, t=where, p=prefix, first=first, before=before)[
        "history"
    ]
    return page


def entries(clusterd: Clusterd, where: dict[str, str], prefix: str | None = None) -> list[Any]:
    found: list[Any] = history(clusterd, where, prefix)["entries"]
    return found


def recorded(clusterd: Clusterd, where: dict[str, str], count: int) -> bool:
    return len(entries(clusterd, where)) == count


def admin_name(clusterd: Clusterd) -> str:
    name: str = clusterd.ok("{ me { name } }")["me"]["name"]
    return name


def on_the_machine(
    clusterd: Clusterd, daemon: Elektrad, where: dict[str, str], path: str, value: str
) -> dict[str, Any]:
    """Change ``path`` on the machine (straight to its elektrad); its entry,
    once clusterd has read it from the feed. What the feed held before it
    is recorded by then too: the feed is read in order."""
    httpx.put(f"{daemon.url}/kdb/{path}", content=value.encode()).raise_for_status()
    found: list[dict[str, Any]] = []

    def seen() -> bool:
        found[:] = [e for e in entries(clusterd, where, path) if e["value"] == value]
        return bool(found)

    wait_until(seen, what=f"{path} = {value} in the history")
    return found[0]


def test_a_write_to_an_instance_is_one_entry_with_its_actor_and_operation(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web-01", daemon.url)
    where = target(instance=instance)
    first = set_key(clusterd, where, "user:/app/port", "8080")
    second = set_key(clusterd, where, "user/app/port", "9090")  # either spelling
    results(first), results(second)
    wait_until(lambda: len(entries(clusterd, where)) == 2, what="both writes in the history")

    # A change on the machine, after them in the feed: once it is recorded,
    # so would be any echo recorded twice.
    made_there = on_the_machine(clusterd, daemon, where, "user:/app/port", "7070")
    newest, older, oldest = entries(clusterd, where)
    assert newest == made_there
    assert newest["actor"] == "on the machine"
    assert newest["origin"] == "instance"
    assert newest["operationId"] is None
    assert newest["previous"] == "9090"
    me = admin_name(clusterd)
    assert {k: older[k] for k in ("actor", "origin", "op", "path", "value", "previous")} == {
        "actor": me,
        "origin": "clusterd",
        "op": "SET",
        "path": "user:/app/port",
        "value": "9090",
        "previous": "8080",
    }
    assert older["operationId"] == second["data"]["setKey"]["operationId"]
    assert older["instanceId"] == instance and older["clusterId"] is None
    assert oldest["operationId"] == first["data"]["setKey"]["operationId"]
    assert (oldest["value"], oldest["previous"]) == ("8080", None)
    assert int(newest["id"]) > int(older["id"]) > int(oldest["id"])
    assert newest["at"] >= older["at"] >= oldest["at"]


def test_a_cluster_write_is_in_the_clusters_history_and_each_members(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    daemons = elektrads(2)
    cluster = create_cluster(clusterd, "prod")
    instances = [add_instance(clusterd, f"web-0{i}", d.url) for i, d in enumerate(daemons)]
    for instance in instances:
        assign(clusterd, cluster, instance)
    written = set_key(clusterd, target(cluster=cluster), "user:/app/port", "8080")
    assert set(results(written).values()) == {"APPLIED"}
    operation = written["data"]["setKey"]["operationId"]
    meta = clusterd.ok(
        'mutation($t: Target!) { setMeta(target: $t, path: "user:/app/port", '
        'key: "check/type", value: "long") { operationId } }',
        t=target(cluster=cluster),
    )["setMeta"]["operationId"]
    me = admin_name(clusterd)

    own = entries(clusterd, target(cluster=cluster))
    assert [(e["op"], e["value"], e["meta"], e["operationId"]) for e in own] == [
        ("META", "long", "check/type", meta),
        ("SET", "8080", None, operation),
    ]
    assert {(e["actor"], e["origin"], e["clusterId"], e["instanceId"]) for e in own} == {
        (me, "clusterd", cluster, None)
    }
    for daemon, instance in zip(daemons, instances, strict=True):
        where = target(instance=instance)
        on_the_machine(clusterd, daemon, where, "user:/marker", "1")
        mine = [e for e in entries(clusterd, where) if e["path"] == "user:/app/port"]
        assert [(e["op"], e["operationId"], e["actor"]) for e in mine] == [
            ("META", meta, me),
            ("SET", operation, me),
        ], f"one entry per change on {instance}"
        assert {e["clusterId"] for e in mine} == {None}


def test_pages_go_back_with_before_and_a_prefix_is_a_subtree(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    where = target(instance=add_instance(clusterd, "web-01", daemon.url))
    paths = ["user:/app/a", "user:/app/b/c", "user:/apps/x", "user:/app", "user:/other"]
    for number, path in enumerate(paths):
        results(set_key(clusterd, where, path, str(number)))
    wait_until(lambda: len(entries(clusterd, where)) == len(paths), what="every write recorded")

    seen: list[str] = []
    before = None
    while True:
        page = history(clusterd, where, first=2, before=before)
        assert len(page["entries"]) <= 2
        seen += [e["path"] for e in page["entries"]]
        if not page["hasMore"]:
            break
        before = page["entries"][-1]["id"]
    assert seen == list(reversed(paths))

    below = [e["path"] for e in entries(clusterd, where, "user/app")]
    assert below == ["user:/app", "user:/app/b/c", "user:/app/a"]  # not user:/apps
    assert [e["path"] for e in entries(clusterd, where, "user:/app/b")] == ["user:/app/b/c"]
    assert len(entries(clusterd, where, "user:/")) == len(paths)
    page = history(clusterd, where, "user:/app", first=1)
    assert page["hasMore"] and [e["path"] for e in page["entries"]] == ["user:/app"]
    assert [g["entries"] for g in page["operations"]] == [[{"id": page["entries"][0]["id"]}]]


def test_any_role_reads_history_and_bad_input_is_refused(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    where = target(instance=add_instance(clusterd, "web-01", daemon.url))
    results(set_key(clusterd, where, "user:/app/port", "8080"))
    wait_until(lambda: len(entries(clusterd, where)) == 1, what="the write recorded")
    _, secret = make_token(clusterd, "VIEWER", "carol")
    viewer = clusterd.as_(secret)
    assert [e["value"] for e in entries(viewer, where)] == ["8080"]
    refused = [
        ({"instanceId": "x"}, None, 50),
        (where, "/app", 50),  # cascading: history is of keys with a namespace
        (where, None, 0),
        (where, None, 1001),
    ]
    for where_, prefix, first in refused:
        error = viewer.error(HISTORY, t=where_, p=prefix, first=first, before=None)
        assert error["extensions"]["code"] in ("BAD_INPUT", "INVALID_KEY_NAME"), error
    nothing = history(viewer, {"clusterId": "999"})
    assert nothing == {"hasMore": False, "entries": [], "operations": []}


def test_retention_prunes_to_the_newest_entries_and_by_age(
    database_url: str, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    settings = dataclasses.replace(
        TEST_SETTINGS, history_max_entries=2, history_prune_interval=0.1, history_prune_batch=1
    )
    config = ClusterdConfig(database_url=database_url, settings=settings)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        clusterd = Clusterd(url, http)
        where = target(instance=add_instance(clusterd, "web-01", daemon.url))
        for value in "12345":
            results(set_key(clusterd, where, "user:/app/port", value))
        wait_until(
            lambda: [e["value"] for e in entries(clusterd, where)] == ["5", "4"],
            what="all but the newest two pruned, one a round",
        )

    settings = dataclasses.replace(
        TEST_SETTINGS, history_max_age=0.5 / 86400, history_prune_interval=0.1
    )
    config = ClusterdConfig(database_url=database_url, settings=settings)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        clusterd = Clusterd(url, http)
        wait_until(lambda: not entries(clusterd, where), what="entries older than 0.5 s pruned")


def test_with_history_off_no_change_is_recorded(
    database_url: str, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    settings = dataclasses.replace(TEST_SETTINGS, history_enabled=False)
    config = ClusterdConfig(database_url=database_url, settings=settings)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        clusterd = Clusterd(url, http)
        cluster = create_cluster(clusterd, "prod")
        instance = add_instance(clusterd, "web-01", daemon.url)
        assign(clusterd, cluster, instance)
        written = set_key(clusterd, target(cluster=cluster), "user:/app/port", "8080")
        assert set(results(written).values()) == {"APPLIED"}
        results(set_key(clusterd, target(instance=instance), "user:/app/name", "web"))
        httpx.put(f"{daemon.url}/kdb/user:/app/host", content=b"here").raise_for_status()
        # The cluster's own entry would be stored before the write answered;
        # the member's and the machine's come from the change feed, which
        # answers a poll as soon as it has a change: a second is plenty.
        time.sleep(1.0)
        for where in (target(cluster=cluster), target(instance=instance)):
            assert history(clusterd, where) == {"hasMore": False, "entries": [], "operations": []}
        host = clusterd.ok(
            'query($i: ID!) { instance(id: $i) { key(path: "user:/app/host") { value } } }',
            i=instance,
        )
        assert host["instance"]["key"]["value"] == "here"  # the writes did land


KEY_AT = (
    "query($id: ID!, $p: String!, $at: DateTime) "
    "{ %s(id: $id) { key(path: $p, at: $at) { exists value meta { key value } children } } }"
)


def test_a_key_read_at_a_moment_is_as_it_was_then(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    cluster = create_cluster(clusterd, "prod")
    instance = add_instance(clusterd, "web-01", daemon.url)
    for where in (target(cluster=cluster), target(instance=instance)):
        kind, id_ = ("cluster", cluster) if "clusterId" in where else ("instance", instance)
        results(set_key(clusterd, where, "user:/app/port", "8080"))
        results(set_key(clusterd, where, "user:/app/host", "web"))
        wait_until(partial(recorded, clusterd, where, 2), what="recorded")
        then = entries(clusterd, where)[0]["at"]
        results(set_key(clusterd, where, "user:/app/port", "9090"))
        clusterd.ok(
            'mutation($t: Target!) { deleteKey(target: $t, path: "user:/app/host") '
            "{ operationId } }",
            t=where,
        )
        wait_until(partial(recorded, clusterd, where, 4), what="recorded")

        def read(path: str, at: str | None, kind: str = kind, id_: str = id_) -> Any:
            return clusterd.ok(KEY_AT % kind, id=id_, p=path, at=at)[kind]["key"]

        assert read("user:/app/port", then) == {
            "exists": True,
            "value": "8080",
            "meta": [],
            "children": [],
        }
        assert read("user:/app", then)["children"] == ["user:/app/host", "user:/app/port"]
        assert read("user:/app", None)["children"] == ["user:/app/port"]
        assert read("user:/app/host", then)["value"] == "web"
        assert read("user:/app/host", None)["exists"] is False
        assert read("user:/app/port", "2000-01-01T00:00:00+00:00")["exists"] is False


ROLLBACK = (
    "mutation($t: Target!, $p: String!, $op: ID, $at: DateTime, $dry: Boolean!) "
    "{ rollback(target: $t, pathPrefix: $p, toOperation: $op, at: $at, dryRun: $dry) "
    "{ plan { op path value meta current } "
    "result { operationId results { delivery instance { name } } } } }"
)


def test_undoing_one_operation_reverts_just_its_keys_as_one_write(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    cluster = create_cluster(clusterd, "prod")
    assign(clusterd, cluster, add_instance(clusterd, "web-01", daemon.url))
    where = target(cluster=cluster)
    results(set_key(clusterd, where, "user:/app/port", "8080"))
    results(set_key(clusterd, where, "user:/app/host", "web"))
    undone = set_key(clusterd, where, "user:/app/port", "9090")
    operation = undone["data"]["setKey"]["operationId"]
    results(set_key(clusterd, where, "user:/app/host", "db"))

    planned = clusterd.ok(ROLLBACK, t=where, p="user:/app", op=operation, at=None, dry=True)
    assert planned["rollback"] == {
        "plan": [
            {
                "op": "SET",
                "path": "user:/app/port",
                "value": "8080",
                "meta": None,
                "current": "9090",
            }
        ],
        "result": None,
    }
    assert daemon.value("user:/app/port") == "9090"  # a dry run changes nothing

    done = clusterd.ok(ROLLBACK, t=where, p="user:/app", op=operation, at=None, dry=False)
    result = done["rollback"]["result"]
    assert [r["delivery"] for r in result["results"]] == ["APPLIED"]
    assert (daemon.value("user:/app/port"), daemon.value("user:/app/host")) == ("8080", "db")
    newest = entries(clusterd, where)[0]
    assert (newest["operationId"], newest["value"], newest["previous"], newest["actor"]) == (
        result["operationId"],
        "8080",
        "9090",
        admin_name(clusterd),
    )
    _, secret = make_token(clusterd, "VIEWER")
    refused = clusterd.as_(secret).error(
        ROLLBACK, t=where, p="user:/app", op=operation, at=None, dry=True
    )
    assert refused["extensions"]["code"] == "FORBIDDEN"
    neither = clusterd.error(ROLLBACK, t=where, p="user:/app", op=None, at=None, dry=True)
    assert neither["extensions"]["code"] == "BAD_INPUT"


def test_a_rollback_to_a_moment_restores_values_and_deletes_keys_made_since(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    # A key from before clusterd knew the instance: history learns its value
    # from what its first change replaced.
    httpx.put(f"{daemon.url}/kdb/user:/app/old", content=b"orig").raise_for_status()
    where = target(instance=add_instance(clusterd, "web-01", daemon.url))
    results(set_key(clusterd, where, "user:/app/a", "1"))
    wait_until(lambda: len(entries(clusterd, where, "user:/app/a")) == 1, what="recorded")
    then = entries(clusterd, where)[0]["at"]
    results(set_key(clusterd, where, "user:/app/a", "2"))
    results(set_key(clusterd, where, "user:/app/old", "changed"))
    results(set_key(clusterd, where, "user:/app/b", "new"))
    made = {("user:/app/a", "2"), ("user:/app/old", "changed"), ("user:/app/b", "new")}
    wait_until(
        lambda: made <= {(e["path"], e["value"]) for e in entries(clusterd, where)},
        what="every write recorded",
    )

    planned = clusterd.ok(ROLLBACK, t=where, p="user:/app", op=None, at=then, dry=True)
    assert [
        (c["op"], c["path"], c["value"], c["current"]) for c in planned["rollback"]["plan"]
    ] == [
        ("DELETE", "user:/app/b", None, "new"),
        ("SET", "user:/app/a", "1", "2"),
        ("SET", "user:/app/old", "orig", "changed"),
    ]
    done = clusterd.ok(ROLLBACK, t=where, p="user:/app", op=None, at=then, dry=False)
    assert [r["delivery"] for r in done["rollback"]["result"]["results"]] == ["APPLIED"]
    assert [daemon.value(f"user:/app/{k}") for k in ("a", "b", "old")] == ["1", None, "orig"]
    again = clusterd.ok(ROLLBACK, t=where, p="user:/app", op=None, at=then, dry=True)
    assert again["rollback"]["plan"] == []
