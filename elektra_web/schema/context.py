"""Per-request state: who calls, the app's services, the batching loaders."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from ..engine.services import Services
from ..models import Cluster, Delivery, DeliveryStatus, Drift, Instance
from ..resolvers.auth import Caller
from ..resolvers.reads import Reads


@dataclass
class Context:
    services: Services
    caller: Caller
    reads: Reads
    #: A websocket's ``connection_init`` payload (set by strawberry).
    connection_params: Any = None
    #: The websocket this context belongs to (None for HTTP).
    socket: Any = None
    #: "query", "mutation" or "subscription" once the operation runs (set by
    #: the executor, ``root.Executor``): what the metrics count requests by.
    operation_type: str | None = None
    # The loaders are made when first used: most requests use none of them,
    # and six made for each one cost a small query a tenth of its time.

    @cached_property
    def clusters(self) -> DataLoader[int, Cluster | None]:
        """Clusters by id: the lookups of one moment (the fields of one list,
        one event) in one query. Not cached: a websocket's context lives as
        long as the socket, and a renamed cluster must show its new name."""
        return DataLoader(load_fn=_load_clusters, cache=False)

    @cached_property
    def children(self) -> DataLoader[int, list[Cluster]]:
        """A cluster's sub-clusters, batched the same way."""
        return DataLoader(load_fn=_load_children, cache=False)

    @cached_property
    def members(self) -> DataLoader[int, list[Instance]]:
        """A cluster's (direct) members, batched the same way."""
        return DataLoader(load_fn=_load_members, cache=False)

    @cached_property
    def unapplied(self) -> DataLoader[int, list[Delivery]]:
        """An instance's deliveries not applied (PENDING, FAILED): one query
        for a whole list."""
        return DataLoader(load_fn=_load_unapplied, cache=False)

    @cached_property
    def drift(self) -> DataLoader[int, list[Drift]]:
        """An instance's drift."""
        return DataLoader(load_fn=_load_drift, cache=False)

    @cached_property
    def cluster_drift(self) -> DataLoader[int, list[Drift]]:
        """A cluster's drift."""
        return DataLoader(load_fn=_load_cluster_drift, cache=False)

    async def cluster(self, cluster_id: int | None) -> Cluster | None:
        if cluster_id is None:
            return None
        return await self.clusters.load(cluster_id)


async def _load_clusters(ids: list[int]) -> list[Cluster | None]:
    found = {cluster.id: cluster for cluster in await Cluster.filter(id__in=set(ids))}
    return [found.get(cluster_id) for cluster_id in ids]


async def _load_children(ids: list[int]) -> list[list[Cluster]]:
    found: dict[int, list[Cluster]] = {}
    for cluster in await Cluster.filter(parent_id__in=set(ids)):
        assert cluster.parent_id is not None
        found.setdefault(cluster.parent_id, []).append(cluster)
    return [found.get(cluster_id, []) for cluster_id in ids]


async def _load_members(ids: list[int]) -> list[list[Instance]]:
    found: dict[int, list[Instance]] = {}
    for instance in await Instance.filter(cluster_id__in=set(ids)):
        assert instance.cluster_id is not None
        found.setdefault(instance.cluster_id, []).append(instance)
    return [found.get(cluster_id, []) for cluster_id in ids]


async def _load_unapplied(ids: list[int]) -> list[list[Delivery]]:
    found: dict[int, list[Delivery]] = {}
    rows = Delivery.filter(
        instance_id__in=set(ids), status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
    )
    for delivery in await rows.order_by("id"):
        found.setdefault(delivery.instance_id, []).append(delivery)
    return [found.get(instance_id, []) for instance_id in ids]


async def _load_drift(ids: list[int]) -> list[list[Drift]]:
    found: dict[int, list[Drift]] = {}
    for drift in await Drift.filter(instance_id__in=set(ids)):
        found.setdefault(drift.instance_id, []).append(drift)
    return [found.get(instance_id, []) for instance_id in ids]


async def _load_cluster_drift(ids: list[int]) -> list[list[Drift]]:
    found: dict[int, list[Drift]] = {}
    for drift in await Drift.filter(cluster_id__in=set(ids)):
        found.setdefault(drift.cluster_id, []).append(drift)
    return [found.get(cluster_id, []) for cluster_id in ids]


Info = strawberry.Info[Context, None]
