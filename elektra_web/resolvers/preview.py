"""Dry runs: what a write would do on each instance it reaches, and who would
refuse it, and why.

A write is a list of :class:`Op` (a cluster write: the steps every member is
sent, as ``engine.outbox.Step``; an instance write: the one call). For each
instance, the keys they touch are read live (the subtree of each op's path,
and its ``spec:/`` twin, whose ``check/*`` metadata applies as elektrad
applies it), and the ops are played on that copy in order, as elektrad would
play them:

- a value is checked against the key's ``check/*`` rules (the spec key's,
  then its own) by the same code elektrad runs (``elektrad/validation.py``);
- a key at or below a broken mounted file, or a subtree holding one, is
  refused (its content is unknown);
- metadata of a key that does not exist, and a move or copy of nothing, are
  refused as elektrad refuses them.

An instance whose last call failed, or that does not answer the reads, is not
refused: a cluster's delivery to it waits (``WAIT``). Nothing is written and
no operation is made. :func:`refuse_invalid` turns the plans into the up-front
refusal of a cluster write that some members' validation would refuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from ..connector.exceptions import InstanceRefused
from ..elektrad.exceptions import ValidationError
from ..elektrad.validation import validate, validate_meta
from ..engine.outbox import Step
from ..engine.services import Services
from ..exceptions import ClusterdError, InstanceUnreachable, KeyLocked, ValidationFailed
from ..formats import Entry
from ..keynames import KeyName
from ..models import Instance, InstanceStatus, OperationKind
from .auth import Caller
from .locks import check_instance_write
from .reads import MAX_DEPTH, Reads

__all__ = [
    "KeyPlan",
    "MemberPlanData",
    "Op",
    "PlanOutcome",
    "PlanReason",
    "plan_instance",
    "plan_instances",
    "refuse_invalid",
]

#: More subtrees than this per instance are read as one, below the write's path.
_MAX_ROOTS = 16


class PlanOutcome(Enum):
    """What a write would do on one instance."""

    APPLY = "APPLY"
    UNCHANGED = "UNCHANGED"
    REFUSE = "REFUSE"
    WAIT = "WAIT"


class PlanReason(Enum):
    """Why an instance would refuse a write, or why it would wait."""

    LOCKED = "LOCKED"
    VALIDATION = "VALIDATION"
    BROKEN_MOUNT = "BROKEN_MOUNT"
    OFFLINE = "OFFLINE"
    NOT_FOUND = "NOT_FOUND"
    OTHER = "OTHER"


@dataclass(frozen=True)
class Op:
    """One call of a write, as an instance receives it."""

    kind: OperationKind
    path: str
    #: SET: the value; META: the entry's value (None: removed).
    value: str | None = None
    meta_key: str | None = None
    #: MOVE and COPY: where the subtree goes.
    to: str | None = None

    @classmethod
    def of_step(cls, step: Step) -> Op:
        return cls(step.kind, step.path, step.value, step.meta_key)


@dataclass(frozen=True)
class KeyPlan:
    """One key a write changes: ``before`` None: created; ``after`` None:
    deleted (with everything below it)."""

    path: str
    before: Entry | None
    after: Entry | None
    #: Deleted first with a parent the write deletes, then made anew.
    recreated: bool = False


@dataclass
class MemberPlanData:
    """What a write would do on one instance."""

    instance: Instance
    outcome: PlanOutcome
    changes: list[KeyPlan] = field(default_factory=list)
    reason: PlanReason | None = None
    #: REFUSE: why (the first refusal, as the instance would word it); WAIT: why.
    error: str | None = None


async def plan_instances(
    services: Services,
    caller: Caller,
    instances: Sequence[Instance],
    ops: Sequence[Op],
    *,
    locked: KeyLocked | None = None,
) -> list[MemberPlanData]:
    """The plan of ``ops`` on each instance, by name; ``locked``: the write
    is refused by a lock (each instance says so)."""
    if locked is not None:
        return sorted(
            (
                MemberPlanData(i, PlanOutcome.REFUSE, [], PlanReason.LOCKED, locked.message)
                for i in instances
            ),
            key=lambda p: p.instance.name,
        )
    roots = _roots(ops)
    # As many reads as members and subtrees, however large the cluster: not
    # the limit that guards a query's reads.
    reads = Reads(services, caller, max_reads=max(1, len(instances) * len(roots)))
    plans = await asyncio.gather(*(_plan_one(services, reads, i, ops, roots) for i in instances))
    return sorted(plans, key=lambda p: p.instance.name)


async def plan_instance(
    services: Services, caller: Caller, instance: Instance, ops: Sequence[Op]
) -> list[MemberPlanData]:
    """The plan of a write to one instance: refused by its cluster's lock
    first, as the write itself would be (``locks.check_instance_write``)."""
    try:
        for op in ops:
            to = KeyName.parse(op.to) if op.to is not None else None
            await check_instance_write(instance, op.kind, KeyName.parse(op.path), to)
    except KeyLocked as exc:
        return await plan_instances(services, caller, [instance], [], locked=exc)
    return await plan_instances(services, caller, [instance], ops)


def refuse_invalid(plans: Iterable[MemberPlanData], total: int) -> None:
    """Refuse (VALIDATION_FAILED, the members named in ``extensions.members``)
    a cluster write that some members' validation would refuse."""
    refused = [p for p in plans if p.reason is PlanReason.VALIDATION]
    if not refused:
        return
    names = [p.instance.name for p in refused]
    shown = "; ".join(f"{p.instance.name}: {p.error}" for p in refused[:5])
    more = f"; and {len(refused) - 5} more" if len(refused) > 5 else ""
    raise ValidationFailed(
        f"{len(refused)} of {total} members would refuse this write ({shown}{more}); "
        "nothing was written: fix the value or their check/* metadata, or write it with "
        "force: true",
        members=names,
    )


