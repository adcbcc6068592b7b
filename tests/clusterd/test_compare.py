"""Compare two targets below a path, and a cluster's fleet matrix: against
real elektrads, through clusterd's API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from elektra_web.resolvers import compare

from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, error_code, results, set_key, target
from .conftest import Clusterd, Elektrad
from .test_auth import make_token

COMPARE = """query($l: Target!, $r: Target!, $p: String!, $rp: String, $la: DateTime,
  $ra: DateTime) {
  compare(left: $l, right: $r, pathPrefix: $p, rightPathPrefix: $rp, leftAt: $la, rightAt: $ra) {
    name valueDiffers metaDiffers
    left { path value meta { key value } }
    right { path value meta { key value } }
  }
}"""

MATRIX = """query($c: ID!, $p: String!) { cluster(id: $c) { matrix(pathPrefix: $p) {
  pathPrefix
  members { instance { name cluster { name } } error }
  rows { name path differs differsFromCluster own { value }
         cells { differs key { value meta { key value } } } }
} } }"""


def set_meta(clusterd: Clusterd, where: dict[str, str], path: str, key: str, value: str) -> None:
    response = clusterd.query(
        "mutation($t: Target!, $p: String!, $k: String!, $v: String!) "
        "{ setMeta(target: $t, path: $p, key: $k, value: $v) { operationId } }",
        t=where,
        p=path,
        k=key,
        v=value,
    )
    assert not response.get("errors"), response


def differences(
    clusterd: Clusterd,
    left: dict[str, str],
    right: dict[str, str],
    prefix: str = "user:/app",
    right_prefix: str | None = None,
    *,
    left_at: dt.datetime | None = None,
    right_at: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    data = clusterd.ok(
        COMPARE,
        l=left,
        r=right,
        p=prefix,
        rp=right_prefix,
        la=left_at and left_at.isoformat(),
        ra=right_at and right_at.isoformat(),
    )
    found: list[dict[str, Any]] = data["compare"]
    return found


def brief(found: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """``{name: (left value, right value, valueDiffers, metaDiffers)}``;
    a missing side's value is ``"-"``."""
    return {
        d["name"]: (
            d["left"]["value"] if d["left"] else "-",
            d["right"]["value"] if d["right"] else "-",
            d["valueDiffers"],
            d["metaDiffers"],
        )
        for d in found
    }


