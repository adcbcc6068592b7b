"""Drift: a member's copy of a cluster key changed outside clusterd.

It is recorded (``Drift`` rows, shown on instances and clusters), announced
on the bus, and, if the owning cluster's policy is REPAIR, put back at once.
Otherwise a person resolves it: re-apply the cluster's value to the member,
or adopt the member's value into the cluster (a cluster write to all members).
A drift row goes away when the member's value agrees with the cluster again.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from tortoise.transactions import in_transaction

from ..connector.exceptions import ConnectorError
from ..exceptions import NotFound
from ..models import (
    Cluster,
    ClusterKey,
    Delivery,
    Drift,
    DriftPolicy,
    Instance,
    Operation,
    OperationKind,
)
from . import notify
from .auth import Caller, Role
from .instances import get_instance
from .locks import locks_of
from .services import Services
from .writes import Change, Target, WriteResultData, deliver, write

__all__ = ["DriftAction", "observe", "reconcile", "resolve", "resolve_drift"]


class DriftAction(StrEnum):
    REAPPLY = "REAPPLY"  # put the cluster's value back on the member
    ADOPT = "ADOPT"  # make the member's value the cluster's (for every member)


async def observe(
    services: Services, instance: Instance, path: str, value: str | None, *, deleted: bool
) -> None:
    """A key of ``instance`` changed outside clusterd: is that drift?"""
    owner = (await locks_of(instance)).get(path)
    if owner is None:
        return
    key = await ClusterKey.get_or_none(cluster_id=owner.id, path=path)
    if key is None:
        return
    if not deleted and value == key.value:
        await resolve(services, instance.id, path)
        return
    drift, _ = await Drift.update_or_create(
        {"cluster_id": owner.id, "expected": key.value, "actual": None if deleted else value},
        instance_id=instance.id,
        path=path,
    )
    await notify.drift_changed(services, drift, "detected")
    if owner.drift_policy is DriftPolicy.REPAIR:
        await _reapply(services, instance, owner, key)


async def resolve(services: Services, instance_id: int, path: str) -> None:
    """The member agrees with the cluster again (or left it): no more drift."""
    for drift in await Drift.filter(instance_id=instance_id, path=path):
        await drift.delete()
        await notify.drift_changed(services, drift, "resolved")


async def reconcile(services: Services, instance: Instance) -> None:
    """Compare every locked key of ``instance`` with its cluster's value: for
    when changes may have been missed (the feed was reset)."""
    locks = await locks_of(instance)
    client = services.client(instance)
    for path, owner in locks.items():
        key = await ClusterKey.get_or_none(cluster_id=owner.id, path=path)
        if key is None:
            continue
        try:
            node = await client.get(path)
        except ConnectorError:
            return  # unreachable: the next reset or change tells
        await observe(services, instance, path, node.get("value"), deleted=not node.get("exists"))


async def resolve_drift(
    services: Services, caller: Caller, instance_id: str, path: str, action: DriftAction
) -> WriteResultData:
    """A person's decision on one drifted key."""
    caller.require(Role.EDITOR)
    instance = await get_instance(caller, instance_id)
    drift = await Drift.get_or_none(instance_id=instance.id, path=path)
    if drift is None:
        raise NotFound(f"{instance.name} has no drift at {path}")
    owner = await Cluster.get(id=drift.cluster_id)
    if action is DriftAction.ADOPT:
        if drift.actual is None:
            change = Change(OperationKind.DELETE, path)
        else:
            change = Change(OperationKind.SET, path, drift.actual)
        return await write(services, caller, Target(cluster_id=str(owner.id)), change)
    key = await ClusterKey.get(cluster_id=owner.id, path=path)
    return await deliver(services, await _reapply(services, instance, owner, key))


async def _reapply(
    services: Services, instance: Instance, owner: Cluster, key: ClusterKey
) -> Operation:
    async with in_transaction():
        operation = await Operation.create(kind=OperationKind.SET, path=key.path, cluster=owner)
        await Delivery.create(
            operation=operation,
            instance=instance,
            kind=OperationKind.SET,
            path=key.path,
            value=key.value,
            next_attempt_at=dt.datetime.now(dt.UTC),
        )
    services.delivery.kick(instance.id)
    return operation
