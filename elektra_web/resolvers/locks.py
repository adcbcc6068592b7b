"""Rule 3: keys that a cluster (or an ancestor) sets are locked on members.

A write through an instance is refused with KEY_LOCKED when it would change a
locked key: set it, delete it (also by deleting a parent), move it away, move
or copy something onto it, or change its metadata.
"""

from __future__ import annotations

from ..engine.topology import ancestors, descendants, locks_of, owned_keys
from ..exceptions import KeyLocked
from ..keynames import KeyName
from ..models import Cluster, Instance, OperationKind

__all__ = ["check_cluster_write", "check_instance_write"]


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
