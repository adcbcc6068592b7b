"""The API's enums are the models' own, registered with GraphQL names here, so
that the two cannot drift. Annotate fields with the model enums.

Their values are described here too: ``strawberry.enum_value`` would have to
be the models' member values, which the database stores."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

from ..engine.events import FleetChange
from ..models import DeliveryStatus, DriftPolicy, InstanceStatus, OperationKind
from ..resolvers.auth import Role
from ..resolvers.drift import DriftAction

__all__ = [
    "DeliveryStatus",
    "DriftAction",
    "DriftPolicy",
    "FleetChange",
    "InstanceStatus",
    "OperationKind",
    "Role",
]


def _register(cls: type[Enum], name: str, description: str, values: dict[str, str]) -> None:
    """Register ``cls`` as the GraphQL enum ``name``, each value described."""
    # A type annotated with the enum before this ran made a definition of its
    # own (undescribed), and the schema would hold two: import enums from here.
    assert "__strawberry_definition__" not in vars(cls), f"{name} used before it was registered"
    strawberry.enum(cls, name=name, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    assert isinstance(definition, StrawberryEnumDefinition)
    assert {v.name for v in definition.values} == set(values), f"describe each value of {name}"
    for value in definition.values:
        value.description = values[value.name]


_register(
    InstanceStatus,
    "InstanceStatus",
    "Whether an instance's elektrad answers clusterd.",
    {
        "ONLINE": "It answered its last health check (or its change feed answered lately).",
        "OFFLINE": "It did not answer, or refused clusterd's token. Reads of it fail with "
        "INSTANCE_UNREACHABLE; cluster writes wait for it (PENDING).",
        "UNKNOWN": "Not asked yet.",
    },
)
_register(
    OperationKind,
    "ChangeOp",
    "What a change does to a key.",
    {
        "SET": "Set the key's value (creating the key if needed).",
        "DELETE": "Delete the key.",
        "MOVE": "Move a key and its subtree: a kind of write only. ConfigChange and PendingWrite "
        "show it as the SET and META of each key at the destination and the DELETE of each at "
        "the source.",
        "COPY": "Copy a key and its subtree: a kind of write only. ConfigChange and PendingWrite "
        "show it as the SET and META of each key at the destination.",
        "META": "Set one metadata entry of the key, or remove it (the value is null).",
        "MOUNT": "ConfigChange only: a mounted file of the instance broke (value: the "
        "parser's message) or parses again (value: null); path is its mount point. The keys "
        "of a broken file are not shown (see Mount) until it parses again.",
    },
)
_register(
    DeliveryStatus,
    "Delivery",
    "Where a write stands on one instance.",
    {
        "APPLIED": "The instance has it: it confirmed it (its answer, or its change feed).",
        "PENDING": "Not yet: being sent, or waiting for the instance (it is unreachable, or "
        "refused for now); retried with backoff.",
        "FAILED": "The instance refused it for good (error says why, e.g. its check/* "
        "metadata). Listed in Instance.failed until the key changes again or an editor calls "
        "retryDeliveries.",
        "SUPERSEDED": "A newer write of the same key replaced it before it landed: nothing left "
        "to send. Counts as done.",
    },
)
_register(
    DriftPolicy,
    "DriftPolicy",
    "What a cluster does when a member's copy of a key it sets is changed outside clusterd.",
    {
        "REPORT": "Record it as drift (Instance.drift, Cluster.drift, driftChanged) for a "
        "person to settle with resolveDrift. The default.",
        "REPAIR": "Put the cluster's value back on the member at once.",
    },
)
_register(
    DriftAction,
    "DriftAction",
    "How resolveDrift settles drift of one key on one member.",
    {
        "REAPPLY": "Send the cluster's value to the member again.",
        "ADOPT": "Make the member's value the cluster's: a cluster write that reaches every "
        "member. Only for a key the member still has.",
        "ADOPT_DELETION": "For a key deleted on the member: delete it from the cluster, and so "
        "from every member.",
    },
)
_register(
    Role,
    "Role",
    "What a token may do; each role may do what the ones before it may.",
    {
        "VIEWER": "Read everything but tokens and the audit log, and subscribe.",
        "EDITOR": "Also write configuration: setKey, deleteKey, moveKey, copyKey, setMeta, "
        "deleteMeta, resolveDrift, retryDeliveries.",
        "ADMIN": "Also manage instances, clusters and tokens, and read the audit log.",
    },
)
_register(
    FleetChange,
    "FleetChange",
    "What a FleetEvent tells of.",
    {
        "INSTANCE_ADDED": "An instance was registered (instance: its fields).",
        "INSTANCE_UPDATED": "An instance's name, URL, token, description or label changed "
        "(instance: its new fields; a new URL also resets its status).",
        "INSTANCE_STATUS": "An instance went ONLINE or OFFLINE (instance: its new fields).",
        "INSTANCE_MEMBERSHIP": "An instance was assigned to a cluster or unassigned (instance: "
        "its new fields; clusterId: its cluster now, null if none; previousClusterId: the "
        "one it left).",
        "INSTANCE_REMOVED": "An instance was removed (instanceId; previousClusterId: its "
        "cluster). instance is null.",
        "DELIVERIES": "Writes not applied (Instance.pending, Instance.failed) changed for the "
        "instances in instanceIds, or, with clusterId, for the members of that cluster and of "
        "the clusters nested in it (a cluster write). Read those rows again if you show them.",
        "CLUSTER_ADDED": "A cluster was created (cluster: its fields; parentId).",
        "CLUSTER_UPDATED": "A cluster was renamed, described, given another drift policy or "
        "nested elsewhere (cluster: its new fields; parentId: its parent now).",
        "CLUSTER_REMOVED": "A cluster was deleted (clusterId). Its members are in no cluster now: "
        "there is no INSTANCE_MEMBERSHIP event for each of them.",
    },
)
