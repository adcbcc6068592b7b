"""Live updates: the event types and the Subscription root."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator

import strawberry

from ..engine.events import ConfigChanged
from ..engine.outbox import InstanceResultData
from ..resolvers import live
from .cluster import ClusterType
from .context import Info
from .enums import OperationKind
from .instance import InstanceType
from .writes import InstanceResult


@strawberry.type(name="ConfigChange")
class ConfigChangeType:
    event: strawberry.Private[ConfigChanged]
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
    def from_event(cls, event: ConfigChanged) -> ConfigChangeType:
        return cls(
            event=event,
            operation_id=strawberry.ID(event.operation_id) if event.operation_id else None,
            op=event.op,
            path=event.path,
            value=event.value,
            previous=event.previous,
            meta=event.meta,
            origin=event.origin,
            at=dt.datetime.fromtimestamp(event.at, dt.UTC),
        )

    @strawberry.field(description="Null for a change to a cluster's own config.")
    async def instance(self, info: Info) -> InstanceType | None:
        if self.event.instance_id is None:
            return None
        found = await live.recent_instance(info.context.services, self.event.instance_id)
        return InstanceType.from_model(found) if found else None

    @strawberry.field
    async def cluster(self, info: Info) -> ClusterType | None:
        found = await info.context.cluster(self.event.cluster_id)
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
        async for event in events:
            yield ConfigChangeType.from_event(event)

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
        async for drift in live.drift_changes(ctx.services, ctx.caller, instance_id, cluster_id):
            yield DriftEvent(
                instance_id=strawberry.ID(str(drift.instance_id)),
                cluster_id=strawberry.ID(str(drift.cluster_id)),
                path=drift.path,
                expected=drift.expected,
                actual=drift.actual,
                resolved=drift.resolved,
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
