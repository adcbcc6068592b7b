"""Rollback: a subtree made what it was before an operation, or at a time.

The plan is computed from the history (``resolvers/history.py``) and the
target's config as it is now (a cluster's from the database, an instance's
read live): for each key changed since then, the value and the metadata
entries it had then. A key last changed before history began is known by the
``previous`` of its first change since. Then the plan is one new operation,
made as any write is: on a cluster, in one transaction with the next
revision and one delivery per member and change (fenced, retried, followed
with operationProgress, recorded in the history); on an instance, the calls
to its elektrad tagged with the operation, after the lock check.

- ``toOperation``: only the keys that operation changed (at or below the
  path) go back to what they were just before it: undoing one operation
  reverts just its keys;
- ``at``: every key of the subtree changed after that moment goes back.

A key that did not exist then is deleted, unless keys below it that stay
would go with it (an Elektra delete takes the subtree): then it is left.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ..connector.exceptions import ConnectorError, InstanceRefused
from ..engine import calls
from ..engine.outbox import InstanceResultData, Step, WriteResultData
from ..engine.services import Services
from ..exceptions import BadInput, InstanceUnreachable, NotFound
from ..keynames import KeyName
from ..logs import OPERATION_ID
from ..models import (
    Cluster,
    ClusterKey,
    DeliveryStatus,
    HistoryEntry,
    Instance,
    Operation,
    OperationKind,
)
from . import cluster_write
from .auth import Caller, Role
from .cluster_write import DryRunData
from .history import KeyState, state_at, subtree_filter, target_filter, utc
from .locks import check_cluster_write, check_instance_write
from .preview import MemberPlanData, Op, plan_instance
from .reads import MAX_DEPTH, Reads
from .refusal import refusal
from .writes import Target

__all__ = ["PlannedChange", "RollbackData", "rollback"]


@dataclass(frozen=True)
class PlannedChange:
    """One write of a rollback's plan."""

    op: OperationKind
    path: str
    #: SET: the value; META: the entry's value (None: removed).
    value: str | None = None
    #: META: the entry's name.
    meta_key: str | None = None
    #: The value (META: the entry's value) now; None if there is none.
    current: str | None = None


@dataclass
class RollbackData:
    plan: list[PlannedChange]
    #: The operation made (None: a dry run, or nothing to change).
    result: WriteResultData | None
    #: A dry run: what it would do on each instance it reaches.
    members: list[MemberPlanData] = field(default_factory=list)


class _Unchanged:
    """A key's value did not change since then (only its metadata did)."""


_UNCHANGED = _Unchanged()


