"""The outbox: cluster writes become revisions and durable deliveries.

A cluster write runs in one transaction that first takes the next revision
(:func:`next_revision`: one counter row, so on PostgreSQL concurrent cluster
writes queue on it and commit in revision order), then changes the cluster's
config and stores one :class:`~elektra_web.models.Delivery` per member and
step (:func:`enqueue`). After the commit, :func:`settle` has the sender send
them and waits, a bounded while, for the landings, which come through the
event bus from whichever replica sent them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from ..models import (
    Cluster,
    ClusterKey,
    Delivery,
    DeliveryStatus,
    Instance,
    Operation,
    OperationKind,
    Revision,
)
from .events import DeliveriesLanded
from .services import Services
from .topology import ancestors

__all__ = [
    "InstanceResultData",
    "Step",
    "WriteResultData",
    "enqueue",
    "ensure_source",
    "join",
    "next_revision",
    "operation_result",
    "reapply",
    "settle",
    "steps_for",
]

# SQLite allows 32,766 variables per statement; stay well below.
_CHUNK = 500


@dataclass(frozen=True)
class Step:
    """One call that each member receives."""

    kind: OperationKind
    path: str
    value: str | None = None
    meta_key: str | None = None
    previous: str | None = None  # in the cluster's config, for the change event


@dataclass
class InstanceResultData:
    instance: Instance
    delivery: DeliveryStatus
    error: str | None = None


@dataclass
class WriteResultData:
    operation_id: str
    results: list[InstanceResultData]


def steps_for(path: str, value: str | None, meta: dict[str, str]) -> list[Step]:
    """A key as a member receives it: its value, then each metadata entry."""
    steps = [Step(OperationKind.SET, path, value)]
    steps += [Step(OperationKind.META, path, v, k) for k, v in sorted(meta.items())]
    return steps


async def ensure_source() -> str:
    """This database's fence source, made on first use (idempotent)."""
    row = await Revision.get_or_none(id=1)
    if row is None:
        try:
            row = await Revision.create(id=1, source=uuid.uuid4().hex, value=0)
        except IntegrityError:  # another replica made it at the same moment
            row = await Revision.get(id=1)
    return row.source


async def next_revision() -> int:
    """The next revision. Call it first inside the write's transaction: the
    counter row stays locked until the commit, so writes that touch cluster
    config are serialized (no lost update, no race on a new key) and their
    revisions grow in commit order."""
    await Revision.filter(id=1).update(value=F("value") + 1)
    row = await Revision.get(id=1)
    return int(row.value)


async def enqueue(
    operation: Operation, instances: Iterable[Instance], steps: list[Step]
) -> Counter[int]:
    """Store the deliveries of ``steps`` to ``instances`` (inside the write's
    transaction); how many each instance gets. What a member refused earlier
    and these steps replace is SUPERSEDED: it no longer needs anyone."""
    now = dt.datetime.now(dt.UTC)
    ids = [i.id for i in instances]
    rows = [
        Delivery(
            operation_id=operation.id,
            instance_id=instance_id,
            kind=step.kind,
            path=step.path,
            value=step.value,
            meta_key=step.meta_key,
            revision=operation.revision,
            next_attempt_at=now,
        )
        for instance_id in ids
        for step in steps
    ]
    for start in range(0, len(rows), _CHUNK):
        await Delivery.bulk_create(rows[start : start + _CHUNK])
    if ids:
        await _supersede_refused(ids, steps)
    return Counter({instance_id: len(steps) for instance_id in ids})


async def _supersede_refused(instance_ids: list[int], steps: list[Step]) -> None:
    values = sorted({s.path for s in steps if s.kind in (OperationKind.SET, OperationKind.DELETE)})
    deleted = sorted({s.path for s in steps if s.kind is OperationKind.DELETE})
    metas = {(s.path, s.meta_key) for s in steps if s.kind is OperationKind.META}
    for start in range(0, len(instance_ids), _CHUNK):
        failed = Delivery.filter(
            instance_id__in=instance_ids[start : start + _CHUNK], status=DeliveryStatus.FAILED
        )
        if values:
            await failed.filter(kind=OperationKind.SET, path__in=values).update(
                status=DeliveryStatus.SUPERSEDED
            )
        if deleted:
            await failed.filter(path__in=deleted).update(status=DeliveryStatus.SUPERSEDED)
        for path, meta_key in metas:
            await failed.filter(kind=OperationKind.META, path=path, meta_key=meta_key).update(
                status=DeliveryStatus.SUPERSEDED
            )


async def join(services: Services, cluster: Cluster, instances: Sequence[Instance]) -> None:
    """New members (or members whose cluster moved) receive the keys of their
    cluster and its ancestors, as one operation with a revision of its own
    (the values are today's)."""
    if not instances:
        return
    chain = [cluster, *await ancestors(cluster)]
    async with in_transaction():
        revision = await next_revision()
        keys = await ClusterKey.filter(cluster_id__in=[c.id for c in chain]).order_by("path")
        if not keys:
            return
        steps = [s for key in keys for s in steps_for(key.path, key.value, key.meta)]
        operation = await Operation.create(
            kind=OperationKind.SET, path="/", cluster=cluster, revision=revision
        )
        await enqueue(operation, list(instances), steps)
    for instance in instances:
        services.kick(instance.id)


