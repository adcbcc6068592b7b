"""Clusters (nestable) and the configuration they set on their members."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Cluster(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    description: str | None = fields.TextField(null=True)
    parent: fields.ForeignKeyNullableRelation[Cluster] = fields.ForeignKeyField(
        "clusterd.Cluster", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
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

    class Meta:
        table = "cluster_key"
        unique_together = (("cluster", "path"),)
        ordering = ("path",)
