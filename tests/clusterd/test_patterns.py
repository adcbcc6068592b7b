"""check/validation patterns through clusterd: one RE2 cannot run is refused up
front (VALIDATION_FAILED, with elektrad's message), never delivered to every
member for each to refuse. Real elektrads, real clusterd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .api import RESULT, add_instance, assign, create_cluster, results, set_key, target
from .conftest import Clusterd, Elektrad

SET_META = (
    "mutation($t: Target!, $p: String!, $k: String!, $v: String!) "
    f"{{ setMeta(target: $t, path: $p, key: $k, value: $v) {RESULT} }}"
)


def meta_of(daemon: Elektrad, path: str) -> dict[str, str]:
    meta: dict[str, str] = httpx.get(f"{daemon.url}/kdb/{path}").json().get("meta", {})
    return meta


def pending(clusterd: Clusterd, instance: str) -> list[Any]:
    found: list[Any] = clusterd.ok(
        "query($i: ID!) { instance(id: $i) { pending { op path } } }", i=instance
    )["instance"]["pending"]
    return found


@pytest.mark.parametrize(
    ("pattern", "why"),
    [(r"(a)\1", "backreferences"), ("(?=a)b", "lookaround"), ("(", "missing )")],
)
def test_a_cluster_write_of_a_pattern_re2_cannot_run_is_refused_up_front(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]], pattern: str, why: str
) -> None:
    daemons = elektrads(2)
    cluster = create_cluster(clusterd, "prod")
    instances = [add_instance(clusterd, f"prod-{n}", d.url) for n, d in enumerate(daemons)]
    for instance in instances:
        assign(clusterd, cluster, instance)
    assert results(set_key(clusterd, target(cluster=cluster), "user:/app/name", "aa")) == {
        "prod-0": "APPLIED",
        "prod-1": "APPLIED",
    }
    body = clusterd.query(
        SET_META, t=target(cluster=cluster), p="user:/app/name", k="check/validation", v=pattern
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["message"].startswith("check/validation: ")
    assert "is not a regular expression RE2 can run" in error["message"]
    assert why in error["message"]
    # Nothing was stored for delivery, and the members are as they were.
    assert all(pending(clusterd, i) == [] for i in instances)
    assert [meta_of(d, "user:/app/name") for d in daemons] == [{}, {}]
    assert [d.value("user:/app/name") for d in daemons] == ["aa", "aa"]


def test_an_instance_write_of_such_a_pattern_is_refused_the_same_way(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "solo", daemon.url)
    set_key(clusterd, target(instance=instance), "user:/app/name", "aa")
    body = clusterd.query(
        SET_META, t=target(instance=instance), p="user:/app/name", k="check/validation", v="(a)\\1"
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert "backreferences" in error["message"]
    assert meta_of(daemon, "user:/app/name") == {}


def test_a_cluster_pattern_re2_can_run_reaches_every_member_and_checks_there(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    daemons = elektrads(2)
    cluster = create_cluster(clusterd, "prod")
    for n, daemon in enumerate(daemons):
        assign(clusterd, cluster, add_instance(clusterd, f"prod-{n}", daemon.url))
    set_key(clusterd, target(cluster=cluster), "user:/app/count", "1")
    response = clusterd.query(
        SET_META,
        t=target(cluster=cluster),
        p="user:/app/count",
        k="check/validation",
        v="^[[:digit:]]+$",
    )
    assert results(response, "setMeta") == {"prod-0": "APPLIED", "prod-1": "APPLIED"}
    for daemon in daemons:
        assert httpx.put(f"{daemon.url}/kdb/user:/app/count", content=b"123").status_code == 200
        refused = httpx.put(f"{daemon.url}/kdb/user:/app/count", content=b"12a")
        assert refused.status_code == 400
        assert refused.json()["name"] == "ValidationError"
