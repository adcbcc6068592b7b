"""The subscriptions' logic: async generators over the event bus, callable
without GraphQL. Each subscribes before it reads the current state, so that
nothing that happens in between is missed."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable

from ..engine.events import (
    ConfigChanged,
    DeliveriesLanded,
    DriftChanged,
    FleetChange,
    FleetChanged,
    StatusChanged,
)
from ..engine.outbox import InstanceResultData, operation_result
from ..engine.services import Services
from ..events import Event
from ..events import SubscriberTooSlow as BusSubscriberTooSlow
from ..exceptions import NotFound, SubscriberTooSlow
from ..keynames import InvalidKeyName, KeyName
from ..models import DeliveryStatus, Instance, Operation
from .auth import Caller, Role
from .clusters import get_cluster
from .instances import get_instance
from .names import parse_key

__all__ = [
    "config_changes",
    "drift_changes",
    "fleet_changes",
    "operation_progress",
    "recent_instance",
    "status_changes",
]

_RECENT_SECONDS = 1.0


async def config_changes(
    services: Services,
    caller: Caller,
    instance_id: str | None = None,
    cluster_id: str | None = None,
    path_prefix: str | None = None,
) -> AsyncIterator[ConfigChanged]:
    """Every changed key, filtered in any combination."""
    caller.require(Role.VIEWER)
    instance = (await get_instance(caller, instance_id)).id if instance_id is not None else None
    cluster = (await get_cluster(caller, cluster_id)).id if cluster_id is not None else None
    prefix = parse_key(path_prefix) if path_prefix else None

    def wanted(event: Event) -> bool:
        data = event.data
        if instance is not None and data["instanceId"] != instance:
            return False
        if cluster is not None and cluster not in data["clusterIds"]:
            return False
        return prefix is None or _below(data["path"], prefix)

    async with _subscribed(services, {ConfigChanged.TOPIC}, wanted) as events:
        async for event in events:
            yield ConfigChanged.from_data(event.data)


async def status_changes(
    services: Services, caller: Caller, instance_id: str | None = None
) -> AsyncIterator[Instance]:
    caller.require(Role.VIEWER)
    only = (await get_instance(caller, instance_id)).id if instance_id is not None else None

    def wanted(event: Event) -> bool:
        return only is None or event.data["instanceId"] == only

    async with _subscribed(services, {StatusChanged.TOPIC}, wanted) as events:
        async for event in events:
            changed = StatusChanged.from_data(event.data)
            instance = await Instance.get_or_none(id=changed.instance_id)
            if instance is not None:
                yield instance


async def operation_progress(
    services: Services, caller: Caller, operation_id: str
) -> AsyncIterator[InstanceResultData]:
    """The per-instance results known so far, then each change as deliveries
    land; ends when no instance is PENDING."""
    caller.require(Role.VIEWER)
    try:
        operation = await Operation.get_or_none(id=uuid.UUID(str(operation_id)))
    except ValueError:
        operation = None
    if operation is None:
        raise NotFound(f"no operation with id {operation_id}")

    def wanted(event: Event) -> bool:
        return str(operation.id) in event.data["operationIds"]

    async with _subscribed(services, {DeliveriesLanded.TOPIC}, wanted) as events:
        current = await operation_result(operation)
        sent = {r.instance.id: (r.delivery, r.error) for r in current.results}
        for result in current.results:
            yield result
        if current.results and not _pending(sent.values()):
            return
        if not current.results and operation.instance_id is not None:
            # A direct write to one instance: it was applied when it returned.
            instance = await Instance.get_or_none(id=operation.instance_id)
            if instance is not None:
                yield InstanceResultData(instance, DeliveryStatus.APPLIED)
            return
        async for _landed in events:
            latest = await operation_result(operation)
            for result in latest.results:
                if (result.delivery, result.error) != sent.get(result.instance.id):
                    sent[result.instance.id] = (result.delivery, result.error)
                    yield result
            if not _pending(sent.values()):
                return


async def drift_changes(
    services: Services,
    caller: Caller,
    instance_id: str | None = None,
    cluster_id: str | None = None,
) -> AsyncIterator[DriftChanged]:
    caller.require(Role.VIEWER)
    instance = (await get_instance(caller, instance_id)).id if instance_id is not None else None
    cluster = (await get_cluster(caller, cluster_id)).id if cluster_id is not None else None

    def wanted(event: Event) -> bool:
        data = event.data
        if instance is not None and data["instanceId"] != instance:
            return False
        return cluster is None or cluster in data["clusterIds"]

    async with _subscribed(services, {DriftChanged.TOPIC}, wanted) as events:
        async for event in events:
            yield DriftChanged.from_data(event.data)


async def fleet_changes(services: Services, caller: Caller) -> AsyncIterator[FleetChanged]:
    """Every change to the fleet, each with what changed: instances added,
    changed, assigned, unassigned, removed, their status; clusters added,
    changed, removed; and which instances' deliveries not applied changed.

    Only a status change reads the instance (once for all subscribers, see
    :func:`recent_instance`); the rest is in the events themselves."""
    caller.require(Role.VIEWER)
    topics = {FleetChanged.TOPIC, StatusChanged.TOPIC, DeliveriesLanded.TOPIC, ConfigChanged.TOPIC}

    def wanted(event: Event) -> bool:
        if event.topic == ConfigChanged.TOPIC:
            # A cluster write: its members get deliveries. An instance's own
            # key changes nothing in the fleet.
            return event.data["instanceId"] is None and event.data["clusterId"] is not None
        return True

    async with _subscribed(services, topics, wanted) as events:
        async for event in events:
            if event.topic == FleetChanged.TOPIC:
                yield FleetChanged.from_data(event.data)
            elif event.topic == StatusChanged.TOPIC:
                changed = StatusChanged.from_data(event.data)
                instance = await recent_instance(services, changed.instance_id)
                if instance is not None:
                    fleet = FleetChanged.of_instance(FleetChange.INSTANCE_STATUS, instance)
                    # The row read may be older than the change (up to a second).
                    assert fleet.fields is not None
                    fleet.fields["status"] = changed.status.value
                    yield fleet
            elif event.topic == DeliveriesLanded.TOPIC:
                landed = DeliveriesLanded.from_data(event.data)
                ids = tuple(sorted({landing.instance_id for landing in landed.landings}))
                yield FleetChanged(FleetChange.DELIVERIES, instance_ids=ids)
            else:
                yield FleetChanged(FleetChange.DELIVERIES, cluster_id=event.data["clusterId"])


@contextlib.asynccontextmanager
async def _subscribed(
    services: Services, topics: set[str], wanted: Callable[[Event], bool]
) -> AsyncIterator[AsyncIterator[Event]]:
    """Subscribed to the bus on entry (events from then on are kept); the
    events, where a subscription that fell too far behind ends with the API's
    error. Counted for the metrics, when they are on."""
    metrics = services.metrics
    async with services.bus.subscribe(topics, wanted) as subscription:

        async def events() -> AsyncIterator[Event]:
            try:
                async for event in subscription:
                    if metrics is not None:
                        metrics.subscription_events.inc()
                    yield event
            except BusSubscriberTooSlow as exc:
                if metrics is not None:
                    metrics.subscriptions_dropped.inc()
                raise SubscriberTooSlow(
                    f"this subscription fell more than {subscription.maxsize} events "
                    "behind and was ended; subscribe again, and read faster"
                ) from exc

        if metrics is None:
            yield events()
        else:
            with metrics.subscriptions.track_inprogress():
                yield events()


async def recent_instance(services: Services, instance_id: int) -> Instance | None:
    """The instance of an event, read once for all its subscribers: a thousand
    subscribers asking for ``instance { name }`` cost one query, not a
    thousand (the first one's, which the others await). At most a second old."""
    recent = services.recent_instances
    now = time.monotonic()
    cached = recent.get(instance_id)
    if cached is None or now - cached[0] >= _RECENT_SECONDS:
        if len(recent) > 10_000:
            recent.clear()
        task = asyncio.ensure_future(Instance.get_or_none(id=instance_id))
        cached = recent[instance_id] = (now, task)
    return await asyncio.shield(cached[1])


def _pending(states: Iterable[tuple[DeliveryStatus, str | None]]) -> bool:
    return any(status is DeliveryStatus.PENDING for status, _ in states)


def _below(path: str, prefix: KeyName) -> bool:
    name = _parsed(path)
    if name is None:
        return False
    if prefix.is_cascading:  # a cascading prefix matches in every namespace
        return name.parts[: len(prefix.parts)] == prefix.parts
    return name.is_below_or_same(prefix)


@functools.lru_cache(maxsize=4096)
def _parsed(path: str) -> KeyName | None:
    # Every subscriber filters the same event: parse each path once.
    try:
        return KeyName.parse(path)
    except InvalidKeyName:
        return None
