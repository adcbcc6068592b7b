"""The in-process backend, and picking a backend by database URL."""

from __future__ import annotations

import asyncio

import pytest

from elektra_web.events import (
    BusNotRunning,
    EventBus,
    MemoryBackend,
    PostgresBackend,
    SubscriberTooSlow,
    bus_for,
)
from elektra_web.events.postgres import asyncpg_dsn

pytestmark = pytest.mark.anyio


async def test_memory_backend_delivers_before_publish_returns() -> None:
    async with EventBus() as bus:
        assert isinstance(bus.backend, MemoryBackend)
        subscription = bus.subscribe("config")
        first = await bus.publish("config", {"n": 1})
        assert subscription.qsize() == 1
        second = await bus.publish("config", {"n": 2})
        assert (first.id, second.id) == (1, 2)
        assert [await anext(subscription), await anext(subscription)] == [first, second]


async def test_publish_needs_a_started_bus() -> None:
    bus = EventBus()
    subscription = bus.subscribe("config")  # subscribing early is fine
    with pytest.raises(BusNotRunning):
        await bus.publish("config", {})
    await bus.start()
    with pytest.raises(RuntimeError):
        await bus.start()
    await bus.publish("config", {})
    await bus.stop()
    assert subscription.closed


async def test_a_thousand_idle_subscribers_hold_at_most_maxsize_each() -> None:
    async with EventBus(maxsize=5) as bus:
        idle = [bus.subscribe("status") for _ in range(1000)]
        reader = bus.subscribe("status", maxsize=20_000)
        for n in range(10_000):
            await bus.publish("status", {"n": n})
        assert all(subscription.overflowed for subscription in idle)
        assert sum(subscription.qsize() for subscription in idle) == 5000
        assert bus.subscriber_count == 1
        assert reader.qsize() == 10_000
        with pytest.raises(SubscriberTooSlow):
            async for _event in idle[0]:
                pass


async def test_one_consumer_at_a_time() -> None:
    async with EventBus() as bus:
        subscription = bus.subscribe("config")
        waiting = asyncio.ensure_future(anext(subscription))
        await asyncio.sleep(0)  # the first consumer is now waiting
        with pytest.raises(RuntimeError):
            await anext(subscription)
        published = await bus.publish("config", {})
        assert await waiting == published


def test_bus_for_picks_the_backend_by_database_url() -> None:
    assert isinstance(bus_for("sqlite:///tmp/clusterd.sqlite3").backend, MemoryBackend)
    assert isinstance(bus_for("sqlite://:memory:").backend, MemoryBackend)
    for scheme in ("postgres", "postgresql", "asyncpg", "psycopg", "POSTGRES"):
        backend = bus_for(f"{scheme}://postgres@127.0.0.1:5432/db").backend
        assert isinstance(backend, PostgresBackend)
        assert backend.dsn == "postgresql://postgres@127.0.0.1:5432/db"
    assert bus_for("sqlite://x", maxsize=7).maxsize == 7


def test_tortoise_url_parameters_do_not_reach_asyncpg() -> None:
    assert (
        asyncpg_dsn("asyncpg://u:p%40ss@h:5433/db?minsize=1&maxsize=10&schema=app&sslmode=prefer")
        == "postgresql://u:p%40ss@h:5433/db?sslmode=prefer&search_path=app"
    )
    assert asyncpg_dsn("postgres://h/db?ssl=true") == "postgresql://h/db?sslmode=require"
    with pytest.raises(ValueError):
        asyncpg_dsn("sqlite:///x")
