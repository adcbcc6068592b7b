"""Mount: a configuration file mounted into an instance's keys."""

from __future__ import annotations

from enum import Enum

import strawberry

from ..resolvers.reads import MountData


@strawberry.enum(name="MountStatus", description="Whether a mounted file parses.")
class MountStatus(Enum):
    OK = strawberry.enum_value("OK", description="It parses: its keys are read and written.")
    BROKEN = strawberry.enum_value(
        "BROKEN",
        description="It does not parse (error says why): its keys are not shown, reads and "
        "writes of its subtree are refused, and the file is never rewritten, until it parses "
        "again. The rest of the instance is read as usual.",
    )


@strawberry.type(
    name="Mount",
    description="A configuration file mounted into an instance's keys: the keys at and below "
    "mountPoint are the file's content.",
)
class MountType:
    mount_point: str = strawberry.field(
        description='The key the file is mounted at, canonical, e.g. "user:/app".'
    )
    format: str = strawberry.field(description='The file\'s format: "ini", "json" or "toml".')
    file: str = strawberry.field(description="The file's absolute path on the instance.")
    status: MountStatus = strawberry.field(description="Whether the file parses.")
    error: str | None = strawberry.field(
        description="BROKEN: the parser's message (with the line where it tells one); null "
        "while the file parses."
    )
    max_depth: int | None = strawberry.field(
        description="The most levels its keys have below mountPoint (INI: 2, a section and "
        "an option); null: any (JSON and TOML nest). A key with a value is a leaf in every "
        "format: it cannot have keys below it."
    )

    @classmethod
    def from_data(cls, data: MountData) -> MountType:
        return cls(
            mount_point=data.mount_point,
            format=data.format,
            file=data.file,
            status=MountStatus.BROKEN if data.broken else MountStatus.OK,
            error=data.error,
            max_depth=data.max_depth,
        )
