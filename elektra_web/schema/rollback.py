"""The plan and the result of a rollback."""

from __future__ import annotations

import strawberry

from ..resolvers.rollback import PlannedChange, RollbackData
from .enums import OperationKind
from .preview import MemberPlan
from .writes import WriteResult

__all__ = ["PlannedChangeType", "RollbackResult"]


@strawberry.type(name="PlannedChange", description="One write of a rollback's plan.")
class PlannedChangeType:
    op: OperationKind = strawberry.field(
        description="SET (the value it had), DELETE (it did not exist then; its subtree goes "
        "with it) or META (an entry as it was; value null: removed)."
    )
    path: str = strawberry.field(description="The key's canonical name.")
    value: str | None = strawberry.field(
        description="SET: the value; META: the entry's value (null: removed); DELETE: null."
    )
    meta: str | None = strawberry.field(description="For META: the metadata entry's name.")
    current: str | None = strawberry.field(
        description="The value (META: the entry's value) now; null if there is none."
    )

    @classmethod
    def from_data(cls, data: PlannedChange) -> PlannedChangeType:
        return cls(
            op=data.op,
            path=data.path,
            value=data.value,
            meta=data.meta_key,
            current=data.current,
        )


@strawberry.type(description="What a rollback changes, and the write it made.")
class RollbackResult:
    plan: list[PlannedChangeType] = strawberry.field(
        description="The writes, in the order they are made: deletes, values, metadata. Empty: "
        "the subtree is as it was then already."
    )
    members: list[MemberPlan] = strawberry.field(
        description="A dry run: what the rollback would do on each instance it reaches, by "
        "name (as a write's plan); else empty."
    )
    result: WriteResult | None = strawberry.field(
        description="The one operation made (as setKey's answer; its history entries carry its "
        "operationId); null for a dry run or an empty plan."
    )

    @classmethod
    def from_data(cls, data: RollbackData) -> RollbackResult:
        return cls(
            plan=[PlannedChangeType.from_data(c) for c in data.plan],
            members=[MemberPlan.from_data(p) for p in data.members],
            result=WriteResult.from_data(data.result) if data.result is not None else None,
        )
