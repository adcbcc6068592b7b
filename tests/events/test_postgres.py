"""The PostgreSQL backend: several buses ("replicas") on one database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import asyncpg
import pytest

from elektra_web.events import Event, EventBus, PublishFailed, bus_for
from elektra_web.events.postgres import LISTENER_NAME, PUBLISHER_NAME, PostgresBackend
from tests.conftest import POSTGRES_ADMIN_URL

from .conftest import eventually, take

pytestmark = pytest.mark.anyio

StartBus = Callable[..., Any]


def backend_of(bus: EventBus) -> PostgresBackend:
    assert isinstance(bus.backend, PostgresBackend)
    return bus.backend


async def admin(statement: str, *args: Any) -> Any:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        return await connection.fetchval(statement, *args)
    finally:
        await connection.close()


async def test_an_event_reaches_every_replica_once_in_order(start_bus: StartBus) -> None:
    a: EventBus = await start_bus()
    b: EventBus = await start_bus()
    on_a = a.subscribe({"config", "status"})
    on_b = b.subscribe({"config", "status"})

    published = [
        await a.publish("config", {"n": 0}),
        await b.publish("status", {"n": 1}),
        await a.publish("status", {"n": 2}),
        await a.publish("config", {"n": 3}),
        await b.publish("config", {"n": 4}),
    ]
    assert await take(on_a, 5) == published
    assert await take(on_b, 5) == published
    # Several safety polls later, nothing came twice.
    await anyio.sleep(3 * backend_of(a).poll_interval)
    assert on_a.qsize() == on_b.qsize() == 0


async def test_a_burst_from_both_replicas_arrives_complete_and_in_order(
    start_bus: StartBus,
) -> None:
    a: EventBus = await start_bus()
    b: EventBus = await start_bus()
    on_a = a.subscribe("delivery", maxsize=2000)
    on_b = b.subscribe("delivery", maxsize=2000)
    published: list[Event] = []

    async def publish(bus: EventBus, publisher: str) -> None:
        for n in range(125):
            published.append(await bus.publish("delivery", {"publisher": publisher, "n": n}))

    # Eight concurrent publishers, four per replica: ids are drawn concurrently,
    # so this is where a reader that skipped a late-committing id would lose it.
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            for publisher in range(4):
                tasks.start_soon(publish, a, f"a{publisher}")
                tasks.start_soon(publish, b, f"b{publisher}")

    expected = sorted(published, key=lambda event: event.id)
    assert len({event.id for event in expected}) == 1000
    for subscription in (on_a, on_b):
        received = await take(subscription, 1000, within=30)
        assert received == expected
        for name in ("a0", "a3", "b0", "b3"):
            numbers = [e.data["n"] for e in received if e.data["publisher"] == name]
            assert numbers == list(range(125))
    await anyio.sleep(3 * backend_of(a).poll_interval)
    assert on_a.qsize() == on_b.qsize() == 0


async def test_a_listener_that_lost_its_connection_catches_up(
    start_bus: StartBus, postgres_dsn: str
) -> None:
    a: EventBus = await start_bus()
    # Polling is off in effect: what b gets after the reconnect, it got by catching up.
    b: EventBus = await start_bus(poll_interval=600.0, reconnect_min=0.05, reconnect_max=0.2)
    on_b = b.subscribe("status")
    first = await a.publish("status", {"n": 0})
    assert await take(on_b, 1) == [first]

    database = postgres_dsn.rsplit("/", 1)[1]
    listener = backend_of(b).listener_pid
    assert listener is not None
    # Keep b out while a publishes (a publishes over its open pool connection).
    await admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        assert await admin("SELECT pg_terminate_backend($1)", listener)
        await eventually(lambda: backend_of(b).listener_pid is None)
        missed = [await a.publish("status", {"n": n}) for n in range(1, 21)]
        await anyio.sleep(0.5)  # b keeps failing to reconnect meanwhile
        assert on_b.qsize() == 0
        assert backend_of(b).reconnects == 0
    finally:
        await admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

    assert await take(on_b, 20) == missed
    assert backend_of(b).reconnects == 1
    assert backend_of(b).listener_pid not in (None, listener)
    # And live notifications work again on the new connection.
    again = await a.publish("status", {"n": 21})
    assert await take(on_b, 1) == [again]


async def test_a_bus_started_later_does_not_replay(start_bus: StartBus) -> None:
    a: EventBus = await start_bus()
    for n in range(5):
        await a.publish("config", {"n": n})
    late: EventBus = await start_bus()
    on_late = late.subscribe("config")
    assert backend_of(late).last_seen > 0
    after = await a.publish("config", {"n": 5})
    assert await take(on_late, 1) == [after]
    await anyio.sleep(3 * backend_of(late).poll_interval)
    assert on_late.qsize() == 0


async def test_replicas_starting_together_create_the_table_once(start_bus: StartBus) -> None:
    buses: list[EventBus] = []

    async def start() -> None:
        buses.append(await start_bus())

    async with anyio.create_task_group() as tasks:
        for _ in range(4):
            tasks.start_soon(start)
    subscription = buses[0].subscribe("drift")
    published = await buses[3].publish("drift", {})
    assert await take(subscription, 1) == [published]


async def test_prune_deletes_old_events_only(start_bus: StartBus, postgres_dsn: str) -> None:
    bus: EventBus = await start_bus()
    subscription = bus.subscribe("config")
    for n in range(3):
        await bus.publish("config", {"n": n})
    await take(subscription, 3)
    backend = backend_of(bus)
    assert await backend.prune(older_than=3600) == 0
    assert await backend.prune(older_than=0) == 3
    connection = await asyncpg.connect(postgres_dsn)
    try:
        assert await connection.fetchval("SELECT count(*) FROM event") == 0
    finally:
        await connection.close()
    # Ids keep growing after a prune; nothing is redelivered.
    later = await bus.publish("config", {"n": 3})
    assert await take(subscription, 1) == [later]
    assert later.id == 4


async def test_publish_fails_cleanly_while_the_database_is_unreachable(
    start_bus: StartBus, postgres_dsn: str
) -> None:
    bus: EventBus = await start_bus()
    subscription = bus.subscribe("status")
    database = postgres_dsn.rsplit("/", 1)[1]
    await admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        await admin(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND application_name IN ($2, $3)",
            database,
            PUBLISHER_NAME,
            LISTENER_NAME,
        )
        with pytest.raises(PublishFailed):
            await bus.publish("status", {"lost": True})
    finally:
        await admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    # Back: the pool and the listener reconnect by themselves.
    published = await bus.publish("status", {"lost": False})
    assert await take(subscription, 1) == [published]
    await anyio.sleep(3 * backend_of(bus).poll_interval)
    assert subscription.qsize() == 0


async def test_bus_for_takes_clusterd_database_urls(postgres_dsn: str) -> None:
    url = postgres_dsn.replace("postgres://", "asyncpg://", 1) + "?minsize=1&maxsize=5"
    bus = bus_for(url)
    async with bus:
        subscription = bus.subscribe("config")
        published = await bus.publish("config", {"via": "asyncpg://"})
        assert await take(subscription, 1) == [published]
