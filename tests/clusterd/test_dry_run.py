"""Dry runs and the up-front check of cluster writes, against a real clusterd
and real elektrads: the plan for each member (before → after, who would
refuse and why: validation, a lock, a broken mounted file, an offline
member), nothing written by a dry run, and a cluster write that some members'
check/* validation would refuse refused before anything is stored, unless
forced."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from elektra_web.clusterd.app import ClusterdConfig

from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, target
from .conftest import AUTH, TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd

PLAN = (
    "dryRun operationId results { instance { name } delivery } "
    "plan { instance { name } outcome reason error "
    "changes { path before { value meta { key value } } after { value meta { key value } } } }"
)
SET = (
    "mutation($t: Target!, $p: String!, $v: String!, $d: Boolean!, $f: Boolean!) "
    f"{{ setKey(target: $t, path: $p, value: $v, dryRun: $d, force: $f) {{ {PLAN} }} }}"
)


def set_key(
    clusterd: Clusterd,
    where: dict[str, str],
    path: str,
    value: str,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    return clusterd.query(SET, t=where, p=path, v=value, d=dry_run, f=force)


def by_member(answer: dict[str, Any], field: str = "setKey") -> dict[str, dict[str, Any]]:
    assert not answer.get("errors"), answer["errors"]
    return {p["instance"]["name"]: p for p in answer["data"][field]["plan"]}


def put_meta(daemon: Elektrad, path: str, meta: dict[str, str]) -> None:
    """Metadata set on the machine itself (its own spec, say)."""
    for key, value in meta.items():
        response = httpx.post(f"{daemon.url}/kdbMeta/{path}", json={"key": key, "value": value})
        assert response.status_code == 204, response.text


def put_value(daemon: Elektrad, path: str, value: str) -> None:
    response = httpx.put(f"{daemon.url}/kdb/{path}", content=value)
    assert response.status_code in (200, 201, 204), response.text


def history_count(clusterd: Clusterd, where: dict[str, str]) -> int:
    data = clusterd.ok("query($t: Target!) { history(target: $t) { entries { id } } }", t=where)
    return len(data["history"]["entries"])


def fleet(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], count: int = 3
) -> tuple[str, list[Elektrad], list[str]]:
    daemons = elektrads(count)
    cluster = create_cluster(clusterd, "web")
    ids = []
    for n, daemon in enumerate(daemons, start=1):
        ids.append(add_instance(clusterd, f"web-{n:02}", daemon.url))
        assign(clusterd, cluster, ids[-1])
    return cluster, daemons, ids


def test_a_dry_run_of_a_cluster_write_plans_each_member_and_writes_nothing(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    cluster, (one, two, three), _ = fleet(clusterd, elektrads)
    where = target(cluster=cluster)
    put_value(one, "user:/app/port", "80")
    put_value(two, "user:/app/port", "80")
    put_meta(two, "user:/app/port", {"check/type": "long"})
    put_value(three, "spec:/app/port", "")
    put_meta(three, "spec:/app/port", {"check/type": "long"})
    before = history_count(clusterd, where)

    plan = by_member(set_key(clusterd, where, "user:/app/port", "eighty", dry_run=True))

    assert plan["web-01"]["outcome"] == "APPLY"
    assert plan["web-01"]["changes"] == [
        {
            "path": "user:/app/port",
            "before": {"value": "80", "meta": []},
            "after": {"value": "eighty", "meta": []},
        }
    ]
    assert plan["web-02"]["outcome"] == "REFUSE"
    assert plan["web-02"]["reason"] == "VALIDATION"
    assert "eighty" in plan["web-02"]["error"] and "check/type" in plan["web-02"]["error"]
    # The spec:/ key's check/* applies as elektrad applies it.
    assert plan["web-03"]["outcome"] == "REFUSE"
    assert plan["web-03"]["reason"] == "VALIDATION"
    # Nothing written: not on a member, not in the cluster, not in the history.
    assert [d.value("user:/app/port") for d in (one, two, three)] == ["80", "80", None]
    config = clusterd.ok(
        'query($c: ID!) { cluster(id: $c) { key(path: "user:/app/port") { exists } } }', c=cluster
    )
    assert config["cluster"]["key"]["exists"] is False
    assert history_count(clusterd, where) == before


def test_a_cluster_write_some_members_would_refuse_is_refused_up_front_naming_them(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    cluster, (one, two, three), _ = fleet(clusterd, elektrads)
    where = target(cluster=cluster)
    put_value(two, "user:/app/port", "80")
    put_meta(two, "user:/app/port", {"check/type": "long"})

    refused = set_key(clusterd, where, "user:/app/port", "eighty")

    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["members"] == ["web-02"]
    assert "1 of 3 members would refuse" in error["message"]
    assert "force" in error["message"]
    assert [d.value("user:/app/port") for d in (one, two, three)] == [None, "80", None]
    assert history_count(clusterd, where) == 0

    # A value every member takes goes through the check.
    written = set_key(clusterd, where, "user:/app/port", "8080")
    assert not written.get("errors"), written
    assert written["data"]["setKey"]["dryRun"] is False
    assert written["data"]["setKey"]["plan"] == []


def test_a_forced_cluster_write_is_made_and_the_refusing_member_fails(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    cluster, (one, two, three), _ = fleet(clusterd, elektrads)
    where = target(cluster=cluster)
    put_value(two, "user:/app/port", "80")
    put_meta(two, "user:/app/port", {"check/type": "long"})

    forced = set_key(clusterd, where, "user:/app/port", "eighty", force=True)

    assert not forced.get("errors"), forced
    assert forced["data"]["setKey"]["operationId"] is not None

    def failed() -> dict[str, list[str]]:
        found = clusterd.ok("{ instances { name failed { path } } }")["instances"]
        return {i["name"]: [f["path"] for f in i["failed"]] for i in found}

    wait_until(lambda: failed()["web-02"] == ["user:/app/port"], what="web-02's refusal")
    wait_until(lambda: three.value("user:/app/port") == "eighty", what="web-03's delivery")
    assert [d.value("user:/app/port") for d in (one, two, three)] == ["eighty", "80", "eighty"]


def test_a_dry_run_names_an_offline_member_as_waiting(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    cluster, (_, two, _), _ = fleet(clusterd, elektrads)
    two.stop()
    wait_until(
        lambda: (
            {
                i["name"]: i["status"]
                for i in clusterd.ok("{ instances { name status } }")["instances"]
            }["web-02"]
            == "OFFLINE"
        ),
        what="web-02 offline",
    )
    plan = by_member(set_key(clusterd, target(cluster=cluster), "user:/a", "1", dry_run=True))
    assert plan["web-02"]["outcome"] == "WAIT"
    assert plan["web-02"]["reason"] == "OFFLINE"
    assert plan["web-02"]["changes"] == []
    assert "sent when it answers again" in plan["web-02"]["error"]
    assert plan["web-01"]["outcome"] == plan["web-03"]["outcome"] == "APPLY"
    # An offline member is not a refusal: the write itself goes on.
    assert not set_key(clusterd, target(cluster=cluster), "user:/a", "1").get("errors")


def test_an_instance_dry_run_shows_a_lock_and_an_unchanged_value_without_writing(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    cluster, (one, _, _), ids = fleet(clusterd, elektrads)
    assert not set_key(clusterd, target(cluster=cluster), "user:/app/port", "80").get("errors")
    wait_until(lambda: one.value("user:/app/port") == "80", what="the cluster write on web-01")

    locked = by_member(
        set_key(clusterd, target(instance=ids[0]), "user:/app/port", "1", dry_run=True)
    )
    assert locked["web-01"]["outcome"] == "REFUSE"
    assert locked["web-01"]["reason"] == "LOCKED"
    assert "cluster web" in locked["web-01"]["error"]

    put_value(one, "user:/own", "x")
    same = by_member(set_key(clusterd, target(instance=ids[0]), "user:/own", "x", dry_run=True))
    assert same["web-01"] == {
        "instance": {"name": "web-01"},
        "outcome": "UNCHANGED",
        "reason": None,
        "error": None,
        "changes": [],
    }
    other = set_key(clusterd, target(instance=ids[0]), "user:/own", "y", dry_run=True)
    assert other["data"]["setKey"]["operationId"] is None
    assert other["data"]["setKey"]["results"] == []
    assert one.value("user:/own") == "x"


def test_a_dry_run_of_a_delete_and_a_move_lists_the_subtree(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "db", daemon.url)
    for path, value in [("user:/app/a", "1"), ("user:/app/a/b", "2"), ("user:/app/c", "3")]:
        put_value(daemon, path, value)
    where = target(instance=instance)
    deleted = clusterd.ok(
        'mutation($t: Target!) { deleteKey(target: $t, path: "user:/app/a", dryRun: true) '
        f"{{ {PLAN} }} }}",
        t=where,
    )
    (plan,) = deleted["deleteKey"]["plan"]
    # The subtree goes with its top: one change, after null.
    assert [(c["path"], c["after"]) for c in plan["changes"]] == [("user:/app/a", None)]
    moved = clusterd.ok(
        'mutation($t: Target!) { moveKey(target: $t, from: "user:/app/a", to: "user:/new", '
        f"dryRun: true) {{ {PLAN} }} }}",
        t=where,
    )
    (plan,) = moved["moveKey"]["plan"]
    assert [(c["path"], (c["after"] or {}).get("value")) for c in plan["changes"]] == [
        ("user:/app/a", None),
        ("user:/new", "1"),
        ("user:/new/b", "2"),
    ]
    assert daemon.value("user:/app/a/b") == "2" and daemon.value("user:/new") is None
    missing = clusterd.ok(
        'mutation($t: Target!) { copyKey(target: $t, from: "user:/none", to: "user:/x", '
        f"dryRun: true) {{ {PLAN} }} }}",
        t=where,
    )
    (plan,) = missing["copyKey"]["plan"]
    assert (plan["outcome"], plan["reason"]) == ("REFUSE", "NOT_FOUND")


def test_a_dry_run_names_a_member_whose_mounted_file_is_broken(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text("[server]\nport = 80\n")
    (good,) = elektrads(1)
    (mounted,) = elektrads(1, mounts=[f"user:/app={ini}"])
    cluster = create_cluster(clusterd, "web")
    assign(clusterd, cluster, add_instance(clusterd, "good", good.url))
    assign(clusterd, cluster, add_instance(clusterd, "mounted", mounted.url))
    ini.write_text("[server\nport = 80\n")  # no longer parses
    wait_until(
        lambda: httpx.get(f"{mounted.url}/kdb/user:/app/server/port").status_code != 200,
        what="the broken file noticed",
    )
    where = target(cluster=cluster)
    plan = by_member(set_key(clusterd, where, "user:/app/server/port", "81", dry_run=True))
    assert (plan["mounted"]["outcome"], plan["mounted"]["reason"]) == ("REFUSE", "BROKEN_MOUNT")
    assert "broken" in plan["mounted"]["error"]
    assert plan["good"]["outcome"] == "APPLY"
    # A broken file is not the value's fault: the write itself is not refused.
    assert not set_key(clusterd, where, "user:/app/server/port", "81").get("errors")


def test_metadata_dry_runs_plan_the_entry_and_refuse_a_malformed_one(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "db", daemon.url)
    put_value(daemon, "user:/app/port", "80")
    meta = (
        'mutation($t: Target!, $v: String!) { setMeta(target: $t, path: "user:/app/port", '
        f'key: "check/type", value: $v, dryRun: true) {{ {PLAN} }} }}'
    )
    (plan,) = clusterd.ok(meta, t=target(instance=instance), v="long")["setMeta"]["plan"]
    assert plan["outcome"] == "APPLY"
    assert plan["changes"][0]["after"] == {
        "value": "80",
        "meta": [{"key": "check/type", "value": "long"}],
    }
    (plan,) = clusterd.ok(meta, t=target(instance=instance), v="nonsense")["setMeta"]["plan"]
    assert (plan["outcome"], plan["reason"]) == ("REFUSE", "VALIDATION")
    removed = clusterd.ok(
        'mutation($t: Target!) { deleteMeta(target: $t, path: "user:/app/port", '
        f'key: "check/type", dryRun: true) {{ {PLAN} }} }}',
        t=target(instance=instance),
    )
    assert removed["deleteMeta"]["plan"][0]["outcome"] == "UNCHANGED"
    assert httpx.get(f"{daemon.url}/kdb/user:/app/port").json().get("meta", {}) == {}


def test_an_import_dry_run_reads_many_keys_at_once_and_names_the_refusing_member(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    cluster, (one, two, _), _ = fleet(clusterd, elektrads)
    put_value(two, "user:/app/k07", "7")
    put_meta(two, "user:/app/k07", {"check/type": "long"})
    content = json.dumps({f"k{n:02}": {"value": f"v{n}"} for n in range(30)})
    answer = clusterd.ok(
        "mutation($t: Target!, $c: String!) { importConfig(target: $t, pathPrefix: "
        '"user:/app", format: JSON, content: $c, mode: MERGE, dryRun: true) '
        "{ dryRun operationId members { instance { name } outcome reason error "
        "changes { path } } } }",
        t=target(cluster=cluster),
        c=content,
    )["importConfig"]
    assert answer["dryRun"] is True and answer["operationId"] is None
    plans = {p["instance"]["name"]: p for p in answer["members"]}
    assert plans["web-01"]["outcome"] == "APPLY"
    assert len(plans["web-01"]["changes"]) == 30
    assert (plans["web-02"]["outcome"], plans["web-02"]["reason"]) == ("REFUSE", "VALIDATION")
    assert "user:/app/k07" in plans["web-02"]["error"]
    assert one.value("user:/app/k00") is None


def test_a_rollback_dry_run_plans_each_member(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    cluster, (one, _, _), _ = fleet(clusterd, elektrads)
    where = target(cluster=cluster)
    assert not set_key(clusterd, where, "user:/app/port", "80").get("errors")
    second = set_key(clusterd, where, "user:/app/port", "81")
    operation = second["data"]["setKey"]["operationId"]
    wait_until(lambda: one.value("user:/app/port") == "81", what="the second write on web-01")
    answer = clusterd.ok(
        'mutation($t: Target!, $o: ID!) { rollback(target: $t, pathPrefix: "user:/app", '
        "toOperation: $o, dryRun: true) { plan { op path value current } result { operationId } "
        "members { instance { name } outcome changes { path before { value } after { value } } } "
        "} }",
        t=where,
        o=operation,
    )["rollback"]
    assert answer["plan"] == [
        {"op": "SET", "path": "user:/app/port", "value": "80", "current": "81"}
    ]
    assert answer["result"] is None
    assert {p["instance"]["name"]: p["outcome"] for p in answer["members"]} == {
        "web-01": "APPLY",
        "web-02": "APPLY",
        "web-03": "APPLY",
    }
    assert answer["members"][0]["changes"] == [
        {"path": "user:/app/port", "before": {"value": "81"}, "after": {"value": "80"}}
    ]
    assert one.value("user:/app/port") == "81"


def test_the_check_of_a_cluster_write_is_not_bound_by_the_limit_on_a_querys_reads(
    database_url: str, elektrads: Callable[..., list[Elektrad]]
) -> None:
    # 3 members, 2 keys each (the key and its spec:/ twin): 6 reads, over the
    # limit of 4 that a user's query may read.
    config = ClusterdConfig(
        database_url=database_url, settings=replace(TEST_SETTINGS, max_reads_per_request=4)
    )
    with (
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        clusterd = Clusterd(url, http)
        cluster, daemons, _ = fleet(clusterd, elektrads)
        plan = by_member(set_key(clusterd, target(cluster=cluster), "user:/a", "1", dry_run=True))
        assert [p["outcome"] for p in plan.values()] == ["APPLY"] * 3
        assert not set_key(clusterd, target(cluster=cluster), "user:/a", "1").get("errors")
        wait_until(
            lambda: [d.value("user:/a") for d in daemons] == ["1"] * 3, what="the write everywhere"
        )
