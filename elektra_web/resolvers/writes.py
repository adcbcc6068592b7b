"""Writes: to one instance (straight to its elektrad, after the lock check) or
to a cluster (stored with one delivery per member in one transaction, then
delivered concurrently; rule 4: ``cluster_write.py``). A dry run of either
answers what it would do on each instance (``preview.py``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..connector.exceptions import ConnectorError, InstanceRefused
from ..engine import calls
from ..engine.outbox import InstanceResultData, Step, WriteResultData, steps_for
from ..engine.services import Services
from ..exceptions import (
    BadInput,
    InstanceUnreachable,
    NotFound,
    ValidationFailed,
)
from ..keynames import KeyName
from ..logs import OPERATION_ID
from ..models import (
    Cluster,
    ClusterKey,
    Delivery,
    DeliveryStatus,
    Instance,
    Operation,
    OperationKind,
)
from ..patterns import pattern_refusal
from . import cluster_write
from .auth import Caller, Role
from .cluster_write import DryRunData
from .instances import get_instance
from .locks import check_cluster_write, check_instance_write
from .names import MAX_NAME, parse_writable_key
from .preview import Op, plan_instance
from .refusal import refusal

__all__ = [
    "Change",
    "DryRunData",
    "InstanceResultData",
    "Target",
    "WriteResultData",
    "retry_refused",
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


async def write(
    services: Services,
    caller: Caller,
    target: Target,
    change: Change,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> WriteResultData | DryRunData:
    """Make the write; ``dry_run``: only say what it would do on each instance
    it reaches (``preview.py``); ``force``: a cluster write that some
    members' validation would refuse is made anyway (their deliveries FAIL)."""
    caller.require(Role.EDITOR)
    if (target.instance_id is None) == (target.cluster_id is None):
        raise BadInput("a write needs exactly one target: instanceId or clusterId")
    path = parse_writable_key(change.path)
    to = parse_writable_key(change.target) if change.target is not None else None
    if change.kind is OperationKind.META and not change.meta_key:
        raise BadInput("a metadata write needs the metadata name")
    if change.meta_key is not None and len(change.meta_key) > MAX_NAME:
        raise BadInput(f"a metadata name may have at most {MAX_NAME} characters")
    if change.meta_key == "check/validation" and change.value is not None:
        # Refused here, the way elektrad refuses it, rather than delivered to
        # every member of a cluster for each to refuse (and stay FAILED).
        refused = pattern_refusal(change.value)
        if refused is not None:
            raise ValidationFailed(refused)
    if target.instance_id is not None:
        if dry_run:
            instance = await get_instance(caller, target.instance_id)
            op = Op(
                change.kind, str(path), change.value, change.meta_key, change.target and str(to)
            )
            return DryRunData(await plan_instance(services, caller, instance, [op]), [])
        return await _write_instance(services, caller, target.instance_id, change, path, to)
    assert target.cluster_id is not None
    from .clusters import get_cluster

    cluster = await get_cluster(caller, target.cluster_id)

    async def change_config(revision: int) -> list[Step]:
        return await _change_cluster_config(cluster, change, path, to, revision)

    result = await cluster_write.commit(
        services,
        caller,
        cluster,
        kind=change.kind,
        path=str(path),
        change_config=change_config,
        dry_run=dry_run,
        force=force,
    )
    assert result is not None  # every change of a cluster's config has a step
    return result


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
    if services.breakers.is_open(instance.id):
        reason = services.breakers.reason(instance.id)
        raise InstanceUnreachable(f"{instance.name} is unreachable: {reason}")
    operation = await Operation.create(
        kind=change.kind, path=str(path), instance=instance, actor=caller.name
    )
    OPERATION_ID.set(str(operation.id))  # in this request's log lines from now on
    services.remember_operation(str(operation.id))
    client = services.client(instance, operation=str(operation.id))
    try:
        await calls.apply(
            client,
            change.kind,
            str(path),
            value=change.value,
            target=str(to) if to is not None else None,
            meta_key=change.meta_key,
        )
    except InstanceRefused as exc:
        await operation.delete()
        raise refusal(instance, exc) from exc
    except ConnectorError as exc:
        await operation.delete()
        services.breakers.failed(instance.id, str(exc))
        raise InstanceUnreachable(f"{instance.name} is unreachable: {exc}") from exc
    return WriteResultData(
        str(operation.id), [InstanceResultData(instance, DeliveryStatus.APPLIED)]
    )


async def retry_refused(services: Services, caller: Caller, instance_id: str) -> Instance:
    """The cluster writes ``instance`` refused go again (after a person fixed
    what made it refuse them); they are PENDING until they land."""
    caller.require(Role.EDITOR)
    instance = await get_instance(caller, instance_id)
    await Delivery.filter(instance_id=instance.id, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=dt.datetime.now(dt.UTC)
    )
    services.kick(instance.id)
    return instance


# -- a cluster ----------------------------------------------------------------


async def _change_cluster_config(
    cluster: Cluster, change: Change, path: KeyName, to: KeyName | None, revision: int
) -> list[Step]:
    """Apply the change to the cluster's own config; the steps for members."""
    own = {KeyName.parse(k.path): k for k in await ClusterKey.filter(cluster_id=cluster.id)}
    below = sorted((n for n in own if n.is_below_or_same(path)), reverse=True)
    match change.kind:
        case OperationKind.SET:
            await check_cluster_write(cluster, [path])
            key = own.get(path)
            previous = key.value if key else None
            if key is None:
                await ClusterKey.create(
                    cluster=cluster, path=str(path), value=change.value, revision=revision
                )
            else:
                await ClusterKey.filter(id=key.id).update(value=change.value, revision=revision)
            return [Step(OperationKind.SET, str(path), change.value, previous=previous)]
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
            await ClusterKey.filter(id=key.id).update(meta=meta, revision=revision)
            return [Step(OperationKind.META, str(path), change.value, change.meta_key, previous)]
        case OperationKind.DELETE:
            if not below:
                raise NotFound(f"cluster {cluster.name} sets no key at or below {path}")
            await ClusterKey.filter(id__in=[own[n].id for n in below]).delete()
            return [Step(OperationKind.DELETE, str(n), previous=own[n].value) for n in below]
        case OperationKind.MOVE | OperationKind.COPY:
            assert to is not None
            if not below:
                raise NotFound(f"cluster {cluster.name} sets no key at or below {path}")
            if to != path and to.is_below_or_same(path):
                raise BadInput(f"cannot move or copy {path} into its own subtree ({to})")
            moves = {n: to.child(*n.relative_to(path)) for n in sorted(below)}
            await check_cluster_write(cluster, list(moves.values()))
            steps: list[Step] = []
            for source, dest in moves.items():
                key = own[source]
                await ClusterKey.filter(cluster_id=cluster.id, path=str(dest)).delete()
                await ClusterKey.create(
                    cluster=cluster,
                    path=str(dest),
                    value=key.value,
                    meta=key.meta,
                    revision=revision,
                )
                steps += steps_for(str(dest), key.value, key.meta)
            if change.kind is OperationKind.MOVE:
                stale = [n for n in below if n not in moves.values()]
                await ClusterKey.filter(id__in=[own[n].id for n in stale]).delete()
                steps += [Step(OperationKind.DELETE, str(n), previous=own[n].value) for n in stale]
            return steps
    raise AssertionError(change.kind)
