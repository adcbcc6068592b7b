"""Clusters (nestable) and the configuration they set on their members."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from .instance import Instance


class DriftPolicy(StrEnum):
    """What happens when a member's copy of a cluster key is changed outside
    clusterd."""

    REPORT = "REPORT"  # shown, for a person to re-apply or adopt
    REPAIR = "REPAIR"  # the cluster value is put back at once


class Cluster(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    description: str | None = fields.TextField(null=True)
    parent: fields.ForeignKeyNullableRelation[Cluster] = fields.ForeignKeyField(
        "clusterd.Cluster", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    drift_policy = fields.CharEnumField(
        # db_default too: a column added to a table with rows needs one (0002).
        DriftPolicy,
        default=DriftPolicy.REPORT,
        db_default="REPORT",
        max_length=10,
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "cluster"
        ordering = ("name",)


class ClusterKey(Model):
    """A key a cluster sets: locked on every member (rule 3)."""

    id = fields.IntField(primary_key=True)
    cluster: fields.ForeignKeyRelation[Cluster] = fields.ForeignKeyField(
        "clusterd.Cluster", related_name="keys", on_delete=fields.CASCADE
    )
    cluster_id: int
    # Canonical key name, e.g. ``user:/app/port``.
    path = fields.CharField(max_length=1000)
    value: str | None = fields.TextField(null=True)
    meta: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    #: The revision of the write that last changed it.
    revision = fields.BigIntField(default=0, db_default=0)

    class Meta:
        table = "cluster_key"
        unique_together = (("cluster", "path"),)
        ordering = ("path",)


class Drift(Model):
    """A member whose copy of a cluster key differs from the cluster's value,
    changed outside clusterd. Gone when the values agree again."""

    id = fields.IntField(primary_key=True)
    instance: fields.ForeignKeyRelation[Instance] = fields.ForeignKeyField(
        "clusterd.Instance", related_name="drift", on_delete=fields.CASCADE
    )
    instance_id: int
    cluster: fields.ForeignKeyRelation[Cluster] = fields.ForeignKeyField(
        "clusterd.Cluster", related_name="drift", on_delete=fields.CASCADE
    )
    cluster_id: int
    path = fields.CharField(max_length=1000)
    expected: str | None = fields.TextField(null=True)
    # None: the key was deleted on the member.
    actual: str | None = fields.TextField(null=True)
    detected_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "drift"
        unique_together = (("instance", "path"),)
        ordering = ("path",)
