"""Inputs of the instance and cluster mutations."""

from __future__ import annotations

import strawberry

from ..resolvers.clusters import KEEP, ClusterInput
from ..resolvers.instances import InstanceInput
from .enums import DriftPolicy, Role


@strawberry.input(description="A new instance.")
class AddInstanceInput:
    name: str = strawberry.field(
        description="Unique among instances; 1 to 200 characters (spaces around are removed)."
    )
    host: str = strawberry.field(
        description='The URL of its elektrad, e.g. "http://web-01:33333": http or https, without '
        "user info, query or fragment; without a scheme (web-01:33333) it is http. Normalized: "
        "case, a default port and a trailing slash do not matter."
    )
    description: str | None = strawberry.field(default=None, description="Free text.")
    visibility: str | None = strawberry.field(
        default=None,
        description='A label for clients, at most 50 characters; null for "user".',
    )
    token: str | None = strawberry.field(
        default=None,
        description="The bearer token its elektrad requires. Stored by clusterd, sent with "
        "every call to it, never returned.",
    )
    allow_offline: bool = strawberry.field(
        default=False,
        description="Register it even if nothing answers as an elektrad at host: it is "
        "registered OFFLINE (lastSeen null) and health checks find it once it answers. "
        "false: that is refused with INSTANCE_UNREACHABLE, which says why.",
    )

    def to_data(self) -> InstanceInput:
        return InstanceInput(
            self.name,
            self.host,
            self.description,
            self.visibility,
            token=self.token,
            allow_offline=self.allow_offline,
        )


@strawberry.input(description="Changes to an instance: a field left out or null stays as it is.")
class UpdateInstanceInput:
    name: str | None = strawberry.field(
        default=None, description="A new name, unique among instances; 1 to 200 characters."
    )
    host: str | None = strawberry.field(
        default=None,
        description="A new URL of its elektrad (as in addInstance); it is asked for its version "
        "again at once.",
    )
    description: str | None = strawberry.field(
        default=None, description="A new description (it cannot be removed, only replaced)."
    )
    visibility: str | None = strawberry.field(
        default=None, description="A new label, at most 50 characters."
    )
    token: str | None = strawberry.field(
        default=None, description='A new token for its elektrad; "" for none.'
    )

    def to_data(self) -> InstanceInput:
        return InstanceInput(
            self.name, self.host, self.description, self.visibility, token=self.token
        )


@strawberry.input(description="A new API token.")
class CreateTokenInput:
    name: str = strawberry.field(
        description='Whose or what for, e.g. "alice" or "deploy bot"; 1 to 200 characters, '
        "need not be unique."
    )
    role: Role = strawberry.field(description="What its holder may do.")
    expires_in: int | None = strawberry.field(
        default=None,
        description="Seconds until it expires (1 to 10 years' worth), e.g. 2592000 for 30 "
        "days; omitted or null: it never expires (until revoked).",
    )


@strawberry.input(description="A new cluster, without members or keys.")
class CreateClusterInput:
    name: str = strawberry.field(
        description="Unique among clusters; 1 to 200 characters (spaces around are removed)."
    )
    description: str | None = strawberry.field(default=None, description="Free text.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="The cluster to nest it in; null for a top-level cluster."
    )
    drift_policy: DriftPolicy | None = strawberry.field(
        default=None, description="Null for REPORT."
    )

    def to_data(self) -> ClusterInput:
        return ClusterInput(self.name, self.description, self.parent_id, self.drift_policy)


@strawberry.input(
    description="Changes to a cluster: a field left out stays as it is, and so does one that "
    "is null, except parentId."
)
class UpdateClusterInput:
    name: str | None = strawberry.field(
        default=None, description="A new name, unique among clusters; 1 to 200 characters."
    )
    description: str | None = strawberry.field(
        default=None, description="A new description (it cannot be removed, only replaced)."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="The new parent; null makes the cluster top-level; omitted keeps it.",
    )

    drift_policy: DriftPolicy | None = strawberry.field(
        default=None, description="A new drift policy."
    )

    def to_data(self) -> ClusterInput:
        parent = KEEP if self.parent_id is strawberry.UNSET else self.parent_id
        return ClusterInput(self.name, self.description, parent, self.drift_policy)
