"""Writes: to one instance (straight to its elektrad, after the lock check) or
to a cluster (stored with one delivery per member in one transaction, then
delivered concurrently; rule 4)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from ..connector.exceptions import ConnectorError, InstanceRefused
from ..exceptions import (
    BadInput,
    InstanceUnreachable,
    InvalidKeyName,
    NotFound,
    ValidationFailed,
)
from ..keynames import KeyName
from ..models import (
    Cluster,
    ClusterKey,
    Delivery,
    DeliveryStatus,
    Instance,
    Operation,
    OperationKind,
)
from . import notify
from .auth import Caller, Role
from .instances import get_instance
from .locks import ancestors, check_cluster_write, check_instance_write, descendants
from .names import MAX_NAME, parse_writable_key
from .services import Services

__all__ = [
    "Change",
    "InstanceResultData",
    "Target",
    "WriteResultData",
    "deliver",
    "deliver_join",
    "operation_result",
    "write",
]


@dataclass(frozen=True)
class Target:
    """Where a write goes: exactly one of the two."""

    instance_id: str | None = None
    cluster_id: str | None = None


@dataclass(frozen=True)
class Change:
    """One write, as the API takes it (paths in either spelling)."""

    kind: OperationKind
    path: str
    value: str | None = None
    target: str | None = None  # MOVE/COPY destination
    meta_key: str | None = None  # META: the entry; value None removes it


@dataclass
class InstanceResultData:
    instance: Instance
    delivery: DeliveryStatus
    error: str | None = None


@dataclass
class WriteResultData:
    operation_id: str
    results: list[InstanceResultData]


@dataclass(frozen=True)
class _Step:
    """One call that each member receives."""

    kind: OperationKind
    path: str
    value: str | None = None
    meta_key: str | None = None
    previous: str | None = None  # in the cluster's config, for the change event


async def write(
    services: Services, caller: Caller, target: Target, change: Change
) -> WriteResultData:
    caller.require(Role.EDITOR)
    if (target.instance_id is None) == (target.cluster_id is None):
        raise BadInput("a write needs exactly one target: instanceId or clusterId")
    path = parse_writable_key(change.path)
    to = parse_writable_key(change.target) if change.target is not None else None
    if change.kind is OperationKind.META and not change.meta_key:
        raise BadInput("a metadata write needs the metadata name")
    if change.meta_key is not None and len(change.meta_key) > MAX_NAME:
        raise BadInput(f"a metadata name may have at most {MAX_NAME} characters")
    if target.instance_id is not None:
        return await _write_instance(services, caller, target.instance_id, change, path, to)
    assert target.cluster_id is not None
    return await _write_cluster(services, caller, target.cluster_id, change, path, to)


# -- one instance -------------------------------------------------------------


async def _write_instance(
    services: Services,
    caller: Caller,
    instance_id: str,
    change: Change,
    path: KeyName,
    to: KeyName | None,
) -> WriteResultData:
    instance = await get_instance(caller, instance_id)
    await check_instance_write(instance, change.kind, path, to)
    operation = await Operation.create(kind=change.kind, path=str(path), instance=instance)
    client = services.client(instance, operation=str(operation.id))
    try:
        match change.kind:
            case OperationKind.SET:
                await client.set(str(path), change.value or "")
            case OperationKind.DELETE:
                await client.delete(str(path))
            case OperationKind.MOVE:
                await client.move(str(path), str(to))
            case OperationKind.COPY:
                await client.copy(str(path), str(to))
            case OperationKind.META if change.value is None:
                await client.delete_meta(str(path), change.meta_key or "")
            case OperationKind.META:
                await client.set_meta(str(path), change.meta_key or "", change.value)
    except InstanceRefused as exc:
        await operation.delete()
        raise refusal(instance, exc) from exc
    except ConnectorError as exc:
        await operation.delete()
        raise InstanceUnreachable(f"{instance.name} is unreachable: {exc}") from exc
    return WriteResultData(
        str(operation.id), [InstanceResultData(instance, DeliveryStatus.APPLIED)]
    )


def refusal(instance: Instance, exc: InstanceRefused) -> Exception:
    """An elektrad's refusal as the API's error."""
    message = f"{instance.name} refused: {exc.message}"
    if exc.status in (401, 403):
        return InstanceUnreachable(
            f"{instance.name} refused clusterd's credentials ({exc.status}): "
            "set the token it requires with updateInstance"
        )
    if exc.name == "ValidationError":
        return ValidationFailed(message)
    if exc.name == "InvalidKeyName":
        return InvalidKeyName(message)
    if exc.status == 404:
        return NotFound(message)
    return BadInput(message)


# -- a cluster ----------------------------------------------------------------


async def _write_cluster(
    services: Services,
    caller: Caller,
    cluster_id: str,
    change: Change,
    path: KeyName,
    to: KeyName | None,
) -> WriteResultData:
    from .clusters import get_cluster

    cluster = await get_cluster(caller, cluster_id)
    async with in_transaction():
        steps = await _change_cluster_config(cluster, change, path, to)
        operation = await Operation.create(kind=change.kind, path=str(path), cluster=cluster)
        await _queue(operation, await _all_members(cluster), steps)
    for step in steps:
        await notify.config_changed(
            services,
            op=step.kind,
            path=step.path,
            value=step.value,
            previous=step.previous,
            meta=step.meta_key,
            origin="clusterd",
            operation_id=str(operation.id),
            cluster=cluster,
        )
    return await deliver(services, operation)


async def _change_cluster_config(
    cluster: Cluster, change: Change, path: KeyName, to: KeyName | None
) -> list[_Step]:
    """Apply the change to the cluster's own config; the steps for members."""
    own = {KeyName.parse(k.path): k for k in await ClusterKey.filter(cluster_id=cluster.id)}
    below = sorted((n for n in own if n.is_below_or_same(path)), reverse=True)
    match change.kind:
        case OperationKind.SET:
            await check_cluster_write(cluster, [path])
            key = own.get(path)
            previous = key.value if key else None
            if key is None:
                await ClusterKey.create(cluster=cluster, path=str(path), value=change.value)
            else:
                key.value = change.value
                await key.save()
            return [_Step(OperationKind.SET, str(path), change.value, previous=previous)]
        case OperationKind.META:
            key = own.get(path)
            if key is None:
                raise NotFound(f"cluster {cluster.name} sets no key {path}")
            assert change.meta_key is not None
            meta = dict(key.meta)
            previous = meta.get(change.meta_key)
            if change.value is None:
                meta.pop(change.meta_key, None)
            else:
                meta[change.meta_key] = change.value
            key.meta = meta
            await key.save()
            return [_Step(OperationKind.META, str(path), change.value, change.meta_key, previous)]
        case OperationKind.DELETE:
            if not below:
                raise NotFound(f"cluster {cluster.name} sets no key at or below {path}")
            await ClusterKey.filter(id__in=[own[n].id for n in below]).delete()
            return [_Step(OperationKind.DELETE, str(n), previous=own[n].value) for n in below]
        case OperationKind.MOVE | OperationKind.COPY:
            assert to is not None
            if not below:
                raise NotFound(f"cluster {cluster.name} sets no key at or below {path}")
            if to != path and to.is_below_or_same(path):
                raise BadInput(f"cannot move or copy {path} into its own subtree ({to})")
            moves = {n: to.child(*n.relative_to(path)) for n in sorted(below)}
            await check_cluster_write(cluster, list(moves.values()))
            steps: list[_Step] = []
            for source, dest in moves.items():
                key = own[source]
                await ClusterKey.filter(cluster_id=cluster.id, path=str(dest)).delete()
                await ClusterKey.create(
                    cluster=cluster, path=str(dest), value=key.value, meta=key.meta
                )
                steps += _steps_for(str(dest), key.value, key.meta)
            if change.kind is OperationKind.MOVE:
                stale = [n for n in below if n not in moves.values()]
                await ClusterKey.filter(id__in=[own[n].id for n in stale]).delete()
                steps += [_Step(OperationKind.DELETE, str(n), previous=own[n].value) for n in stale]
            return steps
    raise AssertionError(change.kind)


