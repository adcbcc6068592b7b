"""The event bus: events, subscriptions, and the seam to the backends.

clusterd publishes every change (config, instance status, delivery progress,
drift) as an :class:`Event` on one :class:`EventBus`; each GraphQL subscription
holds a :class:`Subscription` and iterates it. The bus itself only fans events
out to the subscriptions of *this* process. Where events come from is the
:class:`Backend`'s business: :class:`~elektra_web.events.memory.MemoryBackend`
hands them straight back (one replica), and
:class:`~elektra_web.events.postgres.PostgresBackend` stores them in PostgreSQL
and reads back what every replica stored (several replicas).

Memory stays bounded however slow a subscriber is: every subscription has a
queue of at most ``maxsize`` events, filtering happens before queueing, and a
subscription whose queue is full when an event arrives is dropped (its iterator
raises :class:`SubscriberTooSlow` after yielding what it had queued). The
publisher never waits for a subscriber.

Everything here runs on one event loop and is not thread-safe.

Exceptions (:mod:`elektra_web.events.exceptions`):

    EventBusError
    ├── BusNotRunning
    ├── PublishFailed
    └── SubscriberTooSlow
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

from .exceptions import BusNotRunning, SubscriberTooSlow

__all__ = [
    "DEFAULT_MAXSIZE",
    "Backend",
    "Deliver",
    "Event",
    "EventBus",
    "Predicate",
    "Subscription",
]

logger = logging.getLogger(__name__)

#: Events a subscription may hold before it counts as too slow. A thousand
#: subscribers times a thousand small events stays in the tens of megabytes.
DEFAULT_MAXSIZE = 1000


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened.

    ``id`` grows with every event of a bus (0 until stored; the PostgreSQL backend
    uses the table's id, shared by all replicas). ``data`` is JSON-compatible and
    shared by every subscriber that receives the event: treat it as read-only.
    ``at`` is the time of publication, seconds since the epoch.
    """

    id: int
    topic: str
    # Not hashed (a dict cannot be): events still work as set members and dict keys.
    data: dict[str, Any] = field(hash=False)
    at: float


#: The bus's local fan-out, which a backend calls once per event, in id order.
Deliver = Callable[[Event], None]
#: Decides, in the publisher's fan-out, whether a subscription gets an event.
Predicate = Callable[[Event], bool]


class Backend(ABC):
    """Where events are stored and where they come back from.

    A backend calls ``deliver`` exactly once for every event published through
    it *or any other backend it shares storage with*, in increasing id order,
    from the event loop, between ``start`` and ``stop``.
    """

    @abstractmethod
    async def start(self, deliver: Deliver) -> None:
        """Begin delivering events published from now on to ``deliver``."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop delivering and release connections. Idempotent."""

    @abstractmethod
    async def publish(self, topic: str, data: dict[str, Any]) -> Event:
        """Store the event and have it delivered; the stored event (with its id)."""