async def reapply(
    services: Services, instance: Instance, owner: Cluster, path: str
) -> Operation | None:
    """Send the cluster's current value of ``path`` to ``instance`` again, as
    a new operation (a newer revision); None if the cluster no longer sets it."""
    async with in_transaction():
        revision = await next_revision()
        key = await ClusterKey.get_or_none(cluster_id=owner.id, path=path)
        if key is None:
            return None
        operation = await Operation.create(
            kind=OperationKind.SET, path=path, cluster=owner, revision=revision
        )
        await enqueue(operation, [instance], [Step(OperationKind.SET, path, key.value)])
    services.kick(instance.id)
    return operation


def waiting_reason(reason: str) -> str:
    """What a PENDING delivery to a member that does not answer says."""
    return f"unreachable: {reason}; sent when it answers again"


async def note_unreachable(services: Services, instance_id: int, reason: str) -> None:
    """A call to the instance failed: open its circuit and, when the reason
    is new (its name resolves elsewhere now, say), have its PENDING
    deliveries say so, rather than an old reason (the sender does not try
    them while the health checks keep failing)."""
    before = services.breakers.reason(instance_id)
    services.breakers.failed(instance_id, reason)
    if reason != before:
        await Delivery.filter(instance_id=instance_id, status=DeliveryStatus.PENDING).update(
            last_error=waiting_reason(reason)
        )


async def settle(services: Services, operation: Operation, counts: Counter[int]) -> WriteResultData:
    """Have the operation's deliveries sent now and wait up to ``write_wait``
    for each member's to land (or to fail to reach it); what has not landed
    by then is PENDING, and goes on in the background. A member whose last
    call failed (its circuit is open or half-open) is not waited for at all."""
    wanted = str(operation.id)
    breakers = services.breakers
    # A member whose last call failed is not waited for (a half-open circuit
    # too: the sender's attempt or a health check is the probe, not a write).
    waiting = {i: n for i, n in counts.items() if not breakers.is_tripped(i)}
    skipped: dict[str, list[int]] = {}
    for instance_id in counts.keys() - waiting.keys():
        skipped.setdefault(breakers.reason(instance_id) or "", []).append(instance_id)
    for reason, ids in skipped.items():
        # Not tried now (it just failed to answer): say why it waits.
        for start in range(0, len(ids), _CHUNK):
            await Delivery.filter(
                operation_id=operation.id, instance_id__in=ids[start : start + _CHUNK]
            ).update(last_error=waiting_reason(reason))
    if not waiting:
        services.kick(*counts)
        return await operation_result(operation)
    # Subscribed before the kick: no landing can slip through in between.
    async with services.bus.subscribe(
        {DeliveriesLanded.TOPIC}, lambda event: wanted in event.data["operationIds"]
    ) as landed:
        services.kick(*counts)
        # A replica that begins to stop answers at once with what has landed:
        # the rest is PENDING and goes on (another replica sends it).
        stopping = asyncio.create_task(services.stopping.wait())
        try:
            async with asyncio.timeout(services.settings.write_wait) as deadline:

                def cut_short(done: asyncio.Task[bool]) -> None:
                    if not done.cancelled():
                        with contextlib.suppress(RuntimeError):  # the wait is over
                            deadline.reschedule(0)

                stopping.add_done_callback(cut_short)
                async for event in landed:
                    for landing in DeliveriesLanded.from_data(event.data).landings:
                        left = waiting.get(landing.instance_id)
                        if landing.operation_id != wanted or left is None:
                            continue
                        if landing.status is DeliveryStatus.PENDING or left <= 1:
                            # Tried and waiting for the member, or all landed.
                            del waiting[landing.instance_id]
                        else:
                            waiting[landing.instance_id] = left - 1
                    if not waiting:
                        break
        except TimeoutError:
            pass
        finally:
            stopping.cancel()
    return await operation_result(operation)


#: How one member's deliveries of an operation add up: the first that applies.
_PRECEDENCE = (
    DeliveryStatus.FAILED,
    DeliveryStatus.PENDING,
    DeliveryStatus.SUPERSEDED,
    DeliveryStatus.APPLIED,
)


async def operation_result(operation: Operation) -> WriteResultData:
    """One result per instance: FAILED if a delivery was refused, PENDING if
    one has not landed, SUPERSEDED if a newer write replaced one, else
    APPLIED; the error is the first refusal's, or the last attempt's."""
    rows = await (
        Delivery.filter(operation_id=operation.id)
        .order_by("id")
        .values_list("instance_id", "status", "last_error")
    )
    by_instance: dict[int, list[tuple[DeliveryStatus, str | None]]] = {}
    for instance_id, status, error in rows:
        by_instance.setdefault(int(instance_id), []).append((DeliveryStatus(status), error))
    instances = {i.id: i for i in await Instance.filter(id__in=list(by_instance))}
    results = []
    for instance_id, states in by_instance.items():
        if instance_id not in instances:
            continue  # removed meanwhile
        found = {status for status, _ in states}
        status = next(s for s in _PRECEDENCE if s in found)
        error = next((e for s, e in states if s is status and e), None)
        if status is DeliveryStatus.APPLIED or status is DeliveryStatus.SUPERSEDED:
            error = None
        results.append(InstanceResultData(instances[instance_id], status, error))
    results.sort(key=lambda r: r.instance.name)
    return WriteResultData(str(operation.id), results)