def test_two_instances_differ_in_exactly_their_differences(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    one, two = (
        target(instance=add_instance(clusterd, f"web-{n}", d.url))
        for n, d in enumerate(elektrads(2))
    )
    for where, port in [(one, "80"), (two, "81")]:
        set_key(clusterd, where, "user:/app/port", port)  # value differs
        set_key(clusterd, where, "user:/app/host", "example.org")  # metadata differs
        set_key(clusterd, where, "user:/app/same", "1")  # all the same
        set_meta(clusterd, where, "user:/app/same", "check/type", "long")
        set_key(clusterd, where, "user:/other", port)  # outside the prefix
    set_meta(clusterd, one, "user:/app/host", "check/type", "string")
    set_meta(clusterd, one, "user:/app/host", "description", "the host")
    set_meta(clusterd, two, "user:/app/host", "description", "the server")
    set_key(clusterd, one, "user:/app/db/name", "main")  # only on the left
    set_key(clusterd, two, "user:/app/new", "x")  # only on the right

    found = differences(clusterd, one, two)
    assert brief(found) == {
        "db/name": ("main", "-", False, []),
        "host": ("example.org", "example.org", False, ["check/type", "description"]),
        "new": ("-", "x", False, []),
        "port": ("80", "81", True, []),
    }
    host = next(d for d in found if d["name"] == "host")
    assert host["left"]["meta"] == [
        {"key": "check/type", "value": "string"},
        {"key": "description", "value": "the host"},
    ]
    assert host["right"] == {
        "path": "user:/app/host",
        "value": "example.org",
        "meta": [{"key": "description", "value": "the server"}],
    }
    # The same target, or the other way round: nothing, and the mirror image.
    assert differences(clusterd, one, one) == []
    mirrored = brief(differences(clusterd, two, one, prefix="user/app"))  # either spelling
    assert mirrored["db/name"] == ("-", "main", False, [])
    assert mirrored["port"] == ("81", "80", True, [])


def test_an_instance_against_its_cluster(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    prod = create_cluster(clusterd, "prod")
    assign(clusterd, prod, instance)
    response = set_key(clusterd, target(cluster=prod), "user:/app/port", "80")
    assert results(response) == {"web": "APPLIED"}
    set_key(clusterd, target(instance=instance), "user:/app/local", "1")
    left, right = target(instance=instance), target(cluster=prod)
    # The member holds the cluster's key: only its own key differs.
    assert brief(differences(clusterd, left, right)) == {"local": ("1", "-", False, [])}
    # Changed on the machine, outside clusterd: the compare shows it at once.
    httpx.put(f"{daemon.url}/kdb/user:/app/port", content=b"8080").raise_for_status()
    assert brief(differences(clusterd, left, right)) == {
        "local": ("1", "-", False, []),
        "port": ("8080", "80", True, []),
    }


def test_two_clusters_and_two_prefixes(clusterd: Clusterd) -> None:
    staging, prod = create_cluster(clusterd, "staging"), create_cluster(clusterd, "prod")
    for where, keys in [
        (staging, {"user:/app/a": "1", "user:/app/b": "2", "system:/app/a": "1"}),
        (prod, {"user:/app/a": "1", "user:/app/b": "3", "user:/app/c/d": "4"}),
    ]:
        for path, value in keys.items():
            set_key(clusterd, target(cluster=where), path, value)
    left, right = target(cluster=staging), target(cluster=prod)
    assert brief(differences(clusterd, left, right)) == {
        "b": ("2", "3", True, []),
        "c/d": ("-", "4", False, []),
    }
    # Keys named relative to each side's prefix: user:/app/a against system:/app/a.
    found = differences(clusterd, right, left, prefix="user:/app", right_prefix="system:/app")
    assert brief(found) == {"b": ("3", "-", False, []), "c/d": ("4", "-", False, [])}
    # A prefix of a whole part: user:/ap is not a prefix of user:/app/a.
    assert differences(clusterd, left, right, prefix="user:/ap") == []


def test_one_target_at_two_times(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    web = target(instance=add_instance(clusterd, "web", daemon.url))

    def recorded() -> bool:
        """History has caught up: the instance now, by its history, is as it is."""
        now = dt.datetime.now(dt.UTC)
        return differences(clusterd, web, web, "user:/app", left_at=now) == []

    set_key(clusterd, web, "user:/app/port", "80")
    wait_until(recorded, what="the first write recorded")
    before = dt.datetime.now(dt.UTC)
    set_key(clusterd, web, "user:/app/port", "81")
    set_key(clusterd, web, "user:/app/debug", "on")
    wait_until(recorded, what="the later writes recorded")
    # Then against now, and then against then (nothing differs).
    assert brief(differences(clusterd, web, web, left_at=before)) == {
        "debug": ("-", "on", False, []),
        "port": ("80", "81", True, []),
    }
    assert differences(clusterd, web, web, left_at=before, right_at=before) == []


def test_an_unreachable_instance_is_a_clear_error_naming_it(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    one, two = elektrads(2)
    left = target(instance=add_instance(clusterd, "web-0", one.url))
    right = target(instance=add_instance(clusterd, "web-1", two.url))
    two.stop()
    error = clusterd.error(COMPARE, l=left, r=right, p="user:/app")
    assert error["extensions"]["code"] == "INSTANCE_UNREACHABLE"
    assert "web-1 is unreachable" in error["message"]


def test_bad_targets_and_paths_are_refused(clusterd: Clusterd) -> None:
    prod = target(cluster=create_cluster(clusterd, "prod"))
    cases = [
        ({"l": prod, "r": target(cluster="999"), "p": "user:/app"}, "NOT_FOUND"),
        ({"l": prod, "r": target(instance="999"), "p": "user:/app"}, "NOT_FOUND"),
        ({"l": prod, "r": prod, "p": "/app"}, "INVALID_KEY_NAME"),  # cascading
        ({"l": prod, "r": prod, "p": "nowhere:/app"}, "INVALID_KEY_NAME"),
    ]
    for variables, code in cases:
        assert error_code(clusterd.query(COMPARE, **variables)) == code, variables


def test_a_compare_of_too_many_keys_is_refused(
    clusterd: Clusterd, monkeypatch: pytest.MonkeyPatch
) -> None:
    # clusterd runs in this process: a small bound stands for 10,000 keys.
    monkeypatch.setattr(compare, "MAX_KEYS", 2)
    prod = create_cluster(clusterd, "prod")
    for n in range(3):
        set_key(clusterd, target(cluster=prod), f"user:/app/k{n}", str(n))
    where = target(cluster=prod)
    error = clusterd.error(COMPARE, l=where, r=where, p="user:/app")
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "cluster prod has 3 keys below user:/app" in error["message"]
    assert "narrower pathPrefix" in error["message"]
    assert differences(clusterd, where, where, prefix="user:/app/k1") == []
    error = clusterd.error(MATRIX, c=prod, p="user:/app")
    assert error["extensions"]["code"] == "BAD_INPUT"


def test_the_fleet_matrix_shows_each_member_and_an_offline_one_as_such(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    daemons = elektrads(3)
    web = [add_instance(clusterd, f"web-{n}", d.url) for n, d in enumerate(daemons)]
    prod = create_cluster(clusterd, "prod")
    eu = create_cluster(clusterd, "eu", parent=prod)
    assign(clusterd, prod, web[0])
    assign(clusterd, prod, web[1])
    assign(clusterd, eu, web[2])  # a member of a nested cluster
    response = set_key(clusterd, target(cluster=prod), "user:/app/port", "80")
    # APPLIED within --write-wait, or PENDING on a loaded machine; delivered either way.
    assert set(results(response).values()) <= {"APPLIED", "PENDING"}
    wait_until(lambda: all(d.value("user:/app/port") == "80" for d in daemons), what="delivered")
    set_key(clusterd, target(instance=web[0]), "user:/app/debug", "on")
    set_key(clusterd, target(instance=web[1]), "user:/app/debug", "on")
    set_key(clusterd, target(instance=web[2]), "user:/app/debug", "off")
    httpx.put(f"{daemons[1].url}/kdb/user:/app/port", content=b"81").raise_for_status()

    matrix = clusterd.ok(MATRIX, c=prod, p="user/app")["cluster"]["matrix"]
    assert matrix["pathPrefix"] == "user:/app"
    assert matrix["members"] == [
        {"instance": {"name": "web-0", "cluster": {"name": "prod"}}, "error": None},
        {"instance": {"name": "web-1", "cluster": {"name": "prod"}}, "error": None},
        {"instance": {"name": "web-2", "cluster": {"name": "eu"}}, "error": None},
    ]

    def row(name: str) -> tuple[Any, ...]:
        found = next(r for r in matrix["rows"] if r["name"] == name)
        cells = [
            ((c["key"] or {}).get("value", "-"), c["differs"]) if c else None
            for c in found["cells"]
        ]
        own = found["own"]["value"] if found["own"] else None
        return own, cells, found["differs"], found["differsFromCluster"]

    assert [r["name"] for r in matrix["rows"]] == ["debug", "port"]
    # The cluster sets port: the member that changed it differs from it.
    assert row("port") == ("80", [("80", False), ("81", True), ("80", False)], True, True)
    # The cluster does not set debug: the odd one out is the one most do not hold.
    assert row("debug") == (None, [("on", False), ("on", False), ("off", True)], True, False)

    # An offline member is a column with its error; the others are read.
    daemons[2].stop()
    matrix = clusterd.ok(MATRIX, c=prod, p="user:/app")["cluster"]["matrix"]
    errors = [m["error"] for m in matrix["members"]]
    assert errors[:2] == [None, None]
    assert "web-2 is unreachable" in errors[2]
    assert row("port") == ("80", [("80", False), ("81", True), None], True, True)
    assert row("debug") == (None, [("on", False), ("on", False), None], False, False)


def test_a_cluster_key_no_member_holds_yet_is_a_row_too(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    web = add_instance(clusterd, "web", daemon.url)
    prod = create_cluster(clusterd, "prod")
    assign(clusterd, prod, web)
    daemon.stop()
    set_key(clusterd, target(cluster=prod), "user:/app/port", "80")  # PENDING for web
    matrix = clusterd.ok(MATRIX, c=prod, p="user:/app")["cluster"]["matrix"]
    assert [(r["name"], r["own"], r["cells"]) for r in matrix["rows"]] == [
        ("port", {"value": "80"}, [None])
    ]


def test_a_viewer_may_compare_and_see_the_matrix(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    web = add_instance(clusterd, "web", daemon.url)
    prod = create_cluster(clusterd, "prod")
    assign(clusterd, prod, web)
    set_key(clusterd, target(cluster=prod), "user:/app/port", "80")
    set_key(clusterd, target(instance=web), "user:/app/port2", "81")
    _, secret = make_token(clusterd, "VIEWER")
    viewer = clusterd.as_(secret)
    found = differences(viewer, target(instance=web), target(cluster=prod))
    assert brief(found) == {"port2": ("81", "-", False, [])}
    matrix = viewer.ok(MATRIX, c=prod, p="user:/app")["cluster"]["matrix"]
    assert [r["name"] for r in matrix["rows"]] == ["port", "port2"]


def test_a_broken_mounted_file_is_named_and_hides_only_its_own_keys(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text("[server\nport = 8080\n")  # does not parse
    (broken,) = elektrads(1, mounts=[f"user:/app/ini={ini}"])
    (good,) = elektrads(1)
    web = [add_instance(clusterd, name, d.url) for name, d in [("web-0", broken), ("web-1", good)]]
    prod = create_cluster(clusterd, "prod")
    for instance in web:
        assign(clusterd, prod, instance)
        set_key(clusterd, target(instance=instance), "user:/app/port", "80")
    set_key(clusterd, target(instance=web[1]), "user:/app/ini/server/port", "8080")

    error = clusterd.error(
        COMPARE, l=target(instance=web[0]), r=target(instance=web[1]), p="user:/app"
    )
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert error["message"].startswith(f"web-0: the file {ini} mounted at user:/app/ini")
    # Outside the broken file, web-0 compares as any other.
    assert (
        differences(clusterd, target(instance=web[0]), target(instance=web[1]), "user:/app/port")
        == []
    )

    matrix = clusterd.ok(MATRIX, c=prod, p="user:/app")["cluster"]["matrix"]
    errors = [m["error"] for m in matrix["members"]]
    assert errors[1] is None
    assert f"the file {ini} mounted at user:/app/ini does not parse" in errors[0]
    cells = {r["name"]: [c and c["key"]["value"] for c in r["cells"]] for r in matrix["rows"]}
    assert cells == {"ini/server/port": [None, "8080"], "port": ["80", "80"]}
