"""Instance: a registered elektrad, with its live configuration."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from .. import models
from ..models import Delivery, DeliveryStatus
from .config_key import ConfigKeyType
from .context import Info
from .drift import DriftType
from .enums import InstanceStatus, OperationKind

if TYPE_CHECKING:
    from .cluster import ClusterType


@strawberry.type(name="PendingWrite")
class PendingWrite:
    operation_id: strawberry.ID
    op: OperationKind
    path: str
    attempts: int
    last_error: str | None
    since: dt.datetime


@strawberry.type(name="Instance")
class InstanceType:
    model: strawberry.Private[models.Instance]
    id: strawberry.ID
    name: str
    host: str = strawberry.field(description="Base URL of its elektrad, normalized.")
    description: str | None
    visibility: str
    status: InstanceStatus
    last_seen: dt.datetime | None
    elektra_version: str | None = strawberry.field(description="As its elektrad reports it.")
    has_token: bool = strawberry.field(
        description="Whether clusterd sends a token to its elektrad (the token is never shown)."
    )

    @classmethod
    def from_model(cls, model: models.Instance) -> InstanceType:
        return cls(
            model=model,
            id=strawberry.ID(str(model.id)),
            name=model.name,
            host=model.host,
            description=model.description,
            visibility=model.visibility,
            status=model.status,
            last_seen=model.last_seen,
            elektra_version=model.elektra_version,
            has_token=model.token is not None,
        )

    @strawberry.field
    async def cluster(
        self, info: Info
    ) -> Annotated[ClusterType, strawberry.lazy(".cluster")] | None:
        from .cluster import ClusterType

        cluster = await info.context.cluster(self.model.cluster_id)
        return ClusterType.from_model(cluster) if cluster else None

    @strawberry.field(
        description="The key at path, read live (exists: false when missing). Null, with an "
        "INSTANCE_UNREACHABLE error, when the instance cannot be reached."
    )
    async def key(self, info: Info, path: str) -> ConfigKeyType | None:
        return ConfigKeyType.from_data(await info.context.reads.instance_key(self.model, path))

    @strawberry.field(description="The key at path and its existing descendants to depth.")
    async def keys(self, info: Info, path: str, depth: int = 1) -> list[ConfigKeyType] | None:
        found = await info.context.reads.instance_keys(self.model, path, depth)
        return [ConfigKeyType.from_data(k) for k in found]

    @strawberry.field(description="Names of keys whose name contains the query.")
    async def find(self, info: Info, query: str) -> list[str] | None:
        return await info.context.reads.instance_find(self.model, query)

    @strawberry.field(description="Keys its cluster sets that were changed here outside clusterd.")
    async def drift(self) -> list[DriftType]:
        rows = await models.Drift.filter(instance_id=self.model.id)
        return [DriftType.from_model(d) for d in rows]

    @strawberry.field(description="Writes waiting for this instance to come back.")
    async def pending(self) -> list[PendingWrite]:
        rows = await Delivery.filter(
            instance_id=self.model.id, status=DeliveryStatus.PENDING
        ).order_by("id")
        return [
            PendingWrite(
                operation_id=strawberry.ID(str(d.operation_id)),
                op=d.kind,
                path=d.path,
                attempts=d.attempts,
                last_error=d.last_error,
                since=d.created_at,
            )
            for d in rows
        ]