async def rollback(
    services: Services,
    caller: Caller,
    target: Target,
    path_prefix: str,
    *,
    to_operation: str | None = None,
    at: dt.datetime | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> RollbackData:
    """Plan the rollback and, unless ``dry_run``, make it one operation
    (``force``: as a write's, see ``writes.write``)."""
    caller.require(Role.EDITOR)
    if (to_operation is None) == (at is None):
        raise BadInput("a rollback needs exactly one of toOperation and at")
    subtree, key, below = subtree_filter(path_prefix)
    entries = HistoryEntry.filter(target_filter(target)).filter(subtree)
    if to_operation is not None:
        first = await entries.filter(operation_id=to_operation).order_by("id").first()
        if first is None:
            raise NotFound(f"operation {to_operation} changed nothing at or below {key} here")
        then = await state_at(target, key, before_id=first.id)
        since = entries.filter(id__gte=first.id)
        changed = since.filter(operation_id=to_operation)
    else:
        assert at is not None
        then = await state_at(target, key, at=at)
        since = changed = entries.filter(at__gt=utc(at))
    fields = ("path", "op", "previous", "meta_key")
    touched = {
        (str(p), m) for p, _, _, m in await changed.values_list(*fields) if _below(p, key, below)
    }
    firsts: dict[tuple[str, str | None], str | None] = {}
    for path, op, previous, meta_key in await since.order_by("id").values_list(*fields):
        slot = (path, meta_key if op == OperationKind.META else None)
        if slot not in firsts and _below(path, key, below):
            firsts[slot] = previous
    now = await _current(services, caller, target, key, below)
    plan = _plan(then, now, touched, firsts)
    if not plan:
        return RollbackData(plan, None)
    if target.cluster_id is not None:
        from .clusters import get_cluster

        cluster = await get_cluster(caller, target.cluster_id)

        async def change_config(revision: int) -> list[Step]:
            await check_cluster_write(
                cluster, [KeyName.parse(c.path) for c in plan if c.op is OperationKind.SET]
            )
            return await _change_cluster_config(cluster, plan, revision)

        done = await cluster_write.commit(
            services,
            caller,
            cluster,
            kind=plan[0].op,
            path=key,
            change_config=change_config,
            dry_run=dry_run,
            force=force,
        )
        if isinstance(done, DryRunData):
            return RollbackData(plan, None, done.plans)
        return RollbackData(plan, done)
    assert target.instance_id is not None
    if dry_run:
        from .instances import get_instance

        instance = await get_instance(caller, target.instance_id)
        ops = [Op(c.op, c.path, c.value, c.meta_key) for c in plan]
        return RollbackData(plan, None, await plan_instance(services, caller, instance, ops))
    result = await _roll_instance(services, caller, target.instance_id, key, plan)
    return RollbackData(plan, result)


def _below(path: str, key: str, below: str) -> bool:
    # The filter may match more (see history.subtree_filter).
    return path == key or path.startswith(below)


def _plan(
    then: dict[str, KeyState],
    now: dict[str, KeyState],
    touched: set[tuple[str, str | None]],
    firsts: dict[tuple[str, str | None], str | None],
) -> list[PlannedChange]:
    paths = sorted({p for p, _ in touched}, key=KeyName.parse)
    deletes: list[str] = []
    sets: list[PlannedChange] = []
    metas: list[PlannedChange] = []
    for path in paths:
        current = now.get(path)
        was = then.get(path)
        value: str | _Unchanged | None
        if was is not None:
            value = was.value
        elif (path, None) in firsts:
            value = firsts[path, None]  # its first change since tells what it was
            if value is None:
                if current is not None:
                    deletes.append(path)
                continue
        else:
            value = _UNCHANGED  # only metadata changed since
        if not isinstance(value, _Unchanged) and (current is None or current.value != value):
            sets.append(
                PlannedChange(
                    OperationKind.SET, path, value, current=current.value if current else None
                )
            )
        names = {m for p, m in touched if p == path and m is not None}
        if was is not None and current is None:
            names |= set(was.meta)  # recreated: its metadata too
        for name in sorted(names):
            meta_then = was.meta.get(name) if was is not None else firsts.get((path, name))
            meta_now = current.meta.get(name) if current is not None else None
            if meta_then != meta_now:
                metas.append(PlannedChange(OperationKind.META, path, meta_then, name, meta_now))
    parsed = {p: KeyName.parse(p) for p in now.keys() | set(deletes)}

    def strictly_below(path: str, top: str) -> bool:
        return path != top and parsed[path].is_below_or_same(parsed[top])

    # Leave a key whose delete would take keys below it that stay; a key
    # below another one deleted goes with it (a delete takes the subtree).
    safe = [d for d in deletes if not any(strictly_below(k, d) for k in now if k not in deletes)]
    safe = [d for d in safe if not any(strictly_below(d, other) for other in safe)]
    return [
        *(PlannedChange(OperationKind.DELETE, d, current=now[d].value) for d in safe),
        *sets,
        *metas,
    ]


async def _current(
    services: Services, caller: Caller, target: Target, key: str, below: str
) -> dict[str, KeyState]:
    """The keys at and below ``key`` as they are now."""
    if target.cluster_id is not None:
        from .clusters import get_cluster

        cluster = await get_cluster(caller, target.cluster_id)
        rows = await ClusterKey.filter(cluster_id=cluster.id)
        return {k.path: KeyState(k.value, dict(k.meta)) for k in rows if _below(k.path, key, below)}
    assert target.instance_id is not None
    from .instances import get_instance

    instance = await get_instance(caller, target.instance_id)
    found = await Reads(services, caller).instance_keys(instance, key, MAX_DEPTH)
    return {k.path: KeyState(k.value, dict(k.meta)) for k in found if k.exists}


async def _change_cluster_config(
    cluster: Cluster, plan: list[PlannedChange], revision: int
) -> list[Step]:
    own = {k.path: k for k in await ClusterKey.filter(cluster_id=cluster.id)}
    steps: list[Step] = []
    for change in plan:
        key = own.get(change.path)
        match change.op:
            case OperationKind.DELETE:
                name = KeyName.parse(change.path)
                gone = sorted(
                    (p for p in own if KeyName.parse(p).is_below_or_same(name)),
                    key=KeyName.parse,
                    reverse=True,
                )
                await ClusterKey.filter(id__in=[own[p].id for p in gone]).delete()
                steps += [Step(OperationKind.DELETE, p, previous=own.pop(p).value) for p in gone]
            case OperationKind.SET:
                if key is None:
                    own[change.path] = await ClusterKey.create(
                        cluster=cluster, path=change.path, value=change.value, revision=revision
                    )
                else:
                    await ClusterKey.filter(id=key.id).update(value=change.value, revision=revision)
                previous = key.value if key else None
                steps.append(Step(OperationKind.SET, change.path, change.value, previous=previous))
            case OperationKind.META if key is not None and change.meta_key is not None:
                meta = dict(key.meta)
                previous = meta.get(change.meta_key)
                if change.value is None:
                    meta.pop(change.meta_key, None)
                else:
                    meta[change.meta_key] = change.value
                key.meta = meta
                await ClusterKey.filter(id=key.id).update(meta=meta, revision=revision)
                steps.append(
                    Step(OperationKind.META, change.path, change.value, change.meta_key, previous)
                )
    return steps


async def _roll_instance(
    services: Services, caller: Caller, instance_id: str, key: str, plan: list[PlannedChange]
) -> WriteResultData:
    from .instances import get_instance

    instance: Instance = await get_instance(caller, instance_id)
    for change in plan:
        await check_instance_write(instance, change.op, KeyName.parse(change.path))
    if services.breakers.is_open(instance.id):
        reason = services.breakers.reason(instance.id)
        raise InstanceUnreachable(f"{instance.name} is unreachable: {reason}")
    operation = await Operation.create(
        kind=plan[0].op, path=key, instance=instance, actor=caller.name
    )
    OPERATION_ID.set(str(operation.id))
    services.remember_operation(str(operation.id))
    client = services.client(instance, operation=str(operation.id))
    for change in plan:
        try:
            await calls.apply(
                client, change.op, change.path, value=change.value, meta_key=change.meta_key
            )
        except InstanceRefused as exc:
            raise refusal(instance, exc) from exc
        except ConnectorError as exc:
            services.breakers.failed(instance.id, str(exc))
            raise InstanceUnreachable(f"{instance.name} is unreachable: {exc}") from exc
    return WriteResultData(
        str(operation.id), [InstanceResultData(instance, DeliveryStatus.APPLIED)]
    )
