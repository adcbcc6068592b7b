"""Hostile members (issue 14): a member whose elektrad answers too much, never
ends, answers no JSON, or lies (another instanceId, change-feed pages with
malformed keys, wrong types, huge values, revisions going back, too many
changes). clusterd stays up, answers everyone else (an honest member in the
same cluster still gets its writes and reads), marks the hostile member with
the reason, and publishes nothing false. Each test ends with every member,
the hostile one honest again, equal to its cluster."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..support.hostile import HostileElektrad
from ..support.waiting import wait_until
from .api import results, set_key, target
from .conftest import Clusterd, Elektrad
from .test_faults import (
    Daemons,
    assert_converged,
    clusterd_with,
    instance,
    member_cluster,
    write_result,
)

KEY = "user:/app/k"
READ = "query($i: ID!, $p: String!) { instance(id: $i) { key(path: $p) { value } } }"


@pytest.fixture
def pair(
    clusterd: Clusterd, elektrads: Daemons
) -> Iterator[tuple[str, dict[str, str], Elektrad, Elektrad, HostileElektrad]]:
    """An honest member ``good`` and a member ``bad`` behind a hostile front,
    in one cluster: (cluster, ids, good's daemon, bad's daemon, the front)."""
    good, bad = elektrads(2)
    with HostileElektrad(bad.url) as hostile:
        cluster, ids = member_cluster(clusterd, {"good": good.url, "bad": hostile.url})
        yield cluster, ids, good, bad, hostile


def read(clusterd: Clusterd, instance_id: str, path: str = KEY) -> dict[str, Any]:
    return clusterd.query(READ, i=instance_id, p=path)


def assert_good_served(clusterd: Clusterd, cluster: str, ids: dict[str, str], value: str) -> None:
    """The honest member still gets writes, and its reads answer."""
    answer = write_result(set_key(clusterd, target(cluster=cluster), KEY, value))
    assert answer["good"]["delivery"] == "APPLIED", answer
    body = read(clusterd, ids["good"])
    assert not body.get("errors"), body
    assert body["data"] == {"instance": {"key": {"value": value}}}


def warned(caplog: pytest.LogCaptureFixture, *fragments: str) -> bool:
    return any(
        r.levelno >= logging.WARNING and all(f in r.getMessage() for f in fragments)
        for r in caplog.records
    )


@pytest.mark.parametrize(
    ("lie", "reason"),
    [("endless", "no answer within 2s"), ("html", "did not answer JSON")],
)
def test_a_member_that_answers_endlessly_or_no_json_is_offline_with_the_reason(
    clusterd: Clusterd,
    pair: tuple[str, dict[str, str], Elektrad, Elektrad, HostileElektrad],
    lie: str,
    reason: str,
) -> None:
    cluster, ids, good, bad, hostile = pair
    hostile.lie = lie
    wait_until(lambda: instance(clusterd, "bad")["status"] == "OFFLINE", what="bad offline")
    answer = write_result(set_key(clusterd, target(cluster=cluster), KEY, "v1"))
    assert answer["good"]["delivery"] == "APPLIED", answer
    if lie == "endless":  # its writes never end either ("html" lies to reads only)
        assert answer["bad"]["delivery"] == "PENDING", answer
        assert reason in answer["bad"]["error"], answer
    # Its reads fail with the reason, naming it (at once while its circuit is open).
    (error,) = read(clusterd, ids["bad"])["errors"]
    assert error["extensions"]["code"] == "INSTANCE_UNREACHABLE", error
    assert error["message"].startswith("bad is unreachable"), error
    assert reason in error["message"], error
    assert_good_served(clusterd, cluster, ids, "v2")
    hostile.lie = None
    assert_converged(clusterd, cluster, {"good": good, "bad": bad}, [KEY])


@pytest.mark.parametrize("bound", [None, 4 << 20], ids=["default", "4MiB"])
def test_a_read_answer_past_the_size_bound_is_cut_off_naming_the_member(
    database_url: str, elektrads: Daemons, bound: int | None
) -> None:
    settings = {} if bound is None else {"max_answer": bound}
    good, bad = elektrads(2)
    with clusterd_with(database_url, **settings) as clusterd, HostileElektrad(bad.url) as hostile:
        cluster, ids = member_cluster(clusterd, {"good": good.url, "bad": hostile.url})
        results(set_key(clusterd, target(cluster=cluster), KEY, "v1"))
        hostile.lie = "flood"  # GET /kdb/…: spaces, fast, without end
        (error,) = read(clusterd, ids["bad"])["errors"]
        assert error["extensions"]["code"] == "INSTANCE_UNREACHABLE", error
        size = "64 MiB" if bound is None else "4 MiB"
        assert f"answer larger than {size}" in error["message"], error
        assert error["message"].startswith("bad is unreachable"), error
        assert_good_served(clusterd, cluster, ids, "v2")
        hostile.lie = None
        assert_converged(clusterd, cluster, {"good": good, "bad": bad}, [KEY])


def test_a_member_answering_as_another_elektrad_is_offline_with_the_reason(
    clusterd: Clusterd,
    pair: tuple[str, dict[str, str], Elektrad, Elektrad, HostileElektrad],
    caplog: pytest.LogCaptureFixture,
) -> None:
    cluster, ids, good, bad, hostile = pair
    hostile.lie = "other-id"
    wait_until(lambda: warned(caplog, "bad answers as another elektrad"), what="lie seen")
    wait_until(lambda: instance(clusterd, "bad")["status"] == "OFFLINE", what="bad offline")
    assert_good_served(clusterd, cluster, ids, "v1")
    hostile.lie = None
    wait_until(lambda: instance(clusterd, "bad")["status"] == "ONLINE", what="bad back")
    assert_converged(clusterd, cluster, {"good": good, "bad": bad}, [KEY])


@pytest.mark.parametrize(
    ("lie", "reason"),
    [
        ("feed-names", "is not a key name"),
        ("feed-huge", "longer than 1048576 characters"),
        ("feed-types", "a change without a revision number"),
        ("feed-backwards", "its revision went back"),
        ("feed-flood", "1001 changes, more than the 1000 asked for"),
    ],
)
def test_a_lying_change_feed_is_refused_and_nothing_of_it_is_published(
    clusterd: Clusterd,
    pair: tuple[str, dict[str, str], Elektrad, Elektrad, HostileElektrad],
    caplog: pytest.LogCaptureFixture,
    lie: str,
    reason: str,
) -> None:
    cluster, ids, good, bad, hostile = pair
    results(set_key(clusterd, target(cluster=cluster), KEY, "v1"))
    hostile.lie = lie
    # An outside change on the member: its feed page is the one made false.
    httpx.put(f"{bad.url}/kdb/user:/app/outside", content=b"x").raise_for_status()
    wait_until(lambda: warned(caplog, "bad's change feed", reason), what=f"{lie} refused")
    assert_good_served(clusterd, cluster, ids, "v2")
    # Nothing false is shown: no drift, no key of another name.
    assert instance(clusterd, "bad")["drift"] == []
    hostile.lie = None
    assert_converged(clusterd, cluster, {"good": good, "bad": bad}, [KEY])
    # Honest again: the outside change it made is read as it is (once its
    # circuit, opened by the lie, closed at its next good answer).
    wait_until(
        lambda: (
            read(clusterd, ids["bad"], "user:/app/outside").get("data")
            == {"instance": {"key": {"value": "x"}}}
        ),
        what="bad read again",
    )
