"""Live updates: the event types and the Subscription root."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from ..engine.events import ConfigChanged, FleetChanged
from ..engine.outbox import InstanceResultData
from ..resolvers import live
from .cluster import ClusterType
from .context import Info
from .drift import DriftFields
from .enums import FleetChange, OperationKind
from .instance import InstanceType
from .writes import InstanceResult


@strawberry.type(
    name="ConfigChange",
    description="One changed key: of an instance (made through clusterd, or on the machine "
    "itself and seen in its elektrad's change feed) or of a cluster's own config.",
)
class ConfigChangeType:
    event: strawberry.Private[ConfigChanged]
    operation_id: strawberry.ID | None = strawberry.field(
        description="The write that made it (WriteResult.operationId); null for a change made "
        "on the instance, outside clusterd."
    )
    op: OperationKind = strawberry.field(
        description="SET, DELETE or META (a move or copy arrives as one change per key); "
        "MOUNT when a mounted file broke or parses again (path: its mount point)."
    )
    path: str = strawberry.field(description="The key's canonical name.")
    value: str | None = strawberry.field(
        description="SET: the new value; META: the entry's new value (null: removed); DELETE: "
        "null; MOUNT: the parser's message (null: the file parses again)."
    )
    previous: str | None = strawberry.field(
        description="The value (META: the entry's value) before the change; null if there was "
        "none or it is not known."
    )
    meta: str | None = strawberry.field(description="For META: the metadata entry's name.")
    origin: str = strawberry.field(
        description='"clusterd" (made through clusterd) or "instance" (made on the machine, '
        "outside clusterd)."
    )
    at: dt.datetime = strawberry.field(description="When clusterd learned of it.")

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

    @strawberry.field(
        description="The instance whose key changed; null for a change to a cluster's own "
        "config (or an instance removed since)."
    )
    async def instance(self, info: Info) -> InstanceType | None:
        if self.event.instance_id is None:
            return None
        found = await live.recent_instance(info.context.services, self.event.instance_id)
        return InstanceType.from_model(found) if found else None

    @strawberry.field(
        description="The cluster whose config changed, or the instance's cluster; null for an "
        "instance in no cluster."
    )
    async def cluster(self, info: Info) -> ClusterType | None:
        found = await info.context.cluster(self.event.cluster_id)
        return ClusterType.from_model(found) if found else None


@strawberry.type(
    name="FleetEvent",
    description="One change to the fleet (fleetChanged), with what changed: apply it to the "
    "one row it names; nothing needs to be read again, except for DELIVERIES.",
)
class FleetEventType:
    event: strawberry.Private[FleetChanged]
    change: FleetChange = strawberry.field(description="What happened.")
    instance_id: strawberry.ID | None = strawberry.field(
        description="The instance it is about (INSTANCE_*); null for a cluster's change."
    )
    cluster_id: strawberry.ID | None = strawberry.field(
        description="CLUSTER_*: the cluster it is about. INSTANCE_*: the instance's cluster "
        "after the change (null: in none). DELIVERIES: the cluster whose members (nested ones "
        "too) got a write, or null."
    )
    previous_cluster_id: strawberry.ID | None = strawberry.field(
        description="INSTANCE_MEMBERSHIP, INSTANCE_REMOVED: the cluster the instance was in "
        "before (null: none)."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        description="CLUSTER_ADDED, CLUSTER_UPDATED: the cluster's parent now (null: top level)."
    )
    instance_ids: list[strawberry.ID] = strawberry.field(
        description="DELIVERIES: the instances whose writes not applied changed (may be empty "
        "when clusterId names a cluster instead); empty for the other changes."
    )

    @classmethod
    def from_event(cls, event: FleetChanged) -> FleetEventType:
        cluster = event.cluster()
        return cls(
            event=event,
            change=event.change,
            instance_id=_id(event.instance_id),
            cluster_id=_id(event.cluster_id),
            previous_cluster_id=_id(event.previous_cluster_id),
            parent_id=_id(cluster.parent_id) if cluster is not None else None,
            instance_ids=[strawberry.ID(str(i)) for i in event.instance_ids],
        )

    @strawberry.field(
        description="INSTANCE_ADDED, INSTANCE_UPDATED, INSTANCE_STATUS, INSTANCE_MEMBERSHIP: "
        "the instance as of the change (its fields come with the event; what it links to, "
        "such as cluster, pending or keys, is read when asked for). Null for the other changes."
    )
    def instance(self) -> InstanceType | None:
        found = self.event.instance()
        return InstanceType.from_model(found) if found is not None else None

    @strawberry.field(
        description="CLUSTER_ADDED, CLUSTER_UPDATED: the cluster as of the change (its fields "
        "come with the event; what it links to is read when asked for). Null for the other "
        "changes."
    )
    def cluster(self) -> ClusterType | None:
        found = self.event.cluster()
        return ClusterType.from_model(found) if found is not None else None


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(
    name="Subscription",
    description="Live updates: over a websocket (graphql-transport-ws, the token in "
    'connection_init as {"token": TOKEN}), or over HTTP with Accept: multipart/mixed;'
    "subscriptionSpec=1.0 or text/event-stream. Any role may subscribe. Each filter argument "
    "that is given must name an existing instance or cluster (else NOT_FOUND); null or left "
    "out, it filters nothing. A subscriber that falls more than 1,000 events behind is ended "
    "with SUBSCRIBER_TOO_SLOW.",
)
class Subscription:
    @strawberry.subscription(
        description="Changes to keys, filtered by instance, cluster (its own config and "
        "its members') and path prefix."
    )
    async def config_changed(
        self,
        info: Info,
        instance_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only the keys of this instance."),
        ] = None,
        cluster_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only the cluster's own keys and its members' (members of the "
                "clusters nested in it too)."
            ),
        ] = None,
        path_prefix: Annotated[
            str | None,
            strawberry.argument(
                description='Only keys at or below this name, e.g. "user:/app"; a cascading '
                'name ("/app") matches in every namespace. INVALID_KEY_NAME if malformed.'
            ),
        ] = None,
    ) -> AsyncGenerator[ConfigChangeType, None]:
        ctx = info.context
        events = live.config_changes(ctx.services, ctx.caller, instance_id, cluster_id, path_prefix)
        async for event in events:
            yield ConfigChangeType.from_event(event)

    @strawberry.subscription(
        description="An instance, each time its status changes (ONLINE, OFFLINE) in a health check."
    )
    async def instance_status_changed(
        self,
        info: Info,
        instance_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this instance.")
        ] = None,
    ) -> AsyncGenerator[InstanceType, None]:
        ctx = info.context
        async for instance in live.status_changes(ctx.services, ctx.caller, instance_id):
            yield InstanceType.from_model(instance)

    @strawberry.subscription(
        description="Every change to the fleet, as it happens: instances registered, changed, "
        "assigned, unassigned, removed, their status; clusters created, renamed, nested "
        "elsewhere, deleted; and whose writes not applied changed. Each event carries what "
        "changed, so an overview updates one row per event and re-reads nothing (subscribe, "
        "then read the overview once, and read it again after a reconnection)."
    )
    async def fleet_changed(self, info: Info) -> AsyncGenerator[FleetEventType, None]:
        ctx = info.context
        async for event in live.fleet_changes(ctx.services, ctx.caller):
            yield FleetEventType.from_event(event)

    @strawberry.subscription(
        description="First the results known so far, then each delivery as it lands; "
        "completes when none is PENDING."
    )
    async def operation_progress(
        self,
        info: Info,
        operation_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="A write's WriteResult.operationId; NOT_FOUND if there is none."
            ),
        ],
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
        instance_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only drift on this member.")
        ] = None,
        cluster_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only drift of keys this cluster, or a cluster nested in it, sets."
            ),
        ] = None,
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


@strawberry.type(description="Drift of one key on one member, detected or resolved.")
class DriftEvent(DriftFields):
    resolved: bool = strawberry.field(
        description="False: drift detected (or its values changed); true: it is gone, the "
        "values agree again (e.g. a delivery of the key landed)."
    )


def _result(result: InstanceResultData) -> InstanceResult:
    return InstanceResult(
        instance=InstanceType.from_model(result.instance),
        delivery=result.delivery,
        error=result.error,
    )
