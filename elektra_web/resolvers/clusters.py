"""Clusters: create, rename, nest, delete; members join and leave (rule 2)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from ..engine import outbox
from ..engine.events import FleetChange, FleetChanged, publish
from ..engine.services import Services
from ..engine.topology import ancestors, descendants, members, owned_keys
from ..exceptions import AlreadyInCluster, BadInput, ClusterCycle, KeyLocked, NotFound
from ..models import Cluster, ClusterKey, Delivery, DeliveryStatus, Drift, DriftPolicy, Instance
from .auth import Caller, Role
from .instances import get_instance
from .names import short_name

__all__ = [
    "ClusterInput",
    "assign_instance",
    "create_cluster",
    "delete_cluster",
    "get_cluster",
    "list_clusters",
    "members",
    "unassign_instance",
    "update_cluster",
]

#: Marks "parentId not given" apart from "parentId: null" (make it top-level).
KEEP = object()


@dataclass
class ClusterInput:
    name: str | None = None
    description: str | None = None
    parent_id: int | str | object | None = KEEP
    drift_policy: DriftPolicy | None = None


async def list_clusters(caller: Caller) -> list[Cluster]:
    caller.require(Role.VIEWER)
    return await Cluster.all()


async def get_cluster(caller: Caller, cluster_id: int | str) -> Cluster:
    caller.require(Role.VIEWER)
    try:
        cluster = await Cluster.get_or_none(id=int(cluster_id))
    except ValueError:
        cluster = None
    if cluster is None:
        raise NotFound(f"no cluster with id {cluster_id}")
    return cluster


async def create_cluster(services: Services, caller: Caller, data: ClusterInput) -> Cluster:
    caller.require(Role.ADMIN)
    name = _name(data.name)
    parent = None
    if data.parent_id is not KEEP and data.parent_id is not None:
        parent = await get_cluster(caller, _as_id(data.parent_id))
    await _refuse_name_taken(name)
    try:
        created = await Cluster.create(
            name=name,
            description=data.description,
            parent=parent,
            drift_policy=data.drift_policy or DriftPolicy.REPORT,
        )
    except IntegrityError as exc:
        raise BadInput(f"a cluster named {name!r} exists already") from exc
    await publish(services, FleetChanged.of_cluster(FleetChange.CLUSTER_ADDED, created))
    return created


async def update_cluster(
    services: Services, caller: Caller, cluster_id: int | str, data: ClusterInput
) -> Cluster:
    """Rename, describe, set the drift policy or move a cluster. A moved
    cluster's members (its sub-clusters' too) receive the keys of their new
    ancestors, locked from then on; the old ancestors' keys stay, unlocked,
    as when a member leaves a cluster."""
    caller.require(Role.ADMIN)
    cluster = await get_cluster(caller, cluster_id)
    old_parent = cluster.parent_id
    old_chain = {c.id for c in await ancestors(cluster)}
    if data.name is not None and data.name != cluster.name:
        cluster.name = _name(data.name)
        await _refuse_name_taken(cluster.name, exclude=cluster.id)
    if data.description is not None:
        cluster.description = data.description
    if data.drift_policy is not None:
        cluster.drift_policy = data.drift_policy
    if data.parent_id is not KEEP:
        parent = (
            None if data.parent_id is None else await get_cluster(caller, _as_id(data.parent_id))
        )
        if parent is not None:
            await _refuse_cycle(cluster, parent)
            await _refuse_overlap(cluster, parent)
        cluster.parent_id = parent.id if parent else None
    try:
        await cluster.save()
    except IntegrityError as exc:
        raise BadInput(f"a cluster named {cluster.name!r} exists already") from exc
    # Before the members receive the new chain's keys, which may take a while.
    await publish(services, FleetChanged.of_cluster(FleetChange.CLUSTER_UPDATED, cluster))
    if cluster.parent_id != old_parent:
        await _moved(services, cluster, old_chain)
    return cluster


async def _moved(services: Services, cluster: Cluster, old_chain: set[int]) -> None:
    """After ``cluster`` got another parent: deliver the new chain's keys to
    its members and its sub-clusters' members; drift of keys of ancestors it
    left is no drift any more."""
    left = old_chain - {c.id for c in await ancestors(cluster)}
    subtree = [cluster, *await descendants(cluster)]
    for each in subtree:
        joined = await Instance.filter(cluster_id=each.id)
        if left:
            await Drift.filter(instance_id__in=[m.id for m in joined], cluster_id__in=left).delete()
        for member in joined:
            services.instance_changed(member.id)
        await outbox.join(services, each, joined)


async def delete_cluster(services: Services, caller: Caller, cluster_id: int | str) -> int:
    """Delete a cluster without sub-clusters. Its members leave it and keep
    its keys, unlocked."""
    caller.require(Role.ADMIN)
    cluster = await get_cluster(caller, cluster_id)
    children = await Cluster.filter(parent_id=cluster.id).values_list("name", flat=True)
    if children:
        raise BadInput(
            f"cluster {cluster.name} has sub-clusters ({', '.join(map(str, children))}); "
            "delete or move them first"
        )
    async with in_transaction():
        members = await Instance.filter(cluster_id=cluster.id).values_list("id", flat=True)
        await Instance.filter(cluster_id=cluster.id).update(cluster_id=None)
        await Delivery.filter(instance_id__in=list(members), status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.SUPERSEDED
        )
        await cluster.delete()
    for member in members:
        services.instance_changed(int(str(member)))
    # One event: subscribers know its members left it (thousands of them, maybe).
    await publish(services, FleetChanged.of_cluster(FleetChange.CLUSTER_REMOVED, cluster))
    return cluster.id


async def assign_instance(
    services: Services, caller: Caller, cluster_id: int | str, instance_id: int | str
) -> Instance:
    """Make the instance a member (rule 2: only if it is in no cluster) and
    deliver the cluster's keys, and its ancestors', to it."""
    caller.require(Role.ADMIN)
    cluster = await get_cluster(caller, cluster_id)
    instance = await get_instance(caller, instance_id)
    # One conditional UPDATE: of two concurrent assignments, exactly one
    # changes the row; the database decides, not this process.
    won = await Instance.filter(id=instance.id, cluster_id=None).update(cluster_id=cluster.id)
    await instance.refresh_from_db()
    if not won:
        if instance.cluster_id == cluster.id:
            return instance  # already a member: nothing to do
        current = await Cluster.get(id=instance.cluster_id)
        raise AlreadyInCluster(
            f"{instance.name} is already in cluster {current.name}", cluster=current.name
        )
    services.instance_changed(instance.id)
    await publish(services, FleetChanged.of_instance(FleetChange.INSTANCE_MEMBERSHIP, instance))
    await outbox.join(services, cluster, [instance])
    return instance


async def unassign_instance(services: Services, caller: Caller, instance_id: int | str) -> Instance:
    """The instance leaves its cluster and keeps the cluster's keys, unlocked."""
    caller.require(Role.ADMIN)
    instance = await get_instance(caller, instance_id)
    left = instance.cluster_id
    async with in_transaction():
        await Instance.filter(id=instance.id).update(cluster_id=None)
        # Its keys are its own now: what differed from the cluster is no drift,
        # and what it refused of the cluster's is no longer asked of it.
        await Drift.filter(instance_id=instance.id).delete()
        await Delivery.filter(instance_id=instance.id, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.SUPERSEDED
        )
    await instance.refresh_from_db()
    services.instance_changed(instance.id)
    if left is not None:
        changed = FleetChanged.of_instance(
            FleetChange.INSTANCE_MEMBERSHIP, instance, previous_cluster_id=left
        )
        await publish(services, changed)
    return instance


