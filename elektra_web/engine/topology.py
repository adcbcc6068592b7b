"""Which clusters contain which, and which keys each sets: the shape the
rules and the engine walk. Pure lookups; nothing here refuses anything."""

from __future__ import annotations

from ..models import Cluster, ClusterKey, Instance

__all__ = ["ancestors", "chain_ids", "descendants", "locks_of", "members", "owned_keys"]


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


async def members(cluster: Cluster, *, recursive: bool = True) -> list[Instance]:
    """The cluster's instances; with ``recursive``, its sub-clusters' too."""
    ids = [cluster.id, *(c.id for c in await descendants(cluster))] if recursive else [cluster.id]
    return await Instance.filter(cluster_id__in=ids)


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


async def chain_ids(cluster_id: int | None) -> list[int]:
    """The cluster and its ancestors, by id (empty for no cluster)."""
    if cluster_id is None:
        return []
    cluster = await Cluster.get_or_none(id=cluster_id)
    if cluster is None:
        return []
    return [cluster.id, *(c.id for c in await ancestors(cluster))]
