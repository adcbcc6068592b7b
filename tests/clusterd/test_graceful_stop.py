"""SIGTERM stops clusterd gracefully: writes in flight answer, websockets are
closed with 1001 "going away" (subscriptions over HTTP end with UNAVAILABLE),
the process exits 0, and on PostgreSQL the
other replica takes over the stopped one's deliveries at once, not when its
lease would have run out."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from ..elektrad.conftest import free_port
from ..support.clusterd_process import spawn
from ..support.faults import FaultProxy, matching
from ..support.waiting import wait_until
from .api import add_instance, assign, cluster_config, create_cluster, results, set_key, target
from .conftest import ADMIN_TOKEN, AUTH, Clusterd, Elektrad
from .ws import connect

#: Long, so that a takeover that waited for the lease would show.
LEASE = 60.0
#: A replica's settings: a write waits (and a call to a hung member hangs) for
#: longer than the test, unless the stop cuts it short.
SETTINGS: dict[str, Any] = {
    "call_timeout": 60.0,
    "write_wait": 60.0,
    "follow_lease": LEASE,
    "follow_wait": 2.0,
    "retry_base": 0.1,
    "retry_max": 0.5,
    "health_interval": 0.3,
}


@contextmanager
def clusterd_process(
    database: str, log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Clusterd]]:
    """A clusterd process with :data:`SETTINGS`; killed at the end if still running."""
    port = free_port()
    with open(log, "ab") as output:
        process = spawn(port, database, SETTINGS, admin_token=ADMIN_TOKEN, output=output)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=90, headers=AUTH) as http:
            yield process, Clusterd(url, http)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def set_key_through(
    clusterd: Clusterd, where: dict[str, str], path: str, value: str
) -> dict[str, Any]:
    """``set_key`` through a client of its own (from another thread)."""
    with httpx.Client(base_url=clusterd.url, timeout=90, headers=AUTH) as http:
        return set_key(Clusterd(clusterd.url, http), where, path, value)


class Stream:
    """A subscription streamed over HTTP (multipart), read in a thread."""

    def __init__(self, clusterd: Clusterd) -> None:
        self.text = ""
        self.started = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(clusterd.url,), daemon=True)
        self._thread.start()
        assert self.started.wait(30), "the stream did not start"

    def _read(self, url: str) -> None:
        with httpx.stream(
            "POST",
            f"{url}/graphql",
            json={"query": "subscription { configChanged { path } }"},
            headers={**AUTH, "accept": "multipart/mixed;subscriptionSpec=1.0"},
            timeout=60,
        ) as response:
            for chunk in response.iter_text():
                self.text += chunk
                self.started.set()  # its first part: the subscription runs

    def ended(self, seconds: float) -> str:
        """Its text, once the server has ended it."""
        self._thread.join(seconds)
        assert not self._thread.is_alive(), "the stream did not end"
        return self.text


def assert_members_equal_their_clusters(clusterd: Clusterd, daemons: dict[str, Elektrad]) -> None:
    for name, keys in cluster_config(clusterd).items():
        assert {path: daemons[name].value(path) for path in keys} == keys, name


@dataclass
class Stopped:
    """How a SIGTERM went: seconds are counted from the signal."""

    answer: dict[str, Any]
    answered: float
    close_code: int
    exited: float
    status: int


async def stop_while_busy(
    process: subprocess.Popen[bytes],
    clusterd: Clusterd,
    write: Callable[[], dict[str, Any]],
    in_flight: Callable[[], None],
) -> Stopped:
    """SIGTERM ``process`` once ``write`` is in flight (``in_flight`` returns)
    and a websocket is open."""
    writing = asyncio.create_task(asyncio.to_thread(write))
    await asyncio.to_thread(in_flight)
    async with connect(clusterd.url) as socket:
        await socket.subscribe("subscription { configChanged { path } }")
        start = time.monotonic()
        process.send_signal(signal.SIGTERM)
        close_code = await socket.close_code(30)
    answer = await asyncio.wait_for(writing, 30)
    answered = time.monotonic() - start
    status = await asyncio.to_thread(process.wait, 30)
    return Stopped(answer, answered, close_code, time.monotonic() - start, status)


def test_sigterm_answers_writes_in_flight_closes_websockets_going_away_and_exits_0(
    elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    (daemon,) = elektrads(1)
    database = f"sqlite://{tmp_path / 'clusterd.sqlite3'}"
    with FaultProxy(daemon.url) as proxy:
        with clusterd_process(database, tmp_path / "clusterd.log") as (process, clusterd):
            prod = create_cluster(clusterd, "prod")
            assign(clusterd, prod, add_instance(clusterd, "web", proxy.url))
            hung = proxy.hold(matching("PUT", "/kdb/"), times=1)  # the member stops answering

            def write() -> dict[str, Any]:
                return set_key_through(clusterd, target(cluster=prod), "user:/port", "1")

            stream = Stream(clusterd)
            stopped = asyncio.run(stop_while_busy(process, clusterd, write, hung.wait_held))
            # A subscription over HTTP ends with an error that says why.
            assert '"code":"UNAVAILABLE"' in stream.ended(10).replace(" ", "")
        assert results(stopped.answer) == {"web": "PENDING"}  # at once, not after write_wait
        assert stopped.answered < 10
        assert stopped.close_code == 1001
        assert stopped.status == 0
        assert stopped.exited < 15

        # The write was stored: clusterd started again delivers it.
        with clusterd_process(database, tmp_path / "clusterd.log") as (_, again):
            wait_until(lambda: daemon.value("user:/port") == "1", 30, "delivered after a restart")
            assert_members_equal_their_clusters(again, {"web": daemon})


def leases(database: str) -> list[tuple[str | None, str | None]]:
    """Each instance's (sender, follower) lease holders."""

    async def read() -> list[tuple[str | None, str | None]]:
        connection = await asyncpg.connect(database)
        try:
            rows = await connection.fetch("SELECT sender, follower FROM instance")
            return [(r["sender"], r["follower"]) for r in rows]
        finally:
            await connection.close()

    return asyncio.run(read())