def _name(name: str | None) -> str:
    return short_name(name, "a cluster")


def _as_id(value: object) -> int | str:
    assert isinstance(value, (int, str))
    return value


async def _refuse_name_taken(name: str, exclude: int | None = None) -> None:
    others = Cluster.exclude(id=exclude) if exclude is not None else Cluster.all()
    if await others.filter(name=name).exists():
        raise BadInput(f"a cluster named {name!r} exists already")


async def _refuse_cycle(cluster: Cluster, parent: Cluster) -> None:
    chain = [parent, *await ancestors(parent)]
    if any(c.id == cluster.id for c in chain):
        raise ClusterCycle(
            f"{parent.name} is {cluster.name} or inside it: a cluster cannot become "
            "its own ancestor"
        )


async def _refuse_overlap(cluster: Cluster, parent: Cluster) -> None:
    """Under its new parent, no key may be set twice along one chain (rule 3)."""
    above = await owned_keys([parent, *await ancestors(parent)])
    below = [cluster, *await descendants(cluster)]
    for key in await ClusterKey.filter(cluster_id__in=[c.id for c in below]):
        if key.path in above:
            owner = above[key.path]
            raise KeyLocked(
                f"{key.path} is set by {owner.name}, which would become an ancestor",
                cluster=owner.name,
            )