# -- one instance -------------------------------------------------------------


async def _plan_one(
    services: Services,
    reads: Reads,
    instance: Instance,
    ops: Sequence[Op],
    roots: list[tuple[str, int]],
) -> MemberPlanData:
    if services.breakers.is_tripped(instance.id) or instance.status is InstanceStatus.OFFLINE:
        why = services.breakers.reason(instance.id) or "it did not answer its last health check"
        return _waits(instance, f"unreachable: {why}")
    try:
        found = await asyncio.gather(*(reads.instance_keys(instance, p, d) for p, d in roots))
    except InstanceUnreachable as exc:
        return _waits(instance, exc.message)  # "web-02 is unreachable: ..."
    except ClusterdError as exc:
        cause = exc.__cause__
        broken = isinstance(cause, InstanceRefused) and cause.name == "MountError"
        reason = PlanReason.BROKEN_MOUNT if broken else PlanReason.OTHER
        return MemberPlanData(instance, PlanOutcome.REFUSE, [], reason, exc.message)
    keys: dict[KeyName, Entry] = {}
    broken_mounts: dict[KeyName, str] = {}
    for listing in found:
        for key in listing:
            name = KeyName.parse(key.path)
            if key.exists:
                keys[name] = Entry(key.value, dict(key.meta))
            if key.mount is not None and key.mount.error is not None:
                broken_mounts[KeyName.parse(key.mount.mount_point)] = key.mount.error
    return _Play(instance, keys, broken_mounts).run(ops)


def _waits(instance: Instance, why: str) -> MemberPlanData:
    return MemberPlanData(
        instance,
        PlanOutcome.WAIT,
        [],
        PlanReason.OFFLINE,
        f"{why}; the write would be sent when it answers again",
    )


