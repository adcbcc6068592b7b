"""The inputs and results of writes."""

from __future__ import annotations

import strawberry

from ..resolvers.writes import DryRunData, Target, WriteResultData
from .enums import DeliveryStatus
from .instance import InstanceType
from .preview import MemberPlan


@strawberry.input(
    name="Target",
    one_of=True,
    description="Where a write goes: exactly one of the two fields, not null (@oneOf). To an "
    "instance, the change is sent to its elektrad at once: the answer says APPLIED, or the "
    "write is refused with an error. To a cluster, it is stored with one delivery per member "
    "(members of nested clusters too) and sent to them; the answer waits for them up to "
    "clusterd's --write-wait (5 s by default), members not done by then are PENDING (follow "
    "them with operationProgress), and a member's refusal is its FAILED result, not an error.",
)
class TargetInput:
    instance_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The instance's id."
    )
    cluster_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The cluster's id."
    )

    def __post_init__(self) -> None:
        # @oneOf fields have no default in GraphQL: the one not given is
        # UNSET here, and None for the rest of clusterd (and the audit log).
        if self.instance_id is strawberry.UNSET:
            self.instance_id = None
        if self.cluster_id is strawberry.UNSET:
            self.cluster_id = None

    def to_target(self) -> Target:
        return Target(
            instance_id=str(self.instance_id) if self.instance_id is not None else None,
            cluster_id=str(self.cluster_id) if self.cluster_id is not None else None,
        )


@strawberry.type(name="InstanceResult", description="Where a write stands on one instance.")
class InstanceResult:
    instance: InstanceType = strawberry.field(description="The instance.")
    delivery: DeliveryStatus = strawberry.field(
        description="Of several changes to it (a subtree), the first that applies of FAILED, "
        "PENDING, SUPERSEDED, APPLIED."
    )
    error: str | None = strawberry.field(
        description="FAILED: why it refused; PENDING: why it waits, if known; else null."
    )


@strawberry.type(
    name="WriteResult",
    description="One result per affected instance (a cluster write: every member, "
    "nested clusters included); for a dry run, the plan for each instead.",
)
class WriteResult:
    operation_id: strawberry.ID | None = strawberry.field(
        description="The write's id: follow it with operationProgress; also in the audit log. "
        "Null for a dry run."
    )
    results: list[InstanceResult] = strawberry.field(
        description="One per instance, by name: as they stood when the answer was sent; empty "
        "for a dry run."
    )
    dry_run: bool = strawberry.field(description="Whether it was a dry run: nothing written.")
    plan: list[MemberPlan] = strawberry.field(
        description="A dry run: what the write would do on each instance it reaches, by name "
        "(a cluster: every member); else empty."
    )

    @classmethod
    def from_data(cls, data: WriteResultData | DryRunData) -> WriteResult:
        if isinstance(data, DryRunData):
            plan = [MemberPlan.from_data(p) for p in data.plans]
            return cls(operation_id=None, results=[], dry_run=True, plan=plan)
        return cls(
            operation_id=strawberry.ID(data.operation_id),
            results=[
                InstanceResult(
                    instance=InstanceType.from_model(r.instance), delivery=r.delivery, error=r.error
                )
                for r in data.results
            ],
            dry_run=False,
            plan=[],
        )
