"""ConfigKey: a key of an instance (live) or of a cluster (stored)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from ..resolvers.reads import ConfigKeyData
from .context import Info
from .mount import MountType

if TYPE_CHECKING:
    from .cluster import ClusterType

#: The ``path`` argument of the reads.
KeyPath = Annotated[
    str,
    strawberry.argument(
        description='A key name, in either spelling: "user:/app/port" or "user/app/port".'
    ),
]


def selects_mount(info: Info) -> bool:
    """Whether the query asks for ``mount`` of the keys a field returns
    (directly or in a fragment): only then are the instance's mounts read."""

    def wanted(selections: list[Selection]) -> bool:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if selection.name == "mount":
                    return True
            elif wanted(selection.selections):
                return True
        return False

    return any(wanted(field.selections) for field in info.selected_fields)


#: The ``at`` argument of the key reads (time-travel).
At = Annotated[
    dt.datetime | None,
    strawberry.argument(
        description="The key as it was at this moment, from the history (time-travel): the "
        "newest change of it at or before then, its children then; a key last changed before "
        "history began, or before its entries were pruned, is not known (exists: false). "
        "Null: as it is now."
    ),
]

#: The ``depth`` argument of the reads.
Depth = Annotated[
    int,
    strawberry.argument(
        description="How many levels below path: 0 is the key alone, 1 adds its children, "
        "and so on (below 0 counts as 0)."
    ),
]


@strawberry.type(name="MetaEntry", description="One metadata entry of a key.")
class MetaEntry:
    key: str = strawberry.field(description='Its name, e.g. "check/type".')
    value: str = strawberry.field(description="Its value.")


@strawberry.type(
    name="ConfigKey",
    description="A configuration key: of an instance (read live from its elektrad) or of a "
    "cluster (stored by clusterd).",
)
class ConfigKeyType:
    path: str = strawberry.field(description='Canonical full name, e.g. "user:/app/port".')
    name: str = strawberry.field(description='The last part, e.g. "port".')
    exists: bool = strawberry.field(
        description="Whether the key exists (on a cluster: whether the cluster sets it). A "
        "missing key can still have children."
    )
    value: str | None = strawberry.field(
        description="Its value; null when it does not exist or has none."
    )
    meta: list[MetaEntry] = strawberry.field(description="Its metadata, by name.")
    children: list[str] = strawberry.field(
        description="Full names of the direct children (like kdb ls, one level), in name "
        "order; a name there may only lead to deeper keys (exists: false)."
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

    @strawberry.field(
        description="On an instance: the mounted file this key is in (it is its mountPoint or "
        "below it); null for a key of the elektrad's own store, and on a cluster. A broken "
        "file's mount point is listed by keys (exists: false) with this mount, its status "
        "BROKEN and the parser's message, in place of its keys."
    )
    def mount(self) -> MountType | None:
        # Filled in by the read that made the key when the query selects it
        # (see selects_mount): no call per key.
        return MountType.from_data(self.data.mount) if self.data.mount else None

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
