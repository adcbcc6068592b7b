"""The API's enums are the models' own, registered with GraphQL names here, so
that the two cannot drift. Annotate fields with the model enums."""

from __future__ import annotations

import strawberry

from ..models import DeliveryStatus, DriftPolicy, InstanceStatus, OperationKind
from ..resolvers.auth import Role
from ..resolvers.drift import DriftAction

strawberry.enum(InstanceStatus, name="InstanceStatus")
strawberry.enum(OperationKind, name="ChangeOp")
strawberry.enum(DeliveryStatus, name="Delivery")
strawberry.enum(DriftPolicy, name="DriftPolicy")
strawberry.enum(DriftAction, name="DriftAction")
strawberry.enum(Role, name="Role")

__all__ = [
    "DeliveryStatus",
    "DriftAction",
    "DriftPolicy",
    "InstanceStatus",
    "OperationKind",
    "Role",
]
