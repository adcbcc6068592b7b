"""Drift: a member's copy of a cluster key, changed outside clusterd.

Drift is a difference *with nothing in flight*: while a delivery of the key
to the member is pending, the member's value says nothing yet (the delivery
will settle it), so no drift is recorded. A landing re-checks it: an applied
delivery of the key clears the member's drift row (:func:`settled`).

Drift is recorded (``Drift`` rows, shown on instances and clusters),
announced on the bus, and, if the owning cluster's policy is REPAIR, put back
at once (:func:`~.outbox.reapply`). Otherwise a person resolves it (see
``resolvers/drift.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from tortoise.expressions import Q

from ..connector.exceptions import ConnectorError
from ..models import ClusterKey, Delivery, DeliveryStatus, Drift, DriftPolicy, Instance
from . import outbox
from .events import DriftChanged, publish
from .services import Services
from .topology import chain_ids, locks_of

__all__ = ["in_flight", "observe", "reconcile", "settled", "settled_by_landings"]


async def in_flight(
    instance_id: int, path: str, read_since: dt.datetime | None = None, margin: float = 0.0
) -> bool:
    """Whether a delivery of ``path`` to the instance is pending (or, with
    ``read_since``, landed after a read that started then, or less than
    ``margin`` seconds before: the clocks of replicas may differ that much)."""
    query = Q(status=DeliveryStatus.PENDING)
    if read_since is not None:
        query |= Q(applied_at__gte=read_since - dt.timedelta(seconds=margin))
    return await Delivery.filter(query, instance_id=instance_id, path=path).exists()


async def observe(
    services: Services,
    instance: Instance,
    path: str,
    value: str | None,
    *,
    deleted: bool,
    read_since: dt.datetime | None = None,
) -> None:
    """``instance`` holds ``value`` (or nothing) at ``path``, changed outside
    clusterd (seen in its change feed, or read at ``read_since``): is that drift?"""
    owner = (await locks_of(instance)).get(path)
    if owner is None:
        return
    key = await ClusterKey.get_or_none(cluster_id=owner.id, path=path)
    if key is None:
        return
    if await in_flight(instance.id, path, read_since, services.settings.read_margin):
        return  # the delivery decides what the member holds
    if not deleted and value == key.value:
        await settled(services, [(instance.id, path)])
        return
    actual = None if deleted else value
    drift = await Drift.get_or_none(instance_id=instance.id, path=path)
    if drift is not None and (drift.expected, drift.actual) == (key.value, actual):
        return  # known already
    drift, _ = await Drift.update_or_create(
        {"cluster_id": owner.id, "expected": key.value, "actual": actual},
        instance_id=instance.id,
        path=path,
    )
    await publish(services, await _event(drift, resolved=False))
    if owner.drift_policy is DriftPolicy.REPAIR:
        await outbox.reapply(services, instance, owner, path)


async def settled(services: Services, pairs: Iterable[tuple[int, str]]) -> None:
    """These (instance, path) agree with their cluster again, or left it: no
    more drift there. One query when there is none (the common case)."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    await settled_by_landings(services, [(i, p, far) for i, p in pairs])


async def settled_by_landings(
    services: Services, landed: Iterable[tuple[int, str, dt.datetime]]
) -> None:
    """Deliveries of these (instance, path) were applied at these times: the
    drift recorded there before is gone (drift seen after a landing is a
    change made after it, and stays)."""
    wanted = {(i, p): at for i, p, at in landed}
    if not wanted:
        return
    instance_ids = sorted({i for i, _ in wanted})
    paths = sorted({p for _, p in wanted})
    rows = await Drift.filter(instance_id__in=instance_ids, path__in=paths)
    gone = [
        d
        for d in rows
        if (d.instance_id, d.path) in wanted and d.detected_at <= wanted[d.instance_id, d.path]
    ]
    if not gone:
        return
    await Drift.filter(id__in=[d.id for d in gone]).delete()
    await publish(services, *[await _event(d, resolved=True) for d in gone])


async def reconcile(services: Services, instance: Instance) -> None:
    """Compare every locked key of ``instance`` with its cluster's value: for
    when changes may have been missed (the feed was reset)."""
    locks = await locks_of(instance)
    client = services.client(instance)
    for path in locks:
        started = dt.datetime.now(dt.UTC)
        try:
            node = await client.get(path)
        except ConnectorError:
            return  # unreachable: the next reset or change tells
        await observe(
            services,
            instance,
            path,
            node.get("value"),
            deleted=not node.get("exists"),
            read_since=started,
        )


async def _event(drift: Drift, *, resolved: bool) -> DriftChanged:
    return DriftChanged(
        instance_id=drift.instance_id,
        cluster_id=drift.cluster_id,
        cluster_ids=tuple(await chain_ids(drift.cluster_id)),
        path=drift.path,
        expected=drift.expected,
        actual=drift.actual,
        resolved=resolved,
    )
