"""Event bus fixtures: real backends only. PostgreSQL tests get a fresh database
each (skipped without a server, failed under ``CI``, as in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import anyio
import pytest

from elektra_web.events import (
    Backend,
    Event,
    EventBus,
    MemoryBackend,
    PostgresBackend,
    Subscription,
)

#: Test timings: quick polls and reconnects, so a missed wake-up shows as a
#: delay of tenths of a second, not seconds.
FAST: dict[str, Any] = {"poll_interval": 0.2, "reconnect_min": 0.05, "reconnect_max": 0.5}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def postgres_dsn(postgres_url: str) -> str:
    """A new, empty PostgreSQL database, dropped afterwards."""
    return postgres_url


@pytest.fixture
async def start_bus(postgres_dsn: str) -> AsyncIterator[Callable[..., Any]]:
    """``await start_bus(**backend_options)``: a started PostgreSQL bus (a
    "replica") on the test's database, stopped at the end of the test."""
    async with AsyncExitStack() as stack:

        async def start(**options: Any) -> EventBus:
            bus = EventBus(PostgresBackend(postgres_dsn, **{**FAST, **options}))
            await bus.start()
            stack.push_async_callback(bus.stop)
            return bus

        yield start


@pytest.fixture(params=["memory", "postgres"])
def new_backend(request: pytest.FixtureRequest) -> Callable[[], Backend]:
    """Makes backends of one kind (for a PostgreSQL one, on the test's database):
    what the bus promises holds on both."""
    if request.param == "memory":
        return MemoryBackend
    # Created here, outside the event loop: the helper runs its own loop.
    dsn: str = request.getfixturevalue("postgres_dsn")
    return lambda: PostgresBackend(dsn, **FAST)


@pytest.fixture
async def bus(new_backend: Callable[[], Backend]) -> AsyncIterator[EventBus]:
    """A started bus on each backend."""
    async with EventBus(new_backend()) as started:
        yield started


async def take(subscription: Subscription, count: int, within: float = 10.0) -> list[Event]:
    """The next ``count`` events of ``subscription``, failing after ``within`` seconds."""
    events: list[Event] = []
    with anyio.fail_after(within):
        async for event in subscription:
            events.append(event)
            if len(events) == count:
                break
    assert len(events) == count, f"subscription ended after {len(events)} of {count} events"
    return events


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``condition()`` holds, failing after ``within`` seconds."""
    # Polls: the condition is another task's state, with no event to wait on.
    with anyio.fail_after(within):
        while True:
            if condition():
                return
            await anyio.sleep(0.01)
