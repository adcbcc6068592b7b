"""Instance: a registered elektrad, with its live configuration."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from .. import models
from ..models import DeliveryStatus
from ..resolvers import history
from ..resolvers.writes import Target
from .config_key import At, ConfigKeyType, Depth, KeyPath, selects_mount
from .context import Info
from .drift import DriftType
from .enums import InstanceStatus, OperationKind
from .mount import MountType

if TYPE_CHECKING:
    from .cluster import ClusterType


@strawberry.type(
    name="PendingWrite",
    description="A cluster write not applied on an instance: waiting (PENDING) or refused "
    "(FAILED, with the reason).",
)
class PendingWrite:
    operation_id: strawberry.ID = strawberry.field(
        description="The write it is part of (as in WriteResult and the audit log)."
    )
    instance_id: strawberry.ID = strawberry.field(description="The instance it is for.")
    op: OperationKind = strawberry.field(description="SET, DELETE or META.")
    path: str = strawberry.field(description="The key's canonical name.")
    value: str | None = strawberry.field(description="SET: the value; META: the entry's value.")
    meta: str | None = strawberry.field(description="META: the metadata entry's name.")
    status: DeliveryStatus = strawberry.field(description="PENDING or FAILED.")
    attempts: int = strawberry.field(description="Sends tried so far (0 after a retry).")
    last_error: str | None = strawberry.field(
        description="Why it waits (PENDING) or was refused (FAILED); null if not tried yet."
    )
    since: dt.datetime = strawberry.field(description="When the write was stored.")

    @classmethod
    def from_model(cls, d: models.Delivery) -> PendingWrite:
        return cls(
            operation_id=strawberry.ID(str(d.operation_id)),
            instance_id=strawberry.ID(str(d.instance_id)),
            op=d.kind,
            path=d.path,
            value=d.value,
            meta=d.meta_key,
            status=d.status,
            attempts=d.attempts,
            last_error=d.last_error,
            since=d.created_at,
        )


@strawberry.type(
    name="Instance",
    description="A machine's elektrad, registered with clusterd, and its configuration.",
)
class InstanceType:
    model: strawberry.Private[models.Instance]
    id: strawberry.ID = strawberry.field(description="Its id, for instance(id) and Target.")
    name: str = strawberry.field(description="Unique among instances; at most 200 characters.")
    host: str = strawberry.field(
        description='Base URL of its elektrad, normalized, e.g. "http://web-01:33333".'
    )
    description: str | None = strawberry.field(description="Free text; null if none.")
    visibility: str = strawberry.field(
        description='A label for clients (default "user", at most 50 characters); clusterd '
        "itself does nothing with it."
    )
    status: InstanceStatus = strawberry.field(
        description="Whether its elektrad answers, as of the last health check."
    )
    last_seen: dt.datetime | None = strawberry.field(
        description="When its elektrad last answered a health check (or its change feed "
        "answered); null if it never did."
    )
    elektra_version: str | None = strawberry.field(
        description="The Elektra version its elektrad reports; null until it answered."
    )
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

    @strawberry.field(description="The cluster it is a member of; null if none.")
    async def cluster(
        self, info: Info
    ) -> Annotated[ClusterType, strawberry.lazy(".cluster")] | None:
        from .cluster import ClusterType

        cluster = await info.context.cluster(self.model.cluster_id)
        return ClusterType.from_model(cluster) if cluster else None

    @strawberry.field(
        description="The key at path, read live (exists: false when missing). Null, with an "
        "INSTANCE_UNREACHABLE error, when the instance cannot be reached; with INVALID_KEY_NAME "
        "for a malformed path; with BAD_INPUT when one request asks for more than 20,000 key and "
        "keys fields of instances. With at: as it was then, from the history (the instance is "
        "not read; lockedBy and mount are null)."
    )
    async def key(self, info: Info, path: KeyPath, at: At = None) -> ConfigKeyType | None:
        if at is not None:
            target = Target(instance_id=str(self.model.id))
            return ConfigKeyType.from_data(
                await history.key_at(info.context.caller, target, path, at)
            )
        found = await info.context.reads.instance_key(
            self.model, path, with_mounts=selects_mount(info)
        )
        return ConfigKeyType.from_data(found)

    @strawberry.field(
        description="The key at path (even if missing), then its existing descendants to depth "
        "levels (at most 63, else BAD_INPUT), in name order, read live. Null with an error as "
        "for key."
    )
    async def keys(self, info: Info, path: KeyPath, depth: Depth = 1) -> list[ConfigKeyType] | None:
        found = await info.context.reads.instance_keys(
            self.model, path, depth, with_mounts=selects_mount(info)
        )
        return [ConfigKeyType.from_data(k) for k in found]

    @strawberry.field(
        description="Canonical names of the keys whose name (in either spelling) contains the "
        "query, read live. Null, with INSTANCE_UNREACHABLE, when the instance cannot be reached."
    )
    async def find(
        self,
        info: Info,
        query: Annotated[str, strawberry.argument(description='Text to look for, e.g. "app/".')],
    ) -> list[str] | None:
        return await info.context.reads.instance_find(self.model, query)

    @strawberry.field(
        description="The configuration files mounted into its keys, by mount point, read live: "
        "each with its format, file and whether it parses (a broken one hides only its own "
        "subtree). Null, with INSTANCE_UNREACHABLE, when the instance cannot be reached."
    )
    async def mounts(self, info: Info) -> list[MountType] | None:
        found = await info.context.reads.instance_mounts(self.model)
        return [MountType.from_data(m) for m in found]

    @strawberry.field(description="Keys its cluster sets that were changed here outside clusterd.")
    async def drift(self, info: Info) -> list[DriftType]:
        rows = await info.context.drift.load(self.model.id)
        return [DriftType.from_model(d) for d in rows]

    @strawberry.field(
        description="Cluster writes waiting for this instance (it is unreachable, "
        "or refused them for now, e.g. while a mounted file is broken); retried."
    )
    async def pending(self, info: Info) -> list[PendingWrite]:
        rows = await info.context.unapplied.load(self.model.id)
        return [PendingWrite.from_model(d) for d in rows if d.status is DeliveryStatus.PENDING]

    @strawberry.field(
        description="Cluster writes this instance refused: not applied, with the reason, until "
        "the key changes again or an editor retries them (retryDeliveries)."
    )
    async def failed(self, info: Info) -> list[PendingWrite]:
        rows = await info.context.unapplied.load(self.model.id)
        return [PendingWrite.from_model(d) for d in rows if d.status is DeliveryStatus.FAILED]
