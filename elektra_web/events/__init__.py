"""The event bus of clusterd: config changes, instance status, delivery progress
and drift, streamed to GraphQL subscribers.

One replica (SQLite) uses the in-process :class:`MemoryBackend`; several replicas
on one PostgreSQL use :class:`PostgresBackend`, so that an event published on one
replica reaches the subscribers of all. :func:`bus_for` picks by database URL::

    bus = bus_for(config.database_url)
    await bus.start()
    async with bus.subscribe({"config", "drift"}) as events:
        async for event in events:
            ...
    await bus.publish("config", {"instance": 3, "key": "user:/a"})
    await bus.stop()

Exceptions:

    EventBusError
    ├── BusNotRunning        publish() on a bus not started / stopped
    ├── PublishFailed        the backend could not store or send the event
    └── SubscriberTooSlow    a subscription fell maxsize events behind and was dropped
"""

from __future__ import annotations

from .base import DEFAULT_MAXSIZE, Backend, Deliver, Event, EventBus, Predicate, Subscription
from .exceptions import BusNotRunning, EventBusError, PublishFailed, SubscriberTooSlow
from .memory import MemoryBackend
from .postgres import POSTGRES_SCHEMES, PostgresBackend

__all__ = [
    "DEFAULT_MAXSIZE",
    "Backend",
    "BusNotRunning",
    "Deliver",
    "Event",
    "EventBus",
    "EventBusError",
    "MemoryBackend",
    "PostgresBackend",
    "Predicate",
    "PublishFailed",
    "SubscriberTooSlow",
    "Subscription",
    "bus_for",
]


def bus_for(database_url: str, *, maxsize: int = DEFAULT_MAXSIZE) -> EventBus:
    """The event bus for clusterd's database: through PostgreSQL for a
    PostgreSQL URL (``postgres://``, ``postgresql://``, ``asyncpg://``,
    ``psycopg://``), where replicas may share it; in-process otherwise (SQLite,
    which one replica owns). Not started yet."""
    scheme = database_url.partition(":")[0].lower()
    backend: Backend = (
        PostgresBackend(database_url) if scheme in POSTGRES_SCHEMES else MemoryBackend()
    )
    return EventBus(backend, maxsize=maxsize)
