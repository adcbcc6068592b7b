"""Inputs of the instance and cluster mutations."""

from __future__ import annotations

import strawberry

from ..resolvers.clusters import KEEP, ClusterInput
from ..resolvers.instances import InstanceInput
from .enums import DriftPolicy, Role


@strawberry.input
class AddInstanceInput:
    name: str
    host: str
    description: str | None = None
    visibility: str | None = None
    token: str | None = strawberry.field(
        default=None,
        description="The bearer token its elektrad requires. Stored by clusterd, sent with "
        "every call to it, never returned.",
    )

    def to_data(self) -> InstanceInput:
        return InstanceInput(
            self.name, self.host, self.description, self.visibility, token=self.token
        )


@strawberry.input
class UpdateInstanceInput:
    name: str | None = None
    host: str | None = None
    description: str | None = None
    visibility: str | None = None
    token: str | None = strawberry.field(
        default=None, description='A new token for its elektrad; "" for none.'
    )

    def to_data(self) -> InstanceInput:
        return InstanceInput(
            self.name, self.host, self.description, self.visibility, token=self.token
        )


@strawberry.input
class CreateTokenInput:
    name: str = strawberry.field(description='Whose or what for, e.g. "alice" or "deploy bot".')
    role: Role


@strawberry.input
class CreateClusterInput:
    name: str
    description: str | None = None
    parent_id: strawberry.ID | None = None
    drift_policy: DriftPolicy | None = None

    def to_data(self) -> ClusterInput:
        return ClusterInput(self.name, self.description, self.parent_id, self.drift_policy)


@strawberry.input
class UpdateClusterInput:
    name: str | None = None
    description: str | None = None
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="The new parent; null makes the cluster top-level; omitted keeps it.",
    )

    drift_policy: DriftPolicy | None = None

    def to_data(self) -> ClusterInput:
        parent = KEEP if self.parent_id is strawberry.UNSET else self.parent_id
        return ClusterInput(self.name, self.description, parent, self.drift_policy)
