"""A registered elektrad."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from .cluster import Cluster


class InstanceStatus(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    UNKNOWN = "UNKNOWN"


class Instance(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    # The normalized base URL of its elektrad (connector.urls.normalize_host).
    host = fields.CharField(max_length=500, unique=True)
    # The ``instanceId`` its elektrad reports: the same daemon under another
    # address is refused by this unique column.
    elektrad_id = fields.CharField(max_length=64, null=True, unique=True)
    description: str | None = fields.TextField(null=True)
    visibility = fields.CharField(max_length=50, default="user")
    # The bearer token its elektrad requires, if any. Stored as it is (clusterd
    # must send it) and never returned through the API.
    token = fields.CharField(max_length=500, null=True)
    status = fields.CharEnumField(InstanceStatus, default=InstanceStatus.UNKNOWN, max_length=10)
    last_seen = fields.DatetimeField(null=True)
    elektra_version = fields.CharField(max_length=50, null=True)
    cluster: fields.ForeignKeyNullableRelation[Cluster] = fields.ForeignKeyField(
        "clusterd.Cluster", related_name="instances", null=True, on_delete=fields.SET_NULL
    )
    cluster_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    # Where clusterd is in the instance's change feed, so that following it
    # resumes after a restart without losing a change.
    feed_epoch = fields.CharField(max_length=64, null=True)
    feed_revision = fields.BigIntField(null=True)
    # Leases, so that of several clusterd replicas exactly one follows the
    # feed of an instance and one sends its deliveries at a time.
    follower = fields.CharField(max_length=64, null=True)
    follower_until = fields.DatetimeField(null=True)
    sender = fields.CharField(max_length=64, null=True)
    sender_until = fields.DatetimeField(null=True)

    class Meta:
        table = "instance"
        ordering = ("name",)
