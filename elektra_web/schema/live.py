"""Live updates: the event types and the Subscription root."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from .. import models
from ..resolvers import live
from ..resolvers.writes import InstanceResultData
from .cluster import ClusterType
from .context import Info
from .enums import OperationKind
from .instance import InstanceType
from .writes import InstanceResult


@strawberry.type(name="ConfigChange")
class ConfigChangeType:
    data: strawberry.Private[dict[str, Any]]
    operation_id: strawberry.ID | None = strawberry.field(
        description="Null for a change made on the instance, outside clusterd."
    )
    op: OperationKind
    path: str
    value: str | None
    previous: str | None
    meta: str | None = strawberry.field(description="For META: the metadata entry's name.")
    origin: str = strawberry.field(description='"clusterd" or "instance".')
    at: dt.datetime

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> ConfigChangeType:
        return cls(
            data=data,
            operation_id=strawberry.ID(data["operationId"]) if data["operationId"] else None,
            op=models.OperationKind(data["op"]),
            path=data["path"],
            value=data["value"],
            previous=data["previous"],
            meta=data["meta"],
            origin=data["origin"],
            at=dt.datetime.fromtimestamp(data["at"], dt.UTC),
        )

    @strawberry.field(description="Null for a change to a cluster's own config.")
    async def instance(self, info: Info) -> InstanceType | None:
        if self.data["instanceId"] is None:
            return None
        found = await live.recent_instance(info.context.services, self.data["instanceId"])
        return InstanceType.from_model(found) if found else None

    @strawberry.field
    async def cluster(self, info: Info) -> ClusterType | None:
        found = await info.context.cluster(self.data["clusterId"])
        return ClusterType.from_model(found) if found else None


@strawberry.type(name="Subscription")
class Subscription:
    @strawberry.subscription(
        description="Changes to keys, filtered by instance, cluster (its own config and "
        "its members') and path prefix."
    )
    async def config_changed(
        self,
        info: Info,
        instance_id: strawberry.ID | None = None,
        cluster_id: strawberry.ID | None = None,
        path_prefix: str | None = None,
    ) -> AsyncGenerator[ConfigChangeType, None]:
        ctx = info.context
        events = live.config_changes(ctx.services, ctx.caller, instance_id, cluster_id, path_prefix)
        async for data in events:
            yield ConfigChangeType.from_event(data)

    @strawberry.subscription(description="ONLINE/OFFLINE transitions from health checks.")
    async def instance_status_changed(
        self, info: Info, instance_id: strawberry.ID | None = None
    ) -> AsyncGenerator[InstanceType, None]:
        ctx = info.context
        async for instance in live.status_changes(ctx.services, ctx.caller, instance_id):
            yield InstanceType.from_model(instance)

    @strawberry.subscription(
        description="First the results known so far, then each delivery as it lands; "
        "completes when none is PENDING."
    )
    async def operation_progress(
        self, info: Info, operation_id: strawberry.ID
    ) -> AsyncGenerator[InstanceResult, None]:
        ctx = info.context
        async for result in live.operation_progress(ctx.services, ctx.caller, operation_id):
            yield _result(result)

    @strawberry.subscription(
        description="Drift detected on (or resolved for) members, filtered by instance or cluster."
    )
    async def drift_changed(
        self,
        info: Info,
        instance_id: strawberry.ID | None = None,
        cluster_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[DriftEvent, None]:
        ctx = info.context
        async for data in live.drift_changes(ctx.services, ctx.caller, instance_id, cluster_id):
            yield DriftEvent(
                instance_id=strawberry.ID(str(data["instanceId"])),
                cluster_id=strawberry.ID(str(data["clusterId"])),
                path=data["path"],
                expected=data["expected"],
                actual=data["actual"],
                resolved=data["state"] == "resolved",
            )


@strawberry.type
class DriftEvent:
    instance_id: strawberry.ID
    cluster_id: strawberry.ID
    path: str
    expected: str | None
    actual: str | None
    resolved: bool


def _result(result: InstanceResultData) -> InstanceResult:
    return InstanceResult(
        instance=InstanceType.from_model(result.instance),
        delivery=result.delivery,
        error=result.error,
    )
