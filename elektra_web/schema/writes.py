"""The inputs and results of writes."""

from __future__ import annotations

import strawberry

from ..resolvers.writes import Target, WriteResultData
from .enums import DeliveryStatus
from .instance import InstanceType


@strawberry.input(name="Target", description="Where a write goes: exactly one of the two.")
class TargetInput:
    instance_id: strawberry.ID | None = None
    cluster_id: strawberry.ID | None = None

    def to_target(self) -> Target:
        return Target(
            instance_id=str(self.instance_id) if self.instance_id is not None else None,
            cluster_id=str(self.cluster_id) if self.cluster_id is not None else None,
        )


@strawberry.type(name="InstanceResult")
class InstanceResult:
    instance: InstanceType
    delivery: DeliveryStatus
    error: str | None


@strawberry.type(
    name="WriteResult",
    description="One result per affected instance (a cluster write: every member, "
    "nested clusters included).",
)
class WriteResult:
    operation_id: strawberry.ID
    results: list[InstanceResult]

    @classmethod
    def from_data(cls, data: WriteResultData) -> WriteResult:
        return cls(
            operation_id=strawberry.ID(data.operation_id),
            results=[
                InstanceResult(
                    instance=InstanceType.from_model(r.instance), delivery=r.delivery, error=r.error
                )
                for r in data.results
            ],
        )
