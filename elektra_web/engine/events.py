"""The events clusterd publishes, typed.

They cross replicas as JSON through the event bus (:mod:`elektra_web.events`):
each type knows its ``TOPIC`` and turns itself into the bus's plain data and
back, so the names of the fields are written here and nowhere else.

- :class:`ConfigChanged` (``config``): one changed key of an instance or of a
  cluster's own config; ``cluster_ids`` are the clusters whose subscribers see
  it (the instance's cluster and its ancestors, or the cluster itself);
- :class:`StatusChanged` (``status``): an instance went ONLINE or OFFLINE;
- :class:`DeliveriesLanded` (``delivery``): deliveries that reached a final
  state (APPLIED, FAILED, SUPERSEDED), in one event per batch the sender
  recorded, on whichever replica sent them;
- :class:`DriftChanged` (``drift``): a member's copy of a cluster key was
  changed outside clusterd (``state`` "detected") or agrees again ("resolved");
- :class:`FleetChanged` (``fleet``): an instance was registered, changed,
  assigned or unassigned, or removed; a cluster was created, changed (renamed,
  nested elsewhere) or deleted. It carries the new fields (or the removed id),
  so a subscriber updates one row and reads nothing;
- :class:`Kick` (``kick``): between replicas only, "send to these instances
  now" to the replica that holds their sender lease;
- :class:`Handover` (``handover``): between replicas only, a replica that
  stops released its leases: the others send and follow at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from ..events import EventBusError
from ..models import (
    Cluster,
    DeliveryStatus,
    DriftPolicy,
    Instance,
    InstanceStatus,
    OperationKind,
)
from . import history
from .services import Services

__all__ = [
    "ConfigChanged",
    "DeliveriesLanded",
    "DriftChanged",
    "FleetChange",
    "FleetChanged",
    "Handover",
    "Kick",
    "Landing",
    "StatusChanged",
    "publish",
]

log = logging.getLogger("elektra_web.clusterd.events")


class _Event(Protocol):
    TOPIC: ClassVar[str]

    def to_data(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ConfigChanged:
    TOPIC: ClassVar[str] = "config"

    op: OperationKind
    path: str
    #: "clusterd" (made through clusterd) or "instance" (made on the machine).
    origin: str
    value: str | None = None
    previous: str | None = None
    #: META: the metadata entry's name.
    meta: str | None = None
    operation_id: str | None = None
    instance_id: int | None = None
    cluster_id: int | None = None
    cluster_ids: tuple[int, ...] = ()
    at: float = field(default_factory=time.time)

    def to_data(self) -> dict[str, Any]:
        return {
            "operationId": self.operation_id,
            "instanceId": self.instance_id,
            "clusterId": self.cluster_id,
            "clusterIds": list(self.cluster_ids),
            "op": self.op.value,
            "path": self.path,
            "value": self.value,
            "previous": self.previous,
            "meta": self.meta,
            "origin": self.origin,
            "at": self.at,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ConfigChanged:
        return cls(
            op=OperationKind(data["op"]),
            path=data["path"],
            origin=data["origin"],
            value=data["value"],
            previous=data["previous"],
            meta=data["meta"],
            operation_id=data["operationId"],
            instance_id=data["instanceId"],
            cluster_id=data["clusterId"],
            cluster_ids=tuple(data["clusterIds"]),
            at=data["at"],
        )


@dataclass(frozen=True, slots=True)
class StatusChanged:
    TOPIC: ClassVar[str] = "status"

    instance_id: int
    status: InstanceStatus

    def to_data(self) -> dict[str, Any]:
        return {"instanceId": self.instance_id, "status": self.status.value}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> StatusChanged:
        return cls(data["instanceId"], InstanceStatus(data["status"]))


@dataclass(frozen=True, slots=True)
class Landing:
    """One delivery's final state."""

    operation_id: str
    instance_id: int
    status: DeliveryStatus
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveriesLanded:
    TOPIC: ClassVar[str] = "delivery"

    landings: tuple[Landing, ...]

    @property
    def operation_ids(self) -> set[str]:
        return {landing.operation_id for landing in self.landings}

    def to_data(self) -> dict[str, Any]:
        return {
            # For subscribers' filters, which see every event: one set lookup.
            "operationIds": sorted(self.operation_ids),
            "landed": [
                [x.operation_id, x.instance_id, x.status.value, x.error] for x in self.landings
            ],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DeliveriesLanded:
        return cls(
            tuple(
                Landing(operation, instance, DeliveryStatus(status), error)
                for operation, instance, status, error in data["landed"]
            )
        )


@dataclass(frozen=True, slots=True)
class DriftChanged:
    TOPIC: ClassVar[str] = "drift"

    instance_id: int
    cluster_id: int
    cluster_ids: tuple[int, ...]
    path: str
    expected: str | None
    actual: str | None
    resolved: bool

    def to_data(self) -> dict[str, Any]:
        return {
            "instanceId": self.instance_id,
            "clusterId": self.cluster_id,
            "clusterIds": list(self.cluster_ids),
            "path": self.path,
            "expected": self.expected,
            "actual": self.actual,
            "state": "resolved" if self.resolved else "detected",
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DriftChanged:
        return cls(
            instance_id=data["instanceId"],
            cluster_id=data["clusterId"],
            cluster_ids=tuple(data["clusterIds"]),
            path=data["path"],
            expected=data["expected"],
            actual=data["actual"],
            resolved=data["state"] == "resolved",
        )


class FleetChange(StrEnum):
    """What a :class:`FleetChanged` tells of."""

    INSTANCE_ADDED = "INSTANCE_ADDED"
    #: Name, URL, token, description or label (a new URL resets the status).
    INSTANCE_UPDATED = "INSTANCE_UPDATED"
    #: ONLINE or OFFLINE, in a health check or a delivery (made from
    #: :class:`StatusChanged` by the subscription, not published as such).
    INSTANCE_STATUS = "INSTANCE_STATUS"
    #: Assigned to a cluster, or unassigned.
    INSTANCE_MEMBERSHIP = "INSTANCE_MEMBERSHIP"
    INSTANCE_REMOVED = "INSTANCE_REMOVED"
    #: Instances' deliveries not applied changed (made from
    #: :class:`DeliveriesLanded` and cluster writes by the subscription).
    DELIVERIES = "DELIVERIES"
    CLUSTER_ADDED = "CLUSTER_ADDED"
    #: Renamed, described, another drift policy, or nested elsewhere.
    CLUSTER_UPDATED = "CLUSTER_UPDATED"
    #: Deleted; its members are in no cluster now (no event per member).
    CLUSTER_REMOVED = "CLUSTER_REMOVED"


@dataclass(frozen=True, slots=True)
class FleetChanged:
    """One change to the fleet: the instance's or the cluster's fields after
    it (``fields``; none when removed), so no subscriber reads the row again.
    ``instance_id`` and ``cluster_id`` name what it is about; for an instance,
    ``cluster_id`` is its cluster after the change and ``previous_cluster_id``
    the one before (membership, removal)."""

    TOPIC: ClassVar[str] = "fleet"

    change: FleetChange
    instance_id: int | None = None
    cluster_id: int | None = None
    previous_cluster_id: int | None = None
    #: DELIVERIES: the instances whose deliveries not applied changed.
    instance_ids: tuple[int, ...] = ()
    #: The JSON of :func:`_instance_fields` or :func:`_cluster_fields` (not
    #: hashed: a dict cannot be).
    fields: dict[str, Any] | None = field(default=None, hash=False)

    @classmethod
    def of_instance(
        cls, change: FleetChange, instance: Instance, previous_cluster_id: int | None = None
    ) -> FleetChanged:
        """``change`` to ``instance``, with its fields as they are now."""
        removed = change is FleetChange.INSTANCE_REMOVED
        return cls(
            change,
            instance_id=instance.id,
            cluster_id=None if removed else instance.cluster_id,
            previous_cluster_id=previous_cluster_id,
            fields=None if removed else _instance_fields(instance),
        )

    @classmethod
    def of_cluster(cls, change: FleetChange, cluster: Cluster) -> FleetChanged:
        """``change`` to ``cluster``, with its fields as they are now."""
        removed = change is FleetChange.CLUSTER_REMOVED
        return cls(
            change, cluster_id=cluster.id, fields=None if removed else _cluster_fields(cluster)
        )

    def instance(self) -> Instance | None:
        """The instance as of the change (not saved, not to be saved); None
        for a removal or a change of no instance. Never its token: the bus
        crosses replicas, and the API shows only whether there is one."""
        data = self.fields
        if data is None or self.instance_id is None:
            return None
        seen = data["lastSeen"]
        return Instance(
            id=self.instance_id,
            name=data["name"],
            host=data["host"],
            description=data["description"],
            visibility=data["visibility"],
            token="(hidden)" if data["hasToken"] else None,
            status=InstanceStatus(data["status"]),
            last_seen=dt.datetime.fromisoformat(seen) if seen else None,
            elektra_version=data["elektraVersion"],
            cluster_id=self.cluster_id,
        )

    def cluster(self) -> Cluster | None:
        """The cluster as of the change (not saved, not to be saved); None for
        a removal or a change of an instance."""
        data = self.fields
        if data is None or self.instance_id is not None or self.cluster_id is None:
            return None
        return Cluster(
            id=self.cluster_id,
            name=data["name"],
            description=data["description"],
            drift_policy=DriftPolicy(data["driftPolicy"]),
            parent_id=data["parentId"],
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "change": self.change.value,
            "instanceId": self.instance_id,
            "clusterId": self.cluster_id,
            "previousClusterId": self.previous_cluster_id,
            "instanceIds": list(self.instance_ids),
            "fields": self.fields,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> FleetChanged:
        return cls(
            change=FleetChange(data["change"]),
            instance_id=data["instanceId"],
            cluster_id=data["clusterId"],
            previous_cluster_id=data["previousClusterId"],
            instance_ids=tuple(data["instanceIds"]),
            fields=data["fields"],
        )


def _instance_fields(instance: Instance) -> dict[str, Any]:
    seen = instance.last_seen
    return {
        "name": instance.name,
        "host": instance.host,
        "description": instance.description,
        "visibility": instance.visibility,
        "hasToken": instance.token is not None,
        "status": InstanceStatus(instance.status).value,
        "lastSeen": seen.isoformat() if seen else None,
        "elektraVersion": instance.elektra_version,
    }


def _cluster_fields(cluster: Cluster) -> dict[str, Any]:
    return {
        "name": cluster.name,
        "description": cluster.description,
        "driftPolicy": DriftPolicy(cluster.drift_policy).value,
        "parentId": cluster.parent_id,
    }


@dataclass(frozen=True, slots=True)
class Kick:
    """Replica ``replica`` has deliveries for these instances, whose sender
    lease another replica holds: that one should send now."""

    TOPIC: ClassVar[str] = "kick"

    replica: str
    instance_ids: tuple[int, ...]

    def to_data(self) -> dict[str, Any]:
        return {"replica": self.replica, "instanceIds": list(self.instance_ids)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Kick:
        return cls(data["replica"], tuple(data["instanceIds"]))


@dataclass(frozen=True, slots=True)
class Handover:
    """Replica ``replica`` is stopping and released its leases: another one
    should send these instances' pending deliveries and follow the feeds now,
    not when the leases would have run out."""

    TOPIC: ClassVar[str] = "handover"

    replica: str
    instance_ids: tuple[int, ...]

    def to_data(self) -> dict[str, Any]:
        return {"replica": self.replica, "instanceIds": list(self.instance_ids)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Handover:
        return cls(data["replica"], tuple(data["instanceIds"]))


async def publish(services: Services, *events: _Event) -> None:
    """Publish ``events`` in order. The changes they tell of are done and
    stored: an event that cannot be sent must not turn them into an error for
    the caller. Subscribers miss it; the log says so.

    :class:`ConfigChanged` events are recorded in the history first: every
    change of configuration is published here once, by the replica that
    learned of it, so this is where history is fed (``history.py``)."""
    changes = [e for e in events if isinstance(e, ConfigChanged)]
    if changes:
        try:
            await history.record(services.settings, changes)
        except Exception:  # as above: the change is done; the log says what is missing
            log.exception("could not record %d changes in the history", len(changes))
    for event in events:
        try:
            await services.bus.publish(event.TOPIC, event.to_data())
        except EventBusError:
            log.exception("could not publish a %s event", event.TOPIC)
