"""The one way a write reaches a cluster (rule 4), for every kind of write:
a key's (``writes.py``), a rollback (``rollback.py``) and an import
(``transfer.py``).

Each passes a function that applies its change to the cluster's own config
inside the write's transaction and returns the steps every member receives.
Then, in one transaction: the next revision first (so concurrent cluster
writes queue there and each sees what the one before committed), the change,
the operation and one delivery per member and step; after the commit, one
``ConfigChanged`` per step, and the wait for the members (``outbox.settle``).

Before that, unless forced, the steps are played on every online member
(``preview.py``): a write that some members' ``check/*`` validation would
refuse is refused up front, with the members named, and nothing is stored.
A dry run stops there and answers the plans. Both compute the steps with the
same function, in a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from ..engine import outbox
from ..engine.events import ConfigChanged, publish
from ..engine.outbox import Step, WriteResultData
from ..engine.services import Services
from ..engine.topology import members
from ..exceptions import KeyLocked
from ..logs import OPERATION_ID
from ..models import Cluster, Operation, OperationKind
from .auth import Caller
from .preview import MemberPlanData, Op, plan_instances, refuse_invalid

__all__ = ["ChangeConfig", "DryRunData", "commit"]

#: Applies a write to the cluster's own config, given the write's revision
#: (inside its transaction); the steps every member receives, in order.
ChangeConfig = Callable[[int], Awaitable[list[Step]]]

#: The steps that a member's check/* validation may refuse.
_CHECKED = (OperationKind.SET, OperationKind.META)


@dataclass
class DryRunData:
    """A dry run's answer: what the write would do on each member."""

    plans: list[MemberPlanData]
    steps: list[Step]


class _RolledBack(Exception):
    def __init__(self, steps: list[Step]) -> None:
        super().__init__("rolled back")
        self.steps = steps


async def planned_steps(change_config: ChangeConfig) -> list[Step]:
    """The steps of a write, computed as the write computes them, in a
    transaction that is then rolled back: nothing is stored."""
    try:
        async with in_transaction():
            steps = await change_config(await outbox.next_revision())
            raise _RolledBack(steps)
    except _RolledBack as done:
        return done.steps


async def commit(
    services: Services,
    caller: Caller,
    cluster: Cluster,
    *,
    kind: OperationKind,
    path: str,
    change_config: ChangeConfig,
    dry_run: bool = False,
    force: bool = False,
) -> WriteResultData | DryRunData | None:
    """Make the write (see the module's docstring); ``None``: it changes
    nothing, and nothing is stored."""
    if dry_run or not force:
        try:
            steps, locked = await planned_steps(change_config), None
        except KeyLocked as exc:
            if not dry_run:
                raise
            steps, locked = [], exc
        if dry_run or any(step.kind in _CHECKED for step in steps):
            targets = await members(cluster)
            ops = [Op.of_step(s) for s in steps]
            plans = await plan_instances(services, caller, targets, ops, locked=locked)
            if dry_run:
                return DryRunData(plans, steps)
            refuse_invalid(plans, len(targets))
    return await _commit(services, caller, cluster, kind, path, change_config)


class _Nothing(Exception):
    pass


async def _commit(
    services: Services,
    caller: Caller,
    cluster: Cluster,
    kind: OperationKind,
    path: str,
    change_config: ChangeConfig,
) -> WriteResultData | None:
    try:
        async with in_transaction():
            revision = await outbox.next_revision()
            steps = await change_config(revision)
            if not steps:
                raise _Nothing
            operation = await Operation.create(
                kind=kind, path=path, cluster=cluster, revision=revision, actor=caller.name
            )
            counts = await outbox.enqueue(operation, await members(cluster), steps)
    except _Nothing:
        return None
    OPERATION_ID.set(str(operation.id))  # in this request's log lines from now on
    services.remember_operation(str(operation.id))
    await publish(
        services,
        *(
            ConfigChanged(
                op=step.kind,
                path=step.path,
                origin="clusterd",
                value=step.value,
                previous=step.previous,
                meta=step.meta_key,
                operation_id=str(operation.id),
                cluster_id=cluster.id,
                cluster_ids=(cluster.id,),
            )
            for step in steps
        ),
    )
    return await outbox.settle(services, operation, counts)
