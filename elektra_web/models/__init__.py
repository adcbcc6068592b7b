"""clusterd's database: Tortoise models and the rules the database enforces.

- ``instance.host`` and ``instance.elektrad_id`` are unique (rule 1);
- an instance has one ``cluster`` column, set only when it is empty, in one
  conditional UPDATE (rule 2: of two concurrent assignments one wins);
- ``cluster_key`` is unique per (cluster, path);
- ``delivery`` rows are the durable per-instance queue of cluster writes
  (rule 4), delivered in id order per instance, each fenced with its
  operation's ``revision`` (one counter row, bumped in the write's transaction);
- ``token.digest`` is unique: a secret names one token;
- ``history_entry`` rows are the history of every changed key (kept as
  long as the retention settings say).

The schema changes only through migrations (``elektra_web/models/migrations``),
applied by clusterd at start-up.

(Tortoise types ``TextField`` as never null: the nullable ones are annotated
with their real type.)
"""

from __future__ import annotations

from .access import AuditEntry, Token, TokenRole
from .cluster import Cluster, ClusterKey, Drift, DriftPolicy
from .delivery import Delivery, DeliveryStatus, Operation, OperationKind, Revision
from .history import ON_THE_MACHINE, HistoryEntry
from .instance import Instance, InstanceStatus

__all__ = [
    "ON_THE_MACHINE",
    "AuditEntry",
    "Cluster",
    "ClusterKey",
    "Delivery",
    "DeliveryStatus",
    "Drift",
    "DriftPolicy",
    "HistoryEntry",
    "Instance",
    "InstanceStatus",
    "Operation",
    "OperationKind",
    "Revision",
    "Token",
    "TokenRole",
]
