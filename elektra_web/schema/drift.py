"""Drift: a member's copy of a cluster key, changed outside clusterd."""

from __future__ import annotations

import datetime as dt

import strawberry

from .. import models


@strawberry.type(name="Drift")
class DriftType:
    instance_id: strawberry.ID
    cluster_id: strawberry.ID
    path: str
    expected: str | None = strawberry.field(description="The cluster's value.")
    actual: str | None = strawberry.field(
        description="The member's value; null if the key was deleted there."
    )
    detected_at: dt.datetime

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
