"""Fault injection against the convergence engine (issue 10): real elektrads,
a real clusterd (in a thread, or a process where one must be killed or
paused), and a FaultProxy between clusterd and a member that holds, drops,
delays or trickles its requests.

Every test ends the same way (:func:`assert_converged`): each member holds
exactly its cluster's config (read from its elektrad directly), nothing is
pending or failed that the test did not make so, and there is no drift row the
test did not make."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from elektra_web.clusterd.app import ClusterdConfig

from ..elektrad.conftest import free_port
from ..support.clusterd_process import spawn
from ..support.faults import FaultProxy, matching
from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, results, set_key, target
from .conftest import ADMIN_TOKEN, AUTH, TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd

Daemons = Callable[..., list[Elektrad]]

# -- helpers ------------------------------------------------------------------


INSTANCES = (
    "{ instances { id name status drift { path expected actual } "
    "pending { path value status attempts lastError } "
    "failed { path value status attempts lastError } } }"
)


def instances(clusterd: Clusterd) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in clusterd.ok(INSTANCES)["instances"]}


def instance(clusterd: Clusterd, name: str) -> dict[str, Any]:
    return instances(clusterd)[name]


def cluster_value(clusterd: Clusterd, cluster: str, path: str) -> str | None:
    key = clusterd.ok(
        "query($c: ID!, $p: String!) { cluster(id: $c) { key(path: $p) { exists value } } }",
        c=cluster,
        p=path,
    )["cluster"]["key"]
    return key["value"] if key["exists"] else None


def member_value(daemon: Elektrad, path: str) -> str | None:
    response = httpx.get(f"{daemon.url}/kdb/{path}")
    if response.status_code == 404:
        return None
    body = response.json()
    if body.get("exists") is False:
        return None
    value: str | None = body.get("value")
    return value


def cluster_drift(clusterd: Clusterd, cluster: str) -> list[dict[str, Any]]:
    drift: list[dict[str, Any]] = clusterd.ok(
        "query($c: ID!) { cluster(id: $c) { drift { instanceId path expected actual } } }",
        c=cluster,
    )["cluster"]["drift"]
    return drift


def cluster_failed(clusterd: Clusterd, cluster: str) -> list[dict[str, Any]]:
    failed: list[dict[str, Any]] = clusterd.ok(
        "query($c: ID!) { cluster(id: $c) { failed { instanceId path value status lastError } } }",
        c=cluster,
    )["cluster"]["failed"]
    return failed


def differences(
    clusterd: Clusterd, cluster: str, members: dict[str, Elektrad], paths: Sequence[str]
) -> list[str]:
    """What keeps the members from equalling their cluster (empty: converged)."""
    found = []
    for path in paths:
        expected = cluster_value(clusterd, cluster, path)
        for name, daemon in members.items():
            actual = member_value(daemon, path)
            if actual != expected:
                found.append(f"{name} {path}: {actual!r}, cluster: {expected!r}")
    shown = instances(clusterd)
    for name in members:
        if shown[name]["pending"] or shown[name]["failed"]:
            found.append(f"{name}: pending {shown[name]['pending']} failed {shown[name]['failed']}")
    return found


def assert_converged(
    clusterd: Clusterd,
    cluster: str,
    members: dict[str, Elektrad],
    paths: Sequence[str],
    *,
    seconds: float = 30,
    drift: Sequence[str] = (),
) -> None:
    """Every member equals its cluster for ``paths``, nothing is pending or
    failed, and the only drift is at ``drift`` (on any instance)."""
    last: list[str] = []

    def done() -> bool:
        nonlocal last
        last = differences(clusterd, cluster, members, paths)
        return not last

    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"not converged: {last}"
        time.sleep(0.1)
    rows = [(n, d["path"]) for n, i in instances(clusterd).items() for d in i["drift"]]
    assert sorted(p for _, p in rows) == sorted(drift), rows
    # Members hold their cluster's value: nothing shown as APPLIED is missing.
    for path in paths:
        expected = cluster_value(clusterd, cluster, path)
        assert all(member_value(d, path) == expected for d in members.values())


def barrier(clusterd: Clusterd, cluster: str, daemon: Elektrad, name: str, marker: str) -> None:
    """Wait until clusterd has taken in everything ``daemon``'s feed reported
    so far: set a locked key of the cluster on the member directly (an outside
    change, after all that came before it in the feed) and wait for its drift
    row; then put it back through clusterd (REAPPLY) and wait for the row to go."""
    results(set_key(clusterd, target(cluster=cluster), marker, "cluster"))
    wait_until(lambda: member_value(daemon, marker) == "cluster", what="marker delivered")
    httpx.put(f"{daemon.url}/kdb/{marker}", content=b"outside").raise_for_status()
    wait_until(
        lambda: any(d["path"] == marker for d in instance(clusterd, name)["drift"]),
        what="marker drift seen",
    )
    iid = instance(clusterd, name)["id"]
    clusterd.ok(
        "mutation($i: ID!, $p: String!) "
        "{ resolveDrift(instanceId: $i, path: $p, action: REAPPLY) { operationId } }",
        i=iid,
        p=marker,
    )
    wait_until(
        lambda: not any(d["path"] == marker for d in instance(clusterd, name)["drift"]),
        what="marker drift resolved",
    )


def write_result(response: dict[str, Any], field: str = "setKey") -> dict[str, dict[str, Any]]:
    assert not response.get("errors"), response["errors"]
    return {r["instance"]["name"]: r for r in response["data"][field]["results"]}


@contextmanager
def in_background(call: Callable[[], Any]) -> Iterator[list[Any]]:
    """Run ``call`` in a thread; the list gets its result when it ends."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(call()), daemon=True)
    thread.start()
    try:
        yield box
    finally:
        thread.join(60)


