"""Multiplexed subscriptions: one execution per event for every websocket
subscriber that asked the same thing.

Ten thousand dashboards usually ask for the same few documents. Without this,
every event ran through GraphQL execution and JSON encoding once per
subscriber. Here the subscribers of a websocket (graphql-transport-ws) whose
subscription has the same document, operation name, variables and role share
one :class:`_Group`: the group runs the subscription once (its own bus
subscription, its own context), encodes each result once, and hands the same
text (a :class:`Payload`) to each :class:`Listener`. A listener whose socket
takes it at once (its :class:`Direct`: open, not paused by backpressure,
nothing of it queued) has it written there by the group, as a frame built
once per event (``transport_ws``); otherwise the subscriber's operation task
sends ``{"type": "next", "payload": TEXT, "id": ID}`` on its own socket. The
group yields to the event loop every ``BATCH`` listeners.

What stays per subscriber:

- authorization: the role is part of the key, so a viewer never shares an
  execution with an editor; a revoked token's sockets are closed by
  ``Sessions`` as before, which ends their listeners;
- pace: every listener has its own bounded queue, and its own task sends
  from it whenever the socket does not take an event at once (and, so that
  its events stay in order, as long as anything is queued or being sent).
  A socket that does not drain fills only its queue; once that holds
  ``limit`` results, that subscriber alone is ended with SUBSCRIBER_TOO_SLOW
  (after what was queued), and the group never waits for anyone.

Only root fields that are pure streams of events from the moment of
subscribing are multiplexed (:data:`MULTIPLEXED`). ``operationProgress``
starts with a snapshot of its own and runs per subscriber, as does anything
that is not a single plain subscription field (fragments at the root, a
document that does not parse: strawberry answers those as before).

A group starts with its first subscriber and stops, with its bus
subscription, when its last one leaves. When its source ends (an error such as
NOT_FOUND, or the end of the stream), every listener ends the same way.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.error import GraphQLSyntaxError
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from ..exceptions import SubscriberTooSlow
from ..resolvers.auth import Role

if TYPE_CHECKING:
    from strawberry.schema import BaseSchema

    from ..engine.metrics import Metrics
    from ..schema.context import Context

__all__ = ["MULTIPLEXED", "Direct", "Key", "Listener", "Multiplexer", "Payload", "key_for"]

log = logging.getLogger("elektra_web.clusterd.multiplex")

#: Subscription root fields whose events do not depend on when one subscribed
#: (beyond "from now on"): a late subscriber may join a running execution.
MULTIPLEXED: Final = frozenset(
    {"configChanged", "instanceStatusChanged", "driftChanged", "fleetChanged"}
)


@dataclass(frozen=True, slots=True)
class Key:
    """What subscribers must share to share an execution."""

    query: str
    operation_name: str | None
    #: The variables as canonical JSON (sorted keys), so equal values match.
    variables: str
    role: Role


def key_for(
    query: object, variables: object, operation_name: object, role: Role | None
) -> Key | None:
    """The group key of a subscribe message, or None when it is not to be
    multiplexed (not a single multiplexed subscription field, not signed in,
    or odd input that strawberry will refuse in its own words)."""
    if role is None or not isinstance(query, str):
        return None
    if operation_name is not None and not isinstance(operation_name, str):
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    if not _multiplexed(query, operation_name):
        return None
    try:
        canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return Key(query, operation_name, canonical, role)


@functools.lru_cache(maxsize=512)
def _multiplexed(query: str, operation_name: str | None) -> bool:
    # Thousands of subscribers send the same few documents: parse each once.
    try:
        document = parse(query, no_location=True)
    except GraphQLSyntaxError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            return False
        (operation,) = operations
    else:
        named = [o for o in operations if o.name is not None and o.name.value == operation_name]
        if len(named) != 1:
            return False
        (operation,) = named
    if operation.operation is not OperationType.SUBSCRIPTION:
        return False
    selections = operation.selection_set.selections
    return (
        len(selections) == 1
        and isinstance(selections[0], FieldNode)
        and selections[0].name.value in MULTIPLEXED
    )


class _End:
    """The group's source ended; ``errors`` when it could not start."""

    __slots__ = ("error",)

    def __init__(self, error: PreExecutionError | None = None) -> None:
        self.error = error