class Subscription:
    """The events of one subscriber: an async iterator over a bounded queue.

    Made by :meth:`EventBus.subscribe`. Iteration ends (``StopAsyncIteration``)
    when the subscription is closed (queued events are discarded) or the bus
    stops (queued events are yielded first). It raises
    :class:`SubscriberTooSlow` after the queued events if it overflowed, and the
    predicate's exception if the predicate raised. One consumer at a time.
    """

    def __init__(
        self,
        bus: EventBus,
        topics: frozenset[str],
        predicate: Predicate | None,
        maxsize: int,
    ) -> None:
        self.topics = topics
        self.predicate = predicate
        self.maxsize = maxsize
        #: True once the bus dropped this subscription for falling behind.
        self.overflowed = False
        self._bus: EventBus | None = bus
        # A deque, not an asyncio.Queue: a full Queue has no room for the
        # "ended" sentinel, and the end is signalled exactly when it is full.
        self._queue: deque[Event] = deque()
        self._ended = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def closed(self) -> bool:
        """No more events will be queued (closed, overflowed, failed or bus stopped)."""
        return self._ended

    def qsize(self) -> int:
        """Events queued and not yet consumed; never more than ``maxsize``."""
        return len(self._queue)

    def close(self) -> None:
        """Unsubscribe: discard queued events, end iteration, leave the bus."""
        self._queue.clear()
        self._error = None
        self._end()

    async def aclose(self) -> None:
        """:meth:`close`, under the name async generators use (Strawberry calls it)."""
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            if self._waiter is not None:
                raise RuntimeError("a Subscription has one consumer at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def __repr__(self) -> str:
        state = "overflowed" if self.overflowed else "closed" if self._ended else "open"
        return (
            f"<Subscription topics={sorted(self.topics)} {state} "
            f"queued={len(self._queue)}/{self.maxsize}>"
        )

    # The bus's side.

    def _offer(self, event: Event) -> bool:
        """Queue ``event`` if wanted; False if the bus must drop this subscription."""
        if self._ended:
            return False
        if self.predicate is not None:
            try:
                wanted = self.predicate(event)
            except Exception as exc:
                # A broken predicate is this subscriber's bug: end it, not the fan-out.
                logger.exception("event predicate failed; ending %r", self)
                self._end(exc)
                return False
            if not wanted:
                return True
        if len(self._queue) >= self.maxsize:
            self.overflowed = True
            logger.warning("subscriber too slow, dropping %r", self)
            self._end(
                SubscriberTooSlow(f"more than {self.maxsize} events queued; subscription dropped")
            )
            return False
        self._queue.append(event)
        self._wake()
        return True

    def _end(self, error: BaseException | None = None) -> None:
        """Stop queueing, leave the bus, and let the consumer drain and finish."""
        if not self._ended:
            self._ended = True
            self._error = error
        bus, self._bus = self._bus, None
        if bus is not None:
            bus._remove(self)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class EventBus:
    """Publish events and subscribe to them, through one backend.

    ``start()`` before publishing, ``stop()`` at shutdown (or ``async with bus``);
    a stopped bus does not start again. The backend is the seam: the bus behaves
    the same on every backend, only who else sees the events differs.
    """

    def __init__(self, backend: Backend | None = None, *, maxsize: int = DEFAULT_MAXSIZE) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        if backend is None:
            from .memory import MemoryBackend  # here: memory.py imports this module

            backend = MemoryBackend()
        self.backend = backend
        #: The queue size of subscriptions that do not choose their own.
        self.maxsize = maxsize
        self._state: Literal["new", "running", "stopped"] = "new"
        # topic -> subscriptions; dicts as insertion-ordered sets, so that the
        # fan-out touches only the subscriptions of the event's topic.
        self._by_topic: dict[str, dict[Subscription, None]] = {}
        self._count = 0

    @property
    def running(self) -> bool:
        return self._state == "running"

    @property
    def subscriber_count(self) -> int:
        """Live subscriptions (closed and overflowed ones are gone)."""
        return self._count

    async def start(self) -> None:
        if self._state != "new":
            raise RuntimeError(f"the event bus is already {self._state}")
        await self.backend.start(self._deliver)
        self._state = "running"

    async def stop(self) -> None:
        """Stop the backend and end every subscription (after its queued events)."""
        if self._state == "stopped":
            return
        was_running, self._state = self._state == "running", "stopped"
        try:
            if was_running:
                await self.backend.stop()
        finally:
            for subscriptions in list(self._by_topic.values()):
                for subscription in list(subscriptions):
                    subscription._end()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def subscribe(
        self,
        topics: str | Iterable[str],
        predicate: Predicate | None = None,
        maxsize: int | None = None,
    ) -> Subscription:
        """A subscription to the events of ``topics`` (one name or several) that
        ``predicate`` accepts, published from now on."""
        if self._state == "stopped":
            raise BusNotRunning("the event bus is stopped")
        # A bare string is one topic, not a set of one-letter topics.
        wanted = frozenset((topics,) if isinstance(topics, str) else topics)
        if not wanted:
            raise ValueError("subscribe to at least one topic")
        size = self.maxsize if maxsize is None else maxsize
        if size < 1:
            raise ValueError("maxsize must be at least 1")
        subscription = Subscription(self, wanted, predicate, size)
        for topic in wanted:
            self._by_topic.setdefault(topic, {})[subscription] = None
        self._count += 1
        return subscription

    async def publish(self, topic: str, data: dict[str, Any]) -> Event:
        """Publish; the stored event. Subscribers (here and on other replicas)
        receive it asynchronously: with the memory backend before this returns,
        with PostgreSQL once the notification comes back."""
        if self._state != "running":
            raise BusNotRunning(f"the event bus is {self._state}, not running")
        if not isinstance(topic, str) or not topic:
            raise ValueError("an event's topic is a non-empty string")
        if not isinstance(data, dict):
            raise TypeError(f"an event's data is a dict, not {type(data).__name__}")
        return await self.backend.publish(topic, data)

    def _deliver(self, event: Event) -> None:
        """The local fan-out, called by the backend: never blocks, never raises."""
        if self._state != "running":
            return
        subscriptions = self._by_topic.get(event.topic)
        if not subscriptions:
            return
        # A snapshot: overflowing subscriptions leave the dict during the loop.
        for subscription in tuple(subscriptions):
            subscription._offer(event)

    def _remove(self, subscription: Subscription) -> None:
        """Forget ``subscription`` (called once per subscription, by its ``_end``)."""
        for topic in subscription.topics:
            subscriptions = self._by_topic.get(topic)
            if subscriptions is not None:
                subscriptions.pop(subscription, None)
                if not subscriptions:
                    del self._by_topic[topic]
        self._count -= 1
