"""Cluster: a group of instances (nestable) with its own configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from .. import models
from ..engine.topology import members
from ..resolvers import history
from ..resolvers.compare import fleet_matrix
from ..resolvers.writes import Target
from .compare import FleetMatrix, PathPrefix
from .config_key import At, ConfigKeyType, Depth, KeyPath
from .context import Info
from .drift import DriftType
from .enums import DriftPolicy

if TYPE_CHECKING:
    from .instance import InstanceType, PendingWrite


@strawberry.type(
    name="Cluster",
    description="A group of instances with configuration of its own, which every member "
    "receives and which is locked on the members. Clusters nest: a member also receives (and "
    "is locked on) the keys of its cluster's ancestors, and along one chain of clusters each "
    "key has one owner.",
)
class ClusterType:
    model: strawberry.Private[models.Cluster]
    id: strawberry.ID = strawberry.field(description="Its id, for cluster(id) and Target.")
    name: str = strawberry.field(description="Unique among clusters; at most 200 characters.")
    description: str | None = strawberry.field(description="Free text; null if none.")
    drift_policy: DriftPolicy = strawberry.field(
        description="What happens when a member's copy of a key this cluster sets is "
        "changed outside clusterd."
    )

    @classmethod
    def from_model(cls, model: models.Cluster) -> ClusterType:
        return cls(
            model=model,
            id=strawberry.ID(str(model.id)),
            name=model.name,
            description=model.description,
            drift_policy=model.drift_policy,
        )

    @strawberry.field(description="Drift on the members (nested ones too) of keys it sets.")
    async def drift(self, info: Info) -> list[DriftType]:
        rows = await info.context.cluster_drift.load(self.model.id)
        return [DriftType.from_model(d) for d in rows]

    @strawberry.field(
        description="Writes of this cluster its members (nested ones too) refused: not applied, "
        "with the reason, until the key changes again or an editor retries them "
        "(retryDeliveries)."
    )
    async def failed(self) -> list[Annotated[PendingWrite, strawberry.lazy(".instance")]]:
        from .instance import PendingWrite

        rows = await models.Delivery.filter(
            operation__cluster_id=self.model.id, status=models.DeliveryStatus.FAILED
        ).order_by("id")
        return [PendingWrite.from_model(d) for d in rows]

    @strawberry.field(description="The cluster it is nested in; null for a top-level cluster.")
    async def parent(self, info: Info) -> ClusterType | None:
        parent = await info.context.cluster(self.model.parent_id)
        return ClusterType.from_model(parent) if parent else None

    @strawberry.field(description="The clusters nested directly in it.")
    async def children(self, info: Info) -> list[ClusterType]:
        rows = await info.context.children.load(self.model.id)
        return [ClusterType.from_model(c) for c in rows]

    @strawberry.field(description="Its members.")
    async def instances(
        self,
        info: Info,
        recursive: Annotated[
            bool,
            strawberry.argument(
                description="Also the members of the clusters nested in it, at any depth."
            ),
        ] = False,
    ) -> list[Annotated[InstanceType, strawberry.lazy(".instance")]]:
        from .instance import InstanceType

        if recursive:
            rows = await members(self.model, recursive=True)
        else:
            rows = await info.context.members.load(self.model.id)
        return [InstanceType.from_model(i) for i in rows]

    @strawberry.field(
        description="The cluster's own key at path, from clusterd's database (exists: false "
        "when the cluster does not set it); with at, as it was then. INVALID_KEY_NAME for a "
        "malformed path."
    )
    async def key(self, info: Info, path: KeyPath, at: At = None) -> ConfigKeyType:
        if at is not None:
            target = Target(cluster_id=str(self.model.id))
            return ConfigKeyType.from_data(
                await history.key_at(info.context.caller, target, path, at)
            )
        return ConfigKeyType.from_data(await info.context.reads.cluster_key(self.model, path))

    @strawberry.field(
        description="The key at path (even if the cluster does not set it), then the keys the "
        "cluster sets below it, to depth levels, in name order. INVALID_KEY_NAME for a "
        "malformed path."
    )
    async def keys(self, info: Info, path: KeyPath, depth: Depth = 1) -> list[ConfigKeyType]:
        found = await info.context.reads.cluster_keys(self.model, path, depth)
        return [ConfigKeyType.from_data(k) for k in found]

    @strawberry.field(
        description="Each member's (nested clusters' too) version of each key at and below "
        "pathPrefix, side by side with the cluster's own, the differences marked; members are "
        "read live, a bounded number at once. A member that cannot be read is a column "
        "with its error, not an error of the matrix. INVALID_KEY_NAME for a malformed or "
        "cascading pathPrefix; BAD_INPUT for too many keys."
    )
    async def matrix(self, info: Info, path_prefix: PathPrefix) -> FleetMatrix:
        return FleetMatrix.from_data(
            await fleet_matrix(info.context.reads, self.model, path_prefix)
        )