class Payload:
    """One event's ``next`` payload, encoded once for the whole group;
    ``body`` and ``frames`` are where the websocket transport keeps what it
    built of it once for every socket (see ``transport_ws``)."""

    __slots__ = ("body", "frames", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.body: bytes | None = None
        self.frames: dict[int, bytes] = {}


class Direct(Protocol):
    """A subscriber's socket that takes an event at once, when it can."""

    def deliver(self, payload: Payload) -> bool:
        """Whether ``payload`` was written (else it is queued for the
        subscriber's own task)."""
        ...


#: What a listener yields: the encoded payload of a ``next`` message, or the end.
Item = Payload | _End


class Listener:
    """One subscriber's place in a group: a bounded queue of encoded
    results, read by that subscriber's own task.

    A subscriber that keeps up is waiting when an event comes: the event is
    written to its socket at once when it has a ``direct`` way there that
    takes it (no task woken), or handed straight to its waiting task; no
    queue is ever allocated (ten thousand idle subscribers hold no buffers).
    Once something is queued or being sent, later events queue behind it, so
    a subscriber gets its events in order either way."""

    __slots__ = ("_direct", "_items", "_limit", "_waiter", "dropped")

    def __init__(self, limit: int, direct: Direct | None = None) -> None:
        self._items: deque[Item] | None = None
        self._limit = limit
        self._waiter: asyncio.Future[Item] | None = None
        self._direct = direct
        #: Set when the queue was full: the subscriber is ended after it.
        self.dropped = False

    def push(self, item: Item) -> bool | None:
        """Write, hand over or queue ``item``: None when written directly,
        True when handed to the subscriber's task or queued, False (and the
        listener dropped) when it already holds ``limit`` results: the
        subscriber does not keep up."""
        if self.dropped:
            return False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            # Nothing queued, nothing being sent: it waits only when empty.
            direct = self._direct
            if direct is not None and isinstance(item, Payload) and direct.deliver(item):
                return None
            waiter.set_result(item)
            return True
        items = self._items
        if items is None:
            items = self._items = deque()
        if isinstance(item, Payload) and len(items) >= self._limit:
            self.dropped = True
            items.append(_TOO_SLOW)
            return False
        items.append(item)
        return True

    async def next(self) -> Item:
        """The next item, waiting for one."""
        if self._items:
            item = self._items.popleft()
            if not self._items:
                self._items = None
            return item
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            return await self._waiter
        finally:
            self._waiter = None

    @property
    def limit(self) -> int:
        return self._limit


_TOO_SLOW: Final = _End()


#: Listeners served per turn of the event loop while an event is published:
#: other work (requests, other groups) runs in between.
BATCH: Final = 500


class _Group:
    __slots__ = ("key", "listeners", "metrics", "task")

    def __init__(self, key: Key) -> None:
        self.key = key
        self.listeners: set[Listener] = set()
        self.task: asyncio.Task[None] | None = None
        #: Where the events written directly are counted (its listeners').
        self.metrics: Metrics | None = None

    async def publish(self, payload: Payload) -> int:
        """Give ``payload`` to every listener (yielding to the event loop
        every ``BATCH``); how many were written to directly."""
        direct = 0
        for n, listener in enumerate(tuple(self.listeners), 1):
            taken = listener.push(payload)
            if taken is None:
                direct += 1
            elif not taken:
                self.listeners.discard(listener)
            if n % BATCH == 0:
                await asyncio.sleep(0)
        return direct

    def end(self, item: _End) -> None:
        for listener in tuple(self.listeners):
            listener.push(item)
        self.listeners.clear()


class Multiplexer:
    """The groups of one GraphQL endpoint (app lifetime).

    ``make_context`` gives the context a group executes in, for a role;
    ``encode`` turns a ``next`` payload into the text sent (the endpoint's
    JSON encoder); ``limit`` is each subscriber's queue bound
    (``Settings.subscriber_queue``).
    """

    def __init__(
        self,
        schema: BaseSchema,
        make_context: Callable[[Role], Context],
        encode: Callable[[object], str | bytes],
        limit: int,
        metrics: Callable[[], Metrics | None] = lambda: None,
    ) -> None:
        self._schema = schema
        self._make_context = make_context
        self._encode = encode
        self._limit = limit
        self._metrics = metrics
        self._groups: dict[Key, _Group] = {}

    @property
    def groups(self) -> int:
        """Executions running (one per distinct key)."""
        return len(self._groups)

    @property
    def listeners(self) -> int:
        """Subscribers served by them."""
        return sum(len(g.listeners) for g in self._groups.values())

    def join(
        self, key: Key, direct: Direct | None = None, metrics: Metrics | None = None
    ) -> Listener:
        """A new listener of the group for ``key``, started if there is none;
        ``direct``: its socket's way to take events at once; ``metrics``: where
        the events written directly are counted."""
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(key)
            group.task = asyncio.create_task(self._run(group), name=f"multiplex {key.role.name}")
        listener = Listener(self._limit, direct)
        group.listeners.add(listener)
        if metrics is not None:
            group.metrics = metrics
        return listener

    def leave(self, key: Key, listener: Listener) -> None:
        """The subscriber is gone; the last one out stops the group."""
        group = self._groups.get(key)
        if group is None:
            return
        group.listeners.discard(listener)
        if not group.listeners:
            del self._groups[key]
            if group.task is not None:
                group.task.cancel()

    async def _run(self, group: _Group) -> None:
        key = group.key
        end = _End()
        try:
            source = await self._schema.stream(
                key.query,
                variable_values=json.loads(key.variables),
                context_value=self._make_context(key.role),
                operation_name=key.operation_name,
            )
            async with aclosing(source):
                first = True
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        end = _End(result)
                        return
                    first = False
                    if not isinstance(result, ExecutionResult):  # @defer/@stream frames
                        end = _End(_incremental())
                        return
                    direct = await group.publish(self._payload(result))
                    metrics = group.metrics or self._metrics()
                    if direct and metrics is not None:
                        # The ones handed to their tasks count there (transport_ws).
                        metrics.subscription_events.inc(direct)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a multiplexed subscription failed")
        finally:
            if self._groups.get(key) is group:
                del self._groups[key]
            group.end(end)

    def _payload(self, result: ExecutionResult) -> Payload:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        encoded = self._encode(payload)
        return Payload(encoded.decode() if isinstance(encoded, bytes) else encoded)


def too_slow_payload(listener: Listener, encode: Callable[[object], str | bytes]) -> str:
    """The ``next`` payload that ends a dropped subscriber, as an unshared
    subscription's would be ended (see ``resolvers/live.py``)."""
    error = SubscriberTooSlow(
        f"this subscription fell more than {listener.limit} events behind and was ended; "
        "subscribe again, and read faster"
    )
    formatted = GraphQLError(error.message, extensions=error.extensions).formatted
    encoded = encode({"data": None, "errors": [formatted]})
    return encoded.decode() if isinstance(encoded, bytes) else encoded


def is_too_slow(item: Item) -> bool:
    return item is _TOO_SLOW


def _incremental() -> PreExecutionError:
    return PreExecutionError(
        data=None,
        errors=[GraphQLError("Incremental delivery is not supported over graphql-transport-ws")],
    )