class _Play:
    """The ops played on a copy of one instance's keys."""

    def __init__(
        self, instance: Instance, keys: dict[KeyName, Entry], broken: Mapping[KeyName, str]
    ) -> None:
        self.instance = instance
        self.before = dict(keys)
        self.keys = keys
        self.broken = broken
        self.refusal: tuple[PlanReason, str] | None = None

    def run(self, ops: Sequence[Op]) -> MemberPlanData:
        for op in ops:
            problem = self._play(op)
            if problem is not None and self.refusal is None:
                self.refusal = problem
        changes = self._changes()
        if self.refusal is not None:
            reason, error = self.refusal
            return MemberPlanData(self.instance, PlanOutcome.REFUSE, changes, reason, error)
        outcome = PlanOutcome.APPLY if changes else PlanOutcome.UNCHANGED
        return MemberPlanData(self.instance, outcome, changes)

    def _play(self, op: Op) -> tuple[PlanReason, str] | None:
        name = KeyName.parse(op.path)
        to = KeyName.parse(op.to) if op.to is not None else None
        subtree = op.kind in (OperationKind.DELETE, OperationKind.MOVE, OperationKind.COPY)
        for point, error in self.broken.items():
            for touched in (name, to):
                if touched is None:
                    continue
                if touched.is_below_or_same(point) or (subtree and point.is_below_or_same(touched)):
                    return PlanReason.BROKEN_MOUNT, (
                        f"the file mounted at {point} is broken: {error}"
                    )
        match op.kind:
            case OperationKind.SET:
                assert op.value is not None
                old = self.keys.get(name)
                meta = dict(old.meta) if old is not None else {}
                try:
                    validate(op.value, self._checks(name, meta), str(name))
                except ValidationError as exc:
                    return PlanReason.VALIDATION, str(exc)
                self.keys[name] = Entry(op.value, meta)
            case OperationKind.META:
                assert op.meta_key is not None
                old = self.keys.get(name)
                if old is None:
                    return PlanReason.NOT_FOUND, f"{name} does not exist"
                meta = dict(old.meta)
                if op.value is None:
                    meta.pop(op.meta_key, None)
                else:
                    try:
                        validate_meta(op.meta_key, op.value)
                    except ValidationError as exc:
                        return PlanReason.VALIDATION, str(exc)
                    meta[op.meta_key] = op.value
                self.keys[name] = Entry(old.value, meta)
            case OperationKind.DELETE:
                for gone in [k for k in self.keys if k.is_below_or_same(name)]:
                    del self.keys[gone]
            case OperationKind.MOVE | OperationKind.COPY:
                assert to is not None
                moved = {k: v for k, v in self.keys.items() if k.is_below_or_same(name)}
                if not moved:
                    return PlanReason.NOT_FOUND, f"{name} does not exist"
                if to == name:
                    return None
                if op.kind is OperationKind.MOVE:
                    for gone in moved:
                        del self.keys[gone]
                for source, entry in moved.items():
                    self.keys[to.child(*source.relative_to(name))] = entry
        return None

    def _checks(self, name: KeyName, meta: dict[str, str]) -> dict[str, str]:
        """As elektrad: the spec:/ key's check/* metadata, then the key's own."""
        spec = self.keys.get(name.in_namespace("spec")) if name.namespace != "spec" else None
        inherited = {k: v for k, v in spec.meta.items() if k.startswith("check/")} if spec else {}
        return inherited | meta

    def _changes(self) -> list[KeyPlan]:
        """Deleted keys first (a key below another deleted one left out: it
        goes with it), then the rest by name."""
        gone = sorted(k for k in self.before if k not in self.keys)
        deletes: list[KeyPlan] = []
        tops: list[KeyName] = []
        for name in gone:
            if not any(name.is_below_or_same(top) for top in tops):
                tops.append(name)
                deletes.append(KeyPlan(str(name), self.before[name], None))
        rest = [
            KeyPlan(str(name), self.before.get(name), entry)
            for name, entry in sorted(self.keys.items())
            if self.before.get(name) != entry
        ]
        return deletes + rest


def _roots(ops: Sequence[Op]) -> list[tuple[str, int]]:
    """The subtrees to read (path, depth): each op's key (with its subtree
    for a delete, move or copy) and its spec:/ twin; when they are too many
    (an import), per namespace the one key they all lie below, whole."""
    wanted: dict[KeyName, int] = {}
    for op in ops:
        deep = op.kind in (OperationKind.DELETE, OperationKind.MOVE, OperationKind.COPY)
        for path in (op.path, op.to):
            if path is None:
                continue
            name = KeyName.parse(path)
            for each in (name, name.in_namespace("spec")) if name.namespace != "spec" else (name,):
                wanted[each] = max(wanted.get(each, 0), MAX_DEPTH if deep else 0)
    if len(wanted) > _MAX_ROOTS:
        wanted = {top: MAX_DEPTH for top in _common_ancestors(wanted)}
    # A root inside another deep one is read with it.
    kept = {
        name: depth
        for name, depth in wanted.items()
        if not any(
            other != name and d == MAX_DEPTH and name.is_below_or_same(other)
            for other, d in wanted.items()
        )
    }
    return [(str(name), depth) for name, depth in sorted(kept.items())]


def _common_ancestors(names: Iterable[KeyName]) -> list[KeyName]:
    """Per namespace, the deepest key that every name of it is at or below."""
    tops: dict[str, tuple[str, ...]] = {}
    for name in names:
        top = tops.get(name.namespace)
        if top is None:
            tops[name.namespace] = name.parts
            continue
        same = 0
        while same < min(len(top), len(name.parts)) and top[same] == name.parts[same]:
            same += 1
        tops[name.namespace] = top[:same]
    return [KeyName(namespace, parts) for namespace, parts in tops.items()]