def _steps_for(path: str, value: str | None, meta: dict[str, str]) -> list[_Step]:
    steps = [_Step(OperationKind.SET, path, value)]
    steps += [_Step(OperationKind.META, path, v, k) for k, v in sorted(meta.items())]
    return steps


async def _all_members(cluster: Cluster) -> list[Instance]:
    ids = [cluster.id, *(c.id for c in await descendants(cluster))]
    return await Instance.filter(cluster_id__in=ids)


async def _queue(operation: Operation, instances: list[Instance], steps: list[_Step]) -> None:
    now = dt.datetime.now(dt.UTC)
    rows = [
        Delivery(
            operation=operation,
            instance=instance,
            kind=step.kind,
            path=step.path,
            value=step.value,
            meta_key=step.meta_key,
            next_attempt_at=now,
        )
        for instance in instances
        for step in steps
    ]
    if rows:
        await Delivery.bulk_create(rows)


async def deliver(services: Services, operation: Operation) -> WriteResultData:
    """Send the operation's deliveries now and wait a while; what has not
    landed by then is PENDING (the service goes on in the background)."""
    queue = services.delivery
    deliveries = await Delivery.filter(operation_id=operation.id)
    ids = [d.id for d in deliveries]
    futures = queue.watch(ids)
    for instance_id in sorted({d.instance_id for d in deliveries}):
        queue.kick(instance_id)
    try:
        if futures:
            await asyncio.wait(futures, timeout=services.settings.write_wait)
    finally:
        queue.forget(ids)
    return await operation_result(operation)


async def operation_result(operation: Operation) -> WriteResultData:
    """One result per instance: APPLIED when all its deliveries landed, FAILED
    if one was refused, else PENDING."""
    deliveries = await Delivery.filter(operation_id=operation.id).order_by("id")
    by_instance: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_instance.setdefault(delivery.instance_id, []).append(delivery)
    instances = {i.id: i for i in await Instance.filter(id__in=list(by_instance))}
    results = []
    for instance_id, rows in by_instance.items():
        failed = [d for d in rows if d.status is DeliveryStatus.FAILED]
        if failed:
            status, error = DeliveryStatus.FAILED, failed[0].last_error
        elif all(d.status is DeliveryStatus.APPLIED for d in rows):
            status, error = DeliveryStatus.APPLIED, None
        else:
            status, error = DeliveryStatus.PENDING, next((d.last_error for d in rows), None)
        results.append(InstanceResultData(instances[instance_id], status, error))
    results.sort(key=lambda r: r.instance.name)
    return WriteResultData(str(operation.id), results)


async def deliver_join(services: Services, cluster: Cluster, instance: Instance) -> None:
    """A new member receives the keys of its cluster and its ancestors."""
    chain = [cluster, *await ancestors(cluster)]
    keys = await ClusterKey.filter(cluster_id__in=[c.id for c in chain]).order_by("path")
    if not keys:
        return
    steps = [s for key in keys for s in _steps_for(key.path, key.value, key.meta)]
    async with in_transaction():
        operation = await Operation.create(kind=OperationKind.SET, path="/", cluster=cluster)
        await _queue(operation, [instance], steps)
    services.delivery.kick(instance.id)
