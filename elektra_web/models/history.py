"""The history of configuration: one row per changed key, kept for a while.

Every :class:`~elektra_web.engine.events.ConfigChanged` clusterd publishes is
recorded here (``engine/history.py``): a change of a cluster's own config
(``cluster_id`` set, ``instance_id`` null) and each change of an instance's
config (``instance_id`` set), whether clusterd made it or it was made on the
machine and read from the member's change feed. Ids grow with each entry, so
"newest first" is ``ORDER BY id DESC`` and a page's cursor is an id.

Instances and clusters are referred to by plain ids, not foreign keys: the
history of a removed instance stays readable until retention prunes it, and
recording never waits on a row lock of the instance.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from .delivery import OperationKind

__all__ = ["ON_THE_MACHINE", "HistoryEntry"]

#: The actor of a change made on the machine, outside clusterd.
ON_THE_MACHINE = "on the machine"


class HistoryEntry(Model):
    """One changed key of one instance or of one cluster's own config."""

    id = fields.BigIntField(primary_key=True)
    #: When clusterd learned of the change (the event's time).
    at = fields.DatetimeField()
    #: The token's name for a change through clusterd ("alice (token 2)"),
    #: "clusterd" for clusterd's own work, or :data:`ON_THE_MACHINE`.
    actor = fields.CharField(max_length=200)
    #: "clusterd" (made through clusterd) or "instance" (made on the machine).
    origin = fields.CharField(max_length=20)
    #: The operation (one write through clusterd), null for a change on the machine.
    operation_id = fields.CharField(max_length=36, null=True)
    op = fields.CharEnumField(OperationKind, max_length=10)
    # Canonical key name, e.g. ``user:/app/port``.
    path = fields.CharField(max_length=1000)
    #: SET: the new value, META: the entry's new value (null: removed).
    value: str | None = fields.TextField(null=True)
    #: The value (META: the entry's value) before the change, if known.
    previous: str | None = fields.TextField(null=True)
    #: META: the metadata entry's name.
    meta_key = fields.CharField(max_length=200, null=True)
    #: The instance whose config changed (null: a cluster's own config).
    instance_id: int | None = fields.IntField(null=True)
    #: The cluster whose own config changed (null: an instance's config).
    cluster_id: int | None = fields.IntField(null=True)

    class Meta:
        table = "history_entry"
        # A target's history of a key or subtree, newest first; pruning by age.
        indexes = (("instance_id", "path", "id"), ("cluster_id", "path", "id"), ("at",))
