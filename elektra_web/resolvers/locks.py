"""Rule 3: keys that a cluster (or an ancestor) sets are locked on members.

A write through an instance is refused with KEY_LOCKED when it would change a
locked key: set it, delete it (also by deleting a parent), move it away, move
or copy something onto it, or change its metadata.
"""

from __future__ import annotations

from ..exceptions import KeyLocked
from ..keynames import KeyName
from ..models import Cluster, ClusterKey, Instance, OperationKind

__all__ = [
    "ancestors",
    "check_cluster_write",
    "check_instance_write",
    "descendants",
    "locks_of",
    "owned_keys",
]


async def ancestors(cluster: Cluster) -> list[Cluster]:
    """The parent, its parent, ... up to the top (cycles are refused on write,
    but a bound keeps a corrupt database from looping forever)."""
    chain: list[Cluster] = []
    parent_id = cluster.parent_id
    seen = {cluster.id}
    while parent_id is not None and parent_id not in seen:
        parent = await Cluster.get(id=parent_id)
        chain.append(parent)
        seen.add(parent.id)
        parent_id = parent.parent_id
    return chain


async def descendants(cluster: Cluster) -> list[Cluster]:
    """Every cluster below ``cluster``, breadth first."""
    found: list[Cluster] = []
    level = [cluster.id]
    seen = {cluster.id}
    while level:
        children = await Cluster.filter(parent_id__in=level)
        children = [c for c in children if c.id not in seen]
        found.extend(children)
        seen.update(c.id for c in children)
        level = [c.id for c in children]
    return found


async def owned_keys(clusters: list[Cluster]) -> dict[str, Cluster]:
    """Key path -> the cluster (of ``clusters``) that sets it."""
    by_id = {c.id: c for c in clusters}
    rows = await ClusterKey.filter(cluster_id__in=list(by_id)).values_list("path", "cluster_id")
    return {path: by_id[cluster_id] for path, cluster_id in rows}


async def locks_of(instance: Instance) -> dict[str, Cluster]:
    """The keys locked on ``instance``: set by its cluster or an ancestor."""
    if instance.cluster_id is None:
        return {}
    cluster = await Cluster.get(id=instance.cluster_id)
    return await owned_keys([cluster, *await ancestors(cluster)])


async def check_instance_write(
    instance: Instance, kind: OperationKind, path: KeyName, target: KeyName | None = None
) -> None:
    """Refuse a write through ``instance`` that would change a locked key."""
    locks = await locks_of(instance)
    if not locks:
        return
    locked = {KeyName.parse(p): cluster for p, cluster in locks.items()}

    def refuse(name: KeyName, why: str) -> None:
        cluster = locked[name]
        raise KeyLocked(
            f"{name} is set by cluster {cluster.name}; {why} (change it in the cluster)",
            cluster=cluster.name,
            clusterId=str(cluster.id),
        )

    for name in locked:
        if kind in (OperationKind.SET, OperationKind.META) and name == path:
            refuse(name, "it cannot be changed on a member")
        if kind in (OperationKind.DELETE, OperationKind.MOVE) and name.is_below_or_same(path):
            what = "deleting" if kind is OperationKind.DELETE else "moving"
            refuse(name, f"{what} {path} would remove it")
        if target is not None and name.is_below_or_same(target):
            refuse(name, f"writing to {target} would overwrite it")


async def check_cluster_write(cluster: Cluster, paths: list[KeyName]) -> None:
    """A cluster may not set a key that an ancestor or a sub-cluster sets:
    along one chain of clusters each key has one owner."""
    others = [*await ancestors(cluster), *await descendants(cluster)]
    owners = await owned_keys(others)
    for path in paths:
        owner = owners.get(str(path))
        if owner is not None:
            raise KeyLocked(
                f"{path} is set by cluster {owner.name}, on the same chain as {cluster.name}",
                cluster=owner.name,
                clusterId=str(owner.id),
            )
