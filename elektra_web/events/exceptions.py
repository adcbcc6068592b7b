"""Errors of the event bus.

    EventBusError            (base)
    ├── BusNotRunning        publish() before start() or after stop(); subscribe() after stop()
    ├── PublishFailed        the backend could not store or send the event (cause chained);
    │                        with PostgreSQL the event may or may not have been stored
    └── SubscriberTooSlow    raised by a subscription's iterator, after what it had queued,
                             when its queue overflowed and the bus dropped it

Data that JSON cannot carry is a programming error, not a bus failure: ``publish``
raises ``TypeError`` / ``ValueError`` for it, like ``json.dumps`` does, on every backend.
"""

from __future__ import annotations

__all__ = ["BusNotRunning", "EventBusError", "PublishFailed", "SubscriberTooSlow"]


class EventBusError(Exception):
    """Base of the event bus's errors."""


class BusNotRunning(EventBusError):
    """The bus is not started, or already stopped."""


class PublishFailed(EventBusError):
    """The backend could not publish (database down, connection lost, timeout)."""


class SubscriberTooSlow(EventBusError):
    """The subscriber fell ``maxsize`` events behind: the bus dropped it rather than
    stall the publisher or grow without bound. Resubscribe and re-read the state."""
