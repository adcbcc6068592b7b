"""What clusterd tells its subscribers: the events it publishes on the bus.

Each event is plain JSON data (it may cross replicas through PostgreSQL):

- ``config``: one changed key of an instance or of a cluster's own config;
  ``clusterIds`` lists the clusters whose subscribers see it (the instance's
  cluster and its ancestors, or the cluster itself);
- ``status``: an instance went ONLINE or OFFLINE;
- ``delivery``: a delivery of an operation landed (APPLIED or FAILED);
- ``drift``: a member's copy of a cluster key was changed outside clusterd
  (``state`` "detected"), or agrees with the cluster again ("resolved").
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..events import EventBusError
from ..models import Cluster, Delivery, Drift, Instance, OperationKind
from .locks import ancestors
from .services import Services

__all__ = ["config_changed", "delivery_landed", "drift_changed", "status_changed"]

log = logging.getLogger("elektra_web.clusterd.events")


async def config_changed(
    services: Services,
    *,
    op: OperationKind,
    path: str,
    value: str | None,
    previous: str | None = None,
    origin: str,
    operation_id: str | None = None,
    instance: Instance | None = None,
    cluster: Cluster | None = None,
    meta: str | None = None,
) -> None:
    if instance is not None:
        cluster_ids = await _chain_ids(instance.cluster_id)
    else:
        assert cluster is not None
        cluster_ids = [cluster.id]
    await _publish(
        services,
        "config",
        {
            "operationId": operation_id,
            "instanceId": instance.id if instance else None,
            "clusterId": cluster.id if cluster else (instance.cluster_id if instance else None),
            "clusterIds": cluster_ids,
            "op": op.value,
            "path": path,
            "value": value,
            "previous": previous,
            "meta": meta,
            "origin": origin,
            "at": time.time(),
        },
    )


async def status_changed(services: Services, instance: Instance) -> None:
    await _publish(services, "status", {"instanceId": instance.id, "status": instance.status.value})


async def delivery_landed(services: Services, delivery: Delivery) -> None:
    await _publish(
        services,
        "delivery",
        {
            "operationId": str(delivery.operation_id),
            "instanceId": delivery.instance_id,
            "status": delivery.status.value,
            "error": delivery.last_error,
        },
    )


async def drift_changed(services: Services, drift: Drift, state: str) -> None:
    data: dict[str, Any] = {
        "instanceId": drift.instance_id,
        "clusterId": drift.cluster_id,
        "clusterIds": await _chain_ids(drift.cluster_id),
        "path": drift.path,
        "expected": drift.expected,
        "actual": drift.actual,
        "state": state,
    }
    await _publish(services, "drift", data)


async def _publish(services: Services, topic: str, data: dict[str, Any]) -> None:
    # The change itself is done and stored: an event that cannot be sent must
    # not turn it into an error for the caller. Subscribers miss it; say so.
    try:
        await services.bus.publish(topic, data)
    except EventBusError:
        log.exception("could not publish a %s event", topic)


async def _chain_ids(cluster_id: int | None) -> list[int]:
    if cluster_id is None:
        return []
    cluster = await Cluster.get_or_none(id=cluster_id)
    if cluster is None:
        return []
    return [cluster.id, *(c.id for c in await ancestors(cluster))]
