"""Operations (one write through clusterd) and their durable deliveries.

A cluster write stores one :class:`Operation` and one :class:`Delivery` per
member in the same transaction; deliveries are then sent, retried with backoff
while the member is unreachable, and sent in id order per instance, so that a
member that comes back ends with the cluster's latest value.

Every cluster operation takes the next :class:`Revision` (one counter for the
whole database, bumped first in the write's transaction, so revisions grow in
commit order) and each of its deliveries carries it as a fence: our elektrad
refuses a revision older than the one a key already has, so a delivery that
arrives late can never step a member back (see ``engine/``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from .cluster import Cluster
    from .instance import Instance


class OperationKind(StrEnum):
    SET = "SET"
    DELETE = "DELETE"
    MOVE = "MOVE"
    COPY = "COPY"
    META = "META"
    #: A mounted file of an instance broke or parses again: a change of its
    #: feed only (``ConfigChanged``), never a write nor a delivery.
    MOUNT = "MOUNT"


class DeliveryStatus(StrEnum):
    #: The member confirmed it (its answer, or its change feed's echo).
    APPLIED = "APPLIED"
    #: Not yet: being sent, or waiting for the member (retried with backoff).
    PENDING = "PENDING"
    #: The member refused it for good (its reason in ``last_error``); shown
    #: until the key changes again or an editor retries it.
    FAILED = "FAILED"
    #: A newer write of the same key replaced it before it landed (or the
    #: member already had a newer revision): nothing left to send.
    SUPERSEDED = "SUPERSEDED"


class Revision(Model):
    """The one row (``id`` 1) that numbers cluster writes, and ``source``: this
    database's name in the fences elektrads keep (a new database starts over)."""

    id = fields.IntField(primary_key=True)
    source = fields.CharField(max_length=64)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "revision"


class Operation(Model):
    id = fields.UUIDField(primary_key=True)
    kind = fields.CharEnumField(OperationKind, max_length=10)
    path = fields.CharField(max_length=1000)
    cluster: fields.ForeignKeyNullableRelation[Cluster] = fields.ForeignKeyField(
        "clusterd.Cluster", related_name="operations", null=True, on_delete=fields.SET_NULL
    )
    cluster_id: int | None
    instance: fields.ForeignKeyNullableRelation[Instance] = fields.ForeignKeyField(
        "clusterd.Instance", related_name="operations", null=True, on_delete=fields.SET_NULL
    )
    instance_id: int | None
    #: Cluster operations: the revision its deliveries are fenced with.
    revision: int | None = fields.BigIntField(null=True)
    #: Who asked for it (the caller's name, e.g. "alice (token 2)"): the
    #: actor of its history entries. Null: clusterd's own work.
    actor = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "operation"


class Delivery(Model):
    """One change to send to one instance. The payload is the delivery's own:
    joining a cluster makes one operation with a delivery per cluster key."""

    id = fields.BigIntField(primary_key=True)
    operation: fields.ForeignKeyRelation[Operation] = fields.ForeignKeyField(
        "clusterd.Operation", related_name="deliveries", on_delete=fields.CASCADE
    )
    operation_id: str
    instance: fields.ForeignKeyRelation[Instance] = fields.ForeignKeyField(
        "clusterd.Instance", related_name="deliveries", on_delete=fields.CASCADE
    )
    instance_id: int
    kind = fields.CharEnumField(OperationKind, max_length=10)
    path = fields.CharField(max_length=1000)
    # SET: the value; META: the metadata value (None: remove the entry).
    value: str | None = fields.TextField(null=True)
    # MOVE/COPY: the destination.
    target = fields.CharField(max_length=1000, null=True)
    # META: the metadata name.
    meta_key = fields.CharField(max_length=200, null=True)
    #: The operation's revision, sent as the fence (None: rows from before fencing).
    revision: int | None = fields.BigIntField(null=True)
    status = fields.CharEnumField(DeliveryStatus, default=DeliveryStatus.PENDING, max_length=10)
    attempts = fields.IntField(default=0)
    last_error: str | None = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    applied_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery"
        indexes = (("instance_id", "status"), ("status", "next_attempt_at"))
