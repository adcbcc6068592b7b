"""The engine's events survive the bus's JSON both ways."""

from __future__ import annotations

import json

from elektra_web.engine.events import (
    ConfigChanged,
    DeliveriesLanded,
    DriftChanged,
    FleetChange,
    FleetChanged,
    Kick,
    Landing,
    StatusChanged,
)
from elektra_web.models import DeliveryStatus, InstanceStatus, OperationKind


def roundtrip(data: dict[str, object]) -> dict[str, object]:
    result: dict[str, object] = json.loads(json.dumps(data))
    return result


def test_every_event_round_trips_through_json() -> None:
    events = [
        ConfigChanged(
            op=OperationKind.META,
            path="user:/a",
            origin="clusterd",
            value="v",
            previous=None,
            meta="check/type",
            operation_id="abc",
            instance_id=3,
            cluster_id=1,
            cluster_ids=(1, 7),
            at=12.5,
        ),
        StatusChanged(3, InstanceStatus.OFFLINE),
        DeliveriesLanded(
            (
                Landing("op-1", 3, DeliveryStatus.APPLIED),
                Landing("op-2", 4, DeliveryStatus.FAILED, "web-04 refused: not a number"),
            )
        ),
        DriftChanged(3, 1, (1, 7), "user:/a", "new", None, resolved=False),
        Kick("replica-a", (1, 2, 3)),
        FleetChanged(
            FleetChange.CLUSTER_UPDATED,
            cluster_id=4,
            fields={"name": "eu", "description": None, "driftPolicy": "REPORT", "parentId": 1},
        ),
        FleetChanged(FleetChange.INSTANCE_REMOVED, instance_id=3, previous_cluster_id=4),
        FleetChanged(FleetChange.DELIVERIES, instance_ids=(3, 5)),
    ]
    for event in events:
        assert type(event).from_data(roundtrip(event.to_data())) == event  # type: ignore[attr-defined]


def test_a_landing_event_names_its_operations_for_cheap_filters() -> None:
    landed = DeliveriesLanded(
        (Landing("b", 1, DeliveryStatus.APPLIED), Landing("a", 2, DeliveryStatus.PENDING, "down"))
    )
    assert landed.to_data()["operationIds"] == ["a", "b"]
    assert DriftChanged(1, 1, (1,), "p", "x", "y", resolved=True).to_data()["state"] == "resolved"