def test_a_replica_stopped_by_sigterm_hands_its_deliveries_to_the_other_at_once(
    postgres_url: str, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    (daemon,) = elektrads(1)
    log = tmp_path / "replicas.log"
    with (
        FaultProxy(daemon.url) as proxy,
        clusterd_process(postgres_url, log) as (stopped_replica, a),
    ):
        prod = create_cluster(a, "prod")
        assign(a, prod, add_instance(a, "web", proxy.url))
        # The member stops answering writes: replica a's delivery hangs, and a
        # holds the member's sender lease (for LEASE seconds, renewed).
        hung = proxy.hold(matching("PUT", "/kdb/"), times=1)

        def write() -> dict[str, Any]:
            return set_key_through(a, target(cluster=prod), "user:/app/port", "8080")

        def in_flight() -> None:
            hung.wait_held()
            ((sender, _),) = leases(postgres_url)
            holder.append(sender)
            # Only now the other replica: a holds the lease, b must wait for it.
            stack.append(clusterd_process(postgres_url, log))
            others.append(stack[-1].__enter__()[1])

        holder: list[str | None] = []
        stack: list[Any] = []
        others: list[Clusterd] = []
        try:
            stopped = asyncio.run(stop_while_busy(stopped_replica, a, write, in_flight))
            signalled = time.monotonic() - stopped.exited
            (b,) = others
            assert holder[0] is not None
            assert stopped.status == 0
            assert stopped.close_code == 1001
            assert results(stopped.answer) == {"web": "PENDING"}
            # a released what it held: no lease names it any more.
            assert all(holder[0] not in lease for lease in leases(postgres_url))

            def delivered() -> bool:
                pending = b.ok("{ instances { pending { path } } }")["instances"][0]["pending"]
                return not pending and daemon.value("user:/app/port") == "8080"

            wait_until(delivered, LEASE, "the other replica delivered")
            took_over = time.monotonic() - signalled
            wait_until(lambda: leases(postgres_url)[0][1] is not None, LEASE, "b follows")
            follows = time.monotonic() - signalled
            print(
                f"\nSIGTERM -> a exited {stopped.exited:.2f} s, write answered "
                f"{stopped.answered:.2f} s; b delivered {took_over:.2f} s and follows the "
                f"member {follows:.2f} s after the signal (lease {LEASE:.0f} s)"
            )
            assert took_over < LEASE / 4
            # b's supervisor was woken by the handover (it looks every 5 s).
            assert follows < 5
            assert_members_equal_their_clusters(b, {"web": daemon})
        finally:
            for context in reversed(stack):
                context.__exit__(None, None, None)
