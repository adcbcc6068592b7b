"""Drift: a member's copy of a cluster key, changed outside clusterd."""

from __future__ import annotations

import datetime as dt

import strawberry

from .. import models


@strawberry.type
class DriftFields:
    """What a Drift row and a DriftEvent both say (not in the schema itself)."""

    instance_id: strawberry.ID = strawberry.field(description="The member.")
    cluster_id: strawberry.ID = strawberry.field(
        description="The cluster that sets the key: the member's own or one of its ancestors."
    )
    path: str = strawberry.field(description="The key's canonical name.")
    expected: str | None = strawberry.field(description="The cluster's value.")
    actual: str | None = strawberry.field(
        description="The member's value; null if the key was deleted there."
    )


@strawberry.type(
    name="Drift",
    description="A key a cluster sets whose copy on a member was changed outside clusterd, "
    "while no write of it to the member was in flight. Gone when the two agree again; settle it "
    "with resolveDrift.",
)
class DriftType(DriftFields):
    detected_at: dt.datetime = strawberry.field(description="When it was recorded or last changed.")

    @classmethod
    def from_model(cls, drift: models.Drift) -> DriftType:
        return cls(
            instance_id=strawberry.ID(str(drift.instance_id)),
            cluster_id=strawberry.ID(str(drift.cluster_id)),
            path=drift.path,
            expected=drift.expected,
            actual=drift.actual,
            detected_at=drift.detected_at,
        )
