"""ConfigKey: a key of an instance (live) or of a cluster (stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from ..resolvers.reads import ConfigKeyData

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
    locked_by: Annotated[ClusterType, strawberry.lazy(".cluster")] | None = strawberry.field(
        description="On an instance: the cluster that sets this key (it is locked); else null."
    )

    @classmethod
    def from_data(cls, data: ConfigKeyData) -> ConfigKeyType:
        from .cluster import ClusterType

        return cls(
            path=data.path,
            name=data.name,
            exists=data.exists,
            value=data.value,
            meta=[MetaEntry(key=k, value=v) for k, v in sorted(data.meta.items())],
            children=data.children,
            locked_by=ClusterType.from_model(data.locked_by) if data.locked_by else None,
        )
