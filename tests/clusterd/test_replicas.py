"""Several clusterd replicas on one PostgreSQL behave as one: events cross
replicas, each delivery is made by exactly one replica, and a replica whose
listening connection was cut catches up from the event table."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from ..elektrad.conftest import free_port
from .api import add_instance, assign, create_cluster, results, set_key, target
from .conftest import AUTH, Clusterd, Elektrad, spawn_clusterd
from .ws import connect


@contextmanager
def replica(database: str, home: Path) -> Iterator[Clusterd]:
    """A clusterd process on ``database``, with quick retries and checks."""
    port = free_port()
    options = ("--health-interval", "0.3", "--retry-max", "0.5", "--write-wait", "3")
    process = spawn_clusterd(port, database, *options, home=home)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60, headers=AUTH) as http:
            yield Clusterd(url, http)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def replicas(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Clusterd, Clusterd]]:
    with replica(postgres_url, tmp_path) as a, replica(postgres_url, tmp_path) as b:
        yield a, b


def test_a_subscriber_on_one_replica_sees_a_change_made_through_the_other(
    replicas: tuple[Clusterd, Clusterd], elektrads: Callable[..., list[Elektrad]]
) -> None:
    a, b = replicas
    (daemon,) = elektrads(1)
    instance = add_instance(a, "web", daemon.url)
    cluster = create_cluster(a, "prod")

    async def scenario() -> list[dict[str, Any]]:
        async with connect(b.url) as socket:
            await socket.subscribe(
                "subscription { configChanged { origin path value instance { name } } }"
            )
            await asyncio.sleep(0.5)
            await asyncio.to_thread(set_key, a, target(instance=instance), "user:/x", "1")
            await asyncio.to_thread(set_key, a, target(cluster=cluster), "user:/y", "2")
            return [(await socket.next_data())["configChanged"] for _ in range(2)]

    events = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert sorted((e["path"], e["value"], e["origin"]) for e in events) == [
        ("user:/x", "1", "clusterd"),
        ("user:/y", "2", "clusterd"),
    ]


class RequestCounter(logging.Handler):
    """Counts the requests an in-process elektrad logs (one line each)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_each_delivery_is_made_by_exactly_one_replica_in_order(
    replicas: tuple[Clusterd, Clusterd], elektrads: Callable[..., list[Elektrad]]
) -> None:
    a, b = replicas
    (member,) = elektrads(1)
    cluster = create_cluster(a, "prod")
    assign(a, cluster, add_instance(a, "web", member.url))
    member.stop()
    for n in range(10):
        through = (a, b)[n % 2]  # writes alternate between the replicas
        assert results(set_key(through, target(cluster=cluster), "user:/v", str(n))) == {
            "web": "PENDING"
        }
    counter = RequestCounter()
    logger = logging.getLogger("elektra_web.elektrad")
    logger.addHandler(counter)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        member.start()
        deadline = time.monotonic() + 30
        while any(
            replica_.ok("{ instances { pending { path } } }")["instances"][0]["pending"]
            for replica_ in (a, b)
        ):
            assert time.monotonic() < deadline, "deliveries did not land"
            time.sleep(0.1)
        time.sleep(1)  # a duplicate, if any, would arrive now
    finally:
        logger.removeHandler(counter)
        logger.setLevel(old_level)
    puts = [line for line in counter.lines if '"PUT /kdb/user:/v"' in line]
    # One replica sends the queue, once: the ten writes of one key coalesce
    # into the last (the nine before it are SUPERSEDED, never sent).
    assert len(puts) == 1
    assert member.value("user:/v") == "9"


def test_a_replica_cut_from_postgres_catches_up_from_the_event_table(
    replicas: tuple[Clusterd, Clusterd],
    elektrads: Callable[..., list[Elektrad]],
    postgres_url: str,
) -> None:
    a, b = replicas
    (daemon,) = elektrads(1)
    instance = add_instance(a, "web", daemon.url)

    async def cut_listeners() -> int:
        connection = await asyncpg.connect(postgres_url)
        try:
            rows = await connection.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'elektra_web_events_listener'"
                " AND datname = current_database()"
            )
            return len(rows)
        finally:
            await connection.close()

    async def scenario() -> list[str]:
        async with connect(b.url) as socket:
            await socket.subscribe("subscription { configChanged { path } }")
            await asyncio.sleep(0.5)
            assert await cut_listeners() == 2  # both replicas lose LISTEN
            for n in range(5):
                await asyncio.to_thread(set_key, a, target(instance=instance), f"user:/k{n}", "v")
            return [(await socket.next_data(20))["configChanged"]["path"] for _ in range(5)]

    paths = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert sorted(paths) == [f"user:/k{n}" for n in range(5)]