@contextmanager
def clusterd_with(database: str, **settings: Any) -> Iterator[Clusterd]:
    """clusterd in a thread with TEST_SETTINGS changed by ``settings``."""
    config = ClusterdConfig(
        database_url=database, settings=type(TEST_SETTINGS)(**{**asdict(TEST_SETTINGS), **settings})
    )
    with (
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=60, headers=AUTH) as http,
    ):
        yield Clusterd(url, http)


class Process:
    """A clusterd process that a test can kill, pause and start again."""

    def __init__(self, database: str, log: Path, **settings: Any) -> None:
        self.database = database
        self.settings = {**_json_settings(), **settings}
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=60, headers=AUTH)
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> Clusterd:
        return Clusterd(self.url, self.http)

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = spawn(
                self.port, self.database, self.settings, admin_token=ADMIN_TOKEN, output=output
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def signal(self, number: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, number)

    def close(self) -> None:
        if self.process is not None:
            self.signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        self.http.close()


def _json_settings() -> dict[str, Any]:
    return {k: v for k, v in asdict(TEST_SETTINGS).items() if not isinstance(v, tuple)}


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def start(database: str, **settings: Any) -> Process:
        process = Process(database, tmp_path / f"clusterd-{len(started)}.log", **settings)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


def member_cluster(
    clusterd: Clusterd, hosts: dict[str, str], name: str = "prod"
) -> tuple[str, dict[str, str]]:
    cluster = create_cluster(clusterd, name)
    ids = {}
    for member, host in hosts.items():
        ids[member] = add_instance(clusterd, member, host)
        assert not assign(clusterd, cluster, ids[member]).get("errors")
    return cluster, ids


PUT = matching("PUT", "/kdb/")


def any_landed(daemon: Elektrad, paths: Sequence[str]) -> bool:
    return any(member_value(daemon, p) is not None for p in paths)


# -- 1. a delayed old write never wins ---------------------------------------------


def test_a_held_old_write_released_after_newer_ones_is_refused_as_stale(
    clusterd: Clusterd, elektrads: Daemons
) -> None:
    (daemon,) = elektrads(1)
    with FaultProxy(daemon.url) as proxy:
        cluster, _ = member_cluster(clusterd, {"web": proxy.url})
        where = target(cluster=cluster)
        held = proxy.hold(PUT, times=1)
        with in_background(lambda: set_key(clusterd, where, "user:/app/n", "28")) as first:
            held.wait_held()
        # clusterd's call timed out (call_timeout 2 s < write_wait 3 s): PENDING.
        old = write_result(first[0])["web"]
        assert old["delivery"] == "PENDING", old
        assert "no answer within 2s" in (old["error"] or ""), old
        for value in ("29", "30"):
            set_key(clusterd, where, "user:/app/n", value)
        wait_until(lambda: member_value(daemon, "user:/app/n") == "30", what="30 landed")
        assert held.held == 1  # 28 is still at the proxy, after 29 and 30
        held.release()  # it reaches the elektrad now: 412 Stale
        assert member_value(daemon, "user:/app/n") == "30"
        barrier(clusterd, cluster, daemon, "web", "user:/app/marker")
        assert member_value(daemon, "user:/app/n") == "30"
        assert_converged(clusterd, cluster, {"web": daemon}, ["user:/app/n", "user:/app/marker"])
        assert instance(clusterd, "web")["status"] == "ONLINE"


def test_a_held_write_released_after_its_retry_and_a_newer_write_is_stale(
    clusterd: Clusterd, elektrads: Daemons
) -> None:
    (daemon,) = elektrads(1)
    with FaultProxy(daemon.url) as proxy:
        cluster, _ = member_cluster(clusterd, {"web": proxy.url})
        where = target(cluster=cluster)
        held = proxy.hold(PUT, times=1)
        with in_background(lambda: set_key(clusterd, where, "user:/app/n", "28")) as first:
            held.wait_held()
        assert write_result(first[0])["web"]["delivery"] == "PENDING"
        # clusterd gave up on the held call; its retry passes and lands first.
        wait_until(lambda: member_value(daemon, "user:/app/n") == "28", what="retry of 28")
        wait_until(lambda: not instance(clusterd, "web")["pending"], what="28 applied")
        assert results(set_key(clusterd, where, "user:/app/n", "29")) == {"web": "APPLIED"}
        held.release()  # the original 28: older than 29
        assert member_value(daemon, "user:/app/n") == "29"
        assert results(set_key(clusterd, where, "user:/app/n", "30")) == {"web": "APPLIED"}
        barrier(clusterd, cluster, daemon, "web", "user:/app/marker")
        assert_converged(clusterd, cluster, {"web": daemon}, ["user:/app/n", "user:/app/marker"])
        assert member_value(daemon, "user:/app/n") == "30"


# -- 2. a paused replica does not step a member back -------------------------------


def test_a_paused_replica_does_not_step_a_member_back(
    postgres_url: str, elektrads: Daemons, processes: Callable[..., Process]
) -> None:
    lease = 3.0
    a = processes(postgres_url, follow_lease=lease, call_timeout=60.0, retry_tick=0.3)
    b = processes(postgres_url, follow_lease=lease, call_timeout=60.0, retry_tick=0.3)
    (daemon,) = elektrads(1)
    with FaultProxy(daemon.url) as proxy:
        cluster = create_cluster(a.api, "prod")
        where = target(cluster=cluster)
        set_key(a.api, where, "user:/app/a", "1")
        set_key(a.api, where, "user:/app/b", "1")
        web = add_instance(a.api, "web", proxy.url)
        held = proxy.hold(PUT, times=1)
        # Joining: A sends a=1 then b=1, in one round; a=1 is held: A is mid-send.
        assert not assign(a.api, cluster, web).get("errors")
        held.wait_held()
        a.signal(signal.SIGSTOP)
        try:
            # B delivers newer writes once A's lease has run out.
            set_key(b.api, where, "user:/app/a", "2")
            set_key(b.api, where, "user:/app/b", "2")
            wait_until(
                lambda: (
                    member_value(daemon, "user:/app/a") == "2"
                    and member_value(daemon, "user:/app/b") == "2"
                ),
                seconds=lease * 5,
                what="B delivered",
            )
            held.release()  # A's a=1 reaches the member now: Stale
            assert member_value(daemon, "user:/app/a") == "2"
        finally:
            a.signal(signal.SIGCONT)
        # A goes on with its round (b=1 next): it must stop or be refused.
        # A write through A lands only after A's old round has ended.
        set_key(a.api, where, "user:/app/c", "1")
        wait_until(lambda: member_value(daemon, "user:/app/c") == "1", what="c through A")
        barrier(b.api, cluster, daemon, "web", "user:/app/marker")
        paths = ["user:/app/a", "user:/app/b", "user:/app/c", "user:/app/marker"]
        assert_converged(a.api, cluster, {"web": daemon}, paths)
        assert_converged(b.api, cluster, {"web": daemon}, paths)
        assert member_value(daemon, "user:/app/a") == "2"
        assert member_value(daemon, "user:/app/b") == "2"


# -- 3. kill -9 of clusterd while a member catches up --------------------------


def test_kill_9_of_clusterd_while_a_member_catches_up(
    database_url: str, elektrads: Daemons, processes: Callable[..., Process]
) -> None:
    # A killed process's leases (following, sending) run out after 3 s.
    server = processes(database_url, follow_lease=3.0)
    online, late = elektrads(2)
    api = server.api
    cluster, _ = member_cluster(api, {"on": online.url, "late": late.url})
    where = target(cluster=cluster)
    members = {"on": online, "late": late}
    paths: list[str] = []
    for round_ in range(5):
        late.stop()
        wait_until(lambda: instance(server.api, "late")["status"] == "OFFLINE", what="offline")
        keys = [f"user:/r{round_}/k{n}" for n in range(3)]
        paths += keys
        for step in ("old", "new"):
            for n, key in enumerate(keys):
                set_key(server.api, where, key, f"{step}-{round_}{n}")
        late.start()
        # kill -9 the moment the first delivery lands on the member.
        wait_until(partial(any_landed, late, keys), what="first landing")
        server.kill()
        server.start()
        assert_converged(server.api, cluster, members, paths)
        barrier(server.api, cluster, late, "late", f"user:/r{round_}/marker")
        paths.append(f"user:/r{round_}/marker")
        assert_converged(server.api, cluster, members, paths)


# -- 4. no false drift; resolveDrift -------------------------------------------


def test_no_drift_is_shown_for_a_delivery_pending_to_an_offline_member(
    clusterd: Clusterd, elektrads: Daemons
) -> None:
    online, offline = elektrads(2)
    cluster, _ = member_cluster(clusterd, {"on": online.url, "off": offline.url})
    where = target(cluster=cluster)
    assert results(set_key(clusterd, where, "user:/app/k", "v1")) == {
        "on": "APPLIED",
        "off": "APPLIED",
    }
    offline.stop()
    wait_until(lambda: instance(clusterd, "off")["status"] == "OFFLINE", what="offline")
    assert results(set_key(clusterd, where, "user:/app/k", "v2")) == {
        "on": "APPLIED",
        "off": "PENDING",
    }
    # Several health checks and retries go by; it never shows as drift.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert cluster_drift(clusterd, cluster) == []
        assert instance(clusterd, "off")["drift"] == []
        assert [p["path"] for p in instance(clusterd, "off")["pending"]] == ["user:/app/k"]
        time.sleep(0.2)
    offline.start()
    assert_converged(clusterd, cluster, {"on": online, "off": offline}, ["user:/app/k"])
    barrier(clusterd, cluster, offline, "off", "user:/app/marker")
    assert_converged(
        clusterd, cluster, {"on": online, "off": offline}, ["user:/app/k", "user:/app/marker"]
    )


def test_no_drift_for_an_outside_change_while_a_delivery_is_held(
    clusterd: Clusterd, elektrads: Daemons
) -> None:
    (daemon,) = elektrads(1)
    with FaultProxy(daemon.url) as proxy:
        cluster, _ = member_cluster(clusterd, {"web": proxy.url})
        where = target(cluster=cluster)
        set_key(clusterd, where, "user:/app/k", "v1")
        held = proxy.hold(PUT, times=1)
        with in_background(lambda: set_key(clusterd, where, "user:/app/k", "v2")):
            held.wait_held()
            # Someone on the machine changes the key while v2 is in flight.
            httpx.put(f"{daemon.url}/kdb/user:/app/k", content=b"local").raise_for_status()
            time.sleep(1)  # the follower sees it; must not call it drift
            assert cluster_drift(clusterd, cluster) == []
            held.release()
        assert_converged(clusterd, cluster, {"web": daemon}, ["user:/app/k"])
        assert member_value(daemon, "user:/app/k") == "v2"


RESOLVE = (
    "mutation($i: ID!, $p: String!, $a: DriftAction!) "
    "{ resolveDrift(instanceId: $i, path: $p, action: $a) "
    "{ operationId results { delivery error instance { name } } } }"
)


def test_resolve_drift_reapply_adopt_and_adopt_deletion(
    clusterd: Clusterd, elektrads: Daemons
) -> None:
    one, two = elektrads(2)
    cluster, ids = member_cluster(clusterd, {"one": one.url, "two": two.url})
    members = {"one": one, "two": two}
    where = target(cluster=cluster)
    set_key(clusterd, where, "user:/app/k", "v1")
    set_key(clusterd, where, "user:/app/gone", "g1")

    def drift_at(path: str, actual: str | None) -> Callable[[], bool]:
        return lambda: any(
            d["path"] == path and d["actual"] == actual for d in cluster_drift(clusterd, cluster)
        )

    # REAPPLY puts the cluster's value back.
    httpx.put(f"{two.url}/kdb/user:/app/k", content=b"local").raise_for_status()
    wait_until(drift_at("user:/app/k", "local"), what="drift local")
    [row] = cluster_drift(clusterd, cluster)
    assert (row["instanceId"], row["expected"]) == (ids["two"], "v1")
    answer = clusterd.ok(RESOLVE, i=ids["two"], p="user:/app/k", a="REAPPLY")["resolveDrift"]
    assert [r["delivery"] for r in answer["results"]] == ["APPLIED"]
    assert member_value(two, "user:/app/k") == "v1"
    assert_converged(clusterd, cluster, members, ["user:/app/k", "user:/app/gone"])

    # Changed again since the drift was shown: refused, the row updated.
    httpx.put(f"{two.url}/kdb/user:/app/k", content=b"first").raise_for_status()
    wait_until(drift_at("user:/app/k", "first"), what="drift first")
    # Stop the feed from telling clusterd (a change it has not seen yet).
    httpx.put(f"{two.url}/kdb/user:/app/k", content=b"second").raise_for_status()
    error = clusterd.error(RESOLVE, i=ids["two"], p="user:/app/k", a="ADOPT")
    if error["extensions"]["code"] == "BAD_INPUT" and "changed again" in error["message"]:
        wait_until(drift_at("user:/app/k", "second"), what="row updated")
    else:  # the feed was quicker: the row says "second" already, then ADOPT passes
        pytest.fail(f"unexpected: {error}")
    assert cluster_value(clusterd, cluster, "user:/app/k") == "v1"

    # ADOPT: the member's value becomes the cluster's, on every member.
    answer = clusterd.ok(RESOLVE, i=ids["two"], p="user:/app/k", a="ADOPT")["resolveDrift"]
    assert {r["instance"]["name"]: r["delivery"] for r in answer["results"]} == {
        "one": "APPLIED",
        "two": "APPLIED",
    }
    assert cluster_value(clusterd, cluster, "user:/app/k") == "second"
    assert_converged(clusterd, cluster, members, ["user:/app/k", "user:/app/gone"])
    assert member_value(one, "user:/app/k") == "second"

    # A key deleted on the member: ADOPT is refused, naming ADOPT_DELETION.
    httpx.delete(f"{two.url}/kdb/user:/app/gone").raise_for_status()
    wait_until(drift_at("user:/app/gone", None), what="drift deleted")
    error = clusterd.error(RESOLVE, i=ids["two"], p="user:/app/gone", a="ADOPT")
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "ADOPT_DELETION" in error["message"]
    assert cluster_value(clusterd, cluster, "user:/app/gone") == "g1"
    answer = clusterd.ok(RESOLVE, i=ids["two"], p="user:/app/gone", a="ADOPT_DELETION")
    assert {r["delivery"] for r in answer["resolveDrift"]["results"]} == {"APPLIED"}
    assert cluster_value(clusterd, cluster, "user:/app/gone") is None
    assert_converged(clusterd, cluster, members, ["user:/app/k", "user:/app/gone"])
    assert member_value(one, "user:/app/gone") is None


# -- 5. a refused write is not forgotten -------------------------------------------


def test_a_write_refused_by_a_broken_mounted_file_lands_when_it_is_repaired(
    clusterd: Clusterd, elektrads: Daemons, tmp_path: Path
) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text("[server]\nport = 1\n")
    (daemon,) = elektrads(1, mounts=[f"user:/app={ini}"])
    cluster, _ = member_cluster(clusterd, {"web": daemon.url})
    where = target(cluster=cluster)
    assert results(set_key(clusterd, where, "user:/app/server/port", "2")) == {"web": "APPLIED"}
    ini.write_text("[server\nport = = =\n")  # broken
    wait_until(
        lambda: httpx.get(f"{daemon.url}/mounts").json()[0]["status"] == "broken",
        what="mount broken",
    )
    answer = write_result(set_key(clusterd, where, "user:/app/server/port", "3"))["web"]
    assert answer["delivery"] == "PENDING", answer
    assert answer["error"], answer
    shown = instance(clusterd, "web")
    assert shown["status"] == "ONLINE"
    [pending] = shown["pending"]
    assert (pending["path"], pending["value"], pending["status"]) == (
        "user:/app/server/port",
        "3",
        "PENDING",
    )
    assert pending["lastError"] and "web refused" in pending["lastError"], pending
    assert shown["failed"] == []
    assert cluster_drift(clusterd, cluster) == []
    ini.write_text("[server]\nport = 2\n")  # repaired, by someone on the machine
    assert_converged(clusterd, cluster, {"web": daemon}, ["user:/app/server/port"])
    assert member_value(daemon, "user:/app/server/port") == "3"
    assert "port = 3" in ini.read_text()


def test_a_validation_refusal_is_failed_until_superseded_or_retried(
    clusterd: Clusterd, elektrads: Daemons
) -> None:
    strict, lenient = elektrads(2)
    cluster, ids = member_cluster(clusterd, {"strict": strict.url, "lenient": lenient.url})
    members = {"strict": strict, "lenient": lenient}
    where = target(cluster=cluster)
    set_key(clusterd, where, "user:/app/port", "80")
    meta = f"{strict.url}/kdbMeta/user:/app/port"
    httpx.post(meta, json={"key": "check/type", "value": "long"}).raise_for_status()
    answer = write_result(set_key(clusterd, where, "user:/app/port", "abc", force=True))
    assert answer["strict"]["delivery"] == "FAILED"
    assert "long" in answer["strict"]["error"]
    assert answer["lenient"]["delivery"] == "APPLIED"
    [failed] = instance(clusterd, "strict")["failed"]
    assert (failed["path"], failed["value"], failed["status"]) == (
        "user:/app/port",
        "abc",
        "FAILED",
    )
    assert "long" in failed["lastError"]
    [listed] = cluster_failed(clusterd, cluster)
    assert (listed["instanceId"], listed["value"]) == (ids["strict"], "abc")
    assert "long" in listed["lastError"]
    assert instance(clusterd, "strict")["pending"] == []

    # A newer write of the key supersedes the refusal.
    assert results(set_key(clusterd, where, "user:/app/port", "81")) == {
        "strict": "APPLIED",
        "lenient": "APPLIED",
    }
    assert instance(clusterd, "strict")["failed"] == []
    assert cluster_failed(clusterd, cluster) == []
    assert_converged(clusterd, cluster, members, ["user:/app/port"])

    # Refused again; the check removed on the member; retryDeliveries sends it.
    answer = write_result(set_key(clusterd, where, "user:/app/port", "xyz", force=True))
    assert answer["strict"]["delivery"] == "FAILED"
    httpx.request("DELETE", meta, json={"key": "check/type"}).raise_for_status()
    retried = clusterd.ok(
        "mutation($i: ID!) { retryDeliveries(instanceId: $i) { name failed { path } } }",
        i=ids["strict"],
    )["retryDeliveries"]
    assert retried["failed"] == []
    assert_converged(clusterd, cluster, members, ["user:/app/port"])
    assert member_value(strict, "user:/app/port") == "xyz"


# -- 6. two first writes of a new cluster key at once --------------------------


def test_concurrent_first_writes_of_a_new_key_on_postgres(
    postgres_url: str, elektrads: Daemons
) -> None:
    daemons = elektrads(2)
    with clusterd_with(postgres_url) as clusterd:
        cluster, _ = member_cluster(clusterd, {"m0": daemons[0].url, "m1": daemons[1].url})
        where = target(cluster=cluster)
        members = {"m0": daemons[0], "m1": daemons[1]}
        paths = []
        took: list[float] = []
        for n in range(20):
            path = f"user:/race/k{n}"
            paths.append(path)
            start = threading.Barrier(2)
            answers: list[dict[str, Any]] = []

            def write(
                value: str,
                path: str = path,
                start: threading.Barrier = start,
                answers: list[dict[str, Any]] = answers,
            ) -> None:
                with httpx.Client(base_url=clusterd.url, timeout=60, headers=AUTH) as http:
                    start.wait()
                    answers.append(set_key(Clusterd(clusterd.url, http), where, path, value))

            threads = [threading.Thread(target=write, args=(v,)) for v in (f"a{n}", f"b{n}")]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            took.append(round(time.monotonic() - started, 2))
            assert len(answers) == 2
            for answer in answers:
                assert not answer.get("errors"), answer["errors"]
            assert cluster_value(clusterd, cluster, path) in (f"a{n}", f"b{n}")
        assert_converged(clusterd, cluster, members, paths)
        # Healthy members: no pair waits out write_wait (3 s) for a landing.
        assert max(took) < TEST_SETTINGS.write_wait - 0.5, took


def test_writes_to_healthy_members_answer_without_waiting_out_write_wait(
    clusterd: Clusterd, elektrads: Daemons
) -> None:
    """Every landing is recorded and announced: a write whose deliveries all
    landed answers at once, not after write_wait (3 s) with its result read
    from the database."""
    daemons = elektrads(3)
    cluster, _ = member_cluster(clusterd, {f"m{n}": d.url for n, d in enumerate(daemons)})
    where = target(cluster=cluster)
    took = []
    for n in range(20):
        started = time.monotonic()
        answer = results(set_key(clusterd, where, f"user:/app/k{n % 4}", str(n)))
        took.append(round(time.monotonic() - started, 2))
        assert answer == {"m0": "APPLIED", "m1": "APPLIED", "m2": "APPLIED"}
    members = {f"m{n}": d for n, d in enumerate(daemons)}
    assert_converged(clusterd, cluster, members, [f"user:/app/k{n}" for n in range(4)])
    assert max(took) < TEST_SETTINGS.write_wait - 0.5, took


# -- 7. a member that never answers, one that trickles --------------------------


@pytest.mark.parametrize("fault", ["blackhole", "trickle"])
def test_a_member_that_never_answers_or_trickles_does_not_hang_a_delivery(
    clusterd: Clusterd, elektrads: Daemons, fault: str
) -> None:
    (daemon,) = elektrads(1)
    with FaultProxy(daemon.url) as proxy:
        cluster, _ = member_cluster(clusterd, {"web": proxy.url})
        where = target(cluster=cluster)
        rule = proxy.blackhole(PUT) if fault == "blackhole" else proxy.trickle(PUT, 1.5)
        started = time.monotonic()
        answer = write_result(set_key(clusterd, where, "user:/app/k", "v"))["web"]
        took = time.monotonic() - started
        assert took < TEST_SETTINGS.write_wait + 2, took
        if fault == "blackhole":
            assert answer["delivery"] == "PENDING", answer
            assert "no answer within 2s" in answer["error"], answer

            def pending_with_error() -> bool:
                pending = instance(clusterd, "web")["pending"]
                return bool(pending) and pending[0]["attempts"] > 0
        else:
            # The PUT reached the member (only its answer trickles): the
            # truth is "applied" once the feed shows it; else it is pending.
            assert answer["delivery"] in ("PENDING", "APPLIED"), answer
            if answer["delivery"] == "PENDING":
                assert "no answer within 2s" in answer["error"], answer

            def pending_with_error() -> bool:
                return True

        if fault == "blackhole":
            wait_until(pending_with_error, what="pending with attempts")
            [pending] = instance(clusterd, "web")["pending"]
            assert "no answer within 2s" in pending["lastError"], pending
            assert member_value(daemon, "user:/app/k") is None
        rule.remove()
        assert_converged(clusterd, cluster, {"web": daemon}, ["user:/app/k"])
        assert member_value(daemon, "user:/app/k") == "v"


# -- 8. a known-offline member costs nothing -----------------------------------


def test_a_known_offline_member_costs_a_write_nothing(
    clusterd: Clusterd, elektrads: Daemons
) -> None:
    online, silent = elektrads(2)
    with FaultProxy(silent.url) as proxy:
        cluster, _ = member_cluster(clusterd, {"on": online.url, "off": proxy.url})
        members = {"on": online, "off": silent}
        where = target(cluster=cluster)
        assert results(set_key(clusterd, where, "user:/app/k", "0")) == {
            "on": "APPLIED",
            "off": "APPLIED",
        }
        proxy.blackhole(matching())  # accepts every request, answers none
        wait_until(
            lambda: instance(clusterd, "off")["status"] == "OFFLINE", what="offline", seconds=30
        )
        writes, reads = [], []
        for n in range(1, 6):
            assert instance(clusterd, "off")["status"] == "OFFLINE"
            started = time.monotonic()
            answer = results(set_key(clusterd, where, "user:/app/k", str(n)))
            writes.append(round(time.monotonic() - started, 2))
            assert answer == {"on": "APPLIED", "off": "PENDING"}
            started = time.monotonic()
            body = clusterd.query('{ instances { name key(path: "user:/app/k") { value } } }')
            reads.append(round(time.monotonic() - started, 2))
            by_name = {i["name"]: i["key"] for i in body["data"]["instances"]}
            assert by_name["on"] == {"value": str(n)}
            assert by_name["off"] is None
            codes = {e["extensions"]["code"] for e in body["errors"]}
            assert codes == {"INSTANCE_UNREACHABLE"}, body["errors"]
            time.sleep(0.3)  # spread over the health checks' cycle
        # call_timeout is 2 s: an OFFLINE member is not waited for.
        assert max(writes) < 1.0 and max(reads) < 1.0, (writes, reads)
        proxy.clear()
        assert_converged(clusterd, cluster, members, ["user:/app/k"])


# -- 9. replicas see each other's landings ---------------------------------------


def test_a_write_answered_by_one_replica_counts_the_landings_of_another(
    postgres_url: str, elektrads: Daemons, processes: Callable[..., Process]
) -> None:
    # A never sends on its own (no retry ticks, the lease is B's when A's
    # write kicks it): B's sender makes A's write land.
    a = processes(postgres_url, retry_tick=3600.0, write_wait=10.0)
    b = processes(postgres_url, retry_tick=0.2, write_wait=10.0)
    (daemon,) = elektrads(1)
    with FaultProxy(daemon.url) as proxy:
        cluster, _ = member_cluster(a.api, {"web": proxy.url})
        where = target(cluster=cluster)
        assert results(set_key(a.api, where, "user:/app/x", "0")) == {"web": "APPLIED"}
        held = proxy.hold(PUT, times=1)
        with in_background(lambda: set_key(b.api, where, "user:/app/x", "1")) as first:
            held.wait_held()  # B holds the instance's sender lease, mid-send
            with in_background(lambda: set_key(a.api, where, "user:/app/y", "1")) as second:
                # A's write is stored (and its kick found B's lease).
                wait_until(
                    lambda: any(
                        p["path"] == "user:/app/y" for p in instance(a.api, "web")["pending"]
                    ),
                    what="y pending",
                )
                started = time.monotonic()
                held.release()
            took = time.monotonic() - started
        assert results(first[0]) == {"web": "APPLIED"}
        assert results(second[0]) == {"web": "APPLIED"}, second[0]
        assert took < 5.0, took
        assert_converged(a.api, cluster, {"web": daemon}, ["user:/app/x", "user:/app/y"])
