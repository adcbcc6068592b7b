"""The API's enums are the models' own, registered with GraphQL names here, so
that the two cannot drift. Annotate fields with the model enums."""

from __future__ import annotations

import strawberry

from ..models import DeliveryStatus, InstanceStatus, OperationKind

strawberry.enum(InstanceStatus, name="InstanceStatus")
strawberry.enum(OperationKind, name="ChangeOp")
strawberry.enum(DeliveryStatus, name="Delivery")

__all__ = ["DeliveryStatus", "InstanceStatus", "OperationKind"]
