"""ConfigKey: a key of an instance (live) or of a cluster (stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from ..resolvers.reads import ConfigKeyData
from .context import Info

if TYPE_CHECKING:
    from .cluster import ClusterType


@strawberry.type(name="MetaEntry")
class MetaEntry:
    key: str
    value: str


@strawberry.type(name="ConfigKey")
class ConfigKeyType:
    path: str = strawberry.field(description='Canonical full name, e.g. "user:/app/port".')
    name: str = strawberry.field(description='The last part, e.g. "port".')
    exists: bool
    value: str | None
    meta: list[MetaEntry]
    children: list[str] = strawberry.field(
        description="Full names of the direct children (like kdb ls, one level)."
    )
    data: strawberry.Private[ConfigKeyData]

    @strawberry.field(
        description="On an instance: the cluster that sets this key (it is locked); else null."
    )
    async def locked_by(
        self, info: Info
    ) -> Annotated[ClusterType, strawberry.lazy(".cluster")] | None:
        # Only looked up when asked: it costs queries per instance.
        from .cluster import ClusterType

        if self.data.instance is None:
            return None
        owner = await info.context.reads.lock_owner(self.data.instance, self.path)
        return ClusterType.from_model(owner) if owner else None

    @classmethod
    def from_data(cls, data: ConfigKeyData) -> ConfigKeyType:
        return cls(
            data=data,
            path=data.path,
            name=data.name,
            exists=data.exists,
            value=data.value,
            meta=[MetaEntry(key=k, value=v) for k, v in sorted(data.meta.items())],
            children=data.children,
        )
