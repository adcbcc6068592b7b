"""A person's decision on drift (see ``engine/drift.py`` for what drift is).

REAPPLY puts the cluster's value back on the member; ADOPT makes the member's
value the cluster's (a cluster write to every member); ADOPT_DELETION, for a
key deleted on the member, deletes it from the cluster (its own choice: a
deletion reaches every member). Each first re-reads the member and acts only
if the drift still holds as it was shown: nothing in flight, the member's
value still the one recorded.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from ..connector.exceptions import ConnectorError
from ..engine import outbox
from ..engine.drift import in_flight, settled
from ..engine.services import Services
from ..exceptions import BadInput, InstanceUnreachable, NotFound
from ..models import Cluster, ClusterKey, Drift, OperationKind
from .auth import Caller, Role
from .cluster_write import DryRunData
from .instances import get_instance
from .names import parse_key
from .preview import Op, plan_instance
from .writes import Change, Target, WriteResultData, write

__all__ = ["DriftAction", "resolve_drift"]


class DriftAction(StrEnum):
    REAPPLY = "REAPPLY"  # put the cluster's value back on the member
    ADOPT = "ADOPT"  # make the member's value the cluster's (for every member)
    ADOPT_DELETION = "ADOPT_DELETION"  # the member deleted it: delete it in the cluster


async def resolve_drift(
    services: Services,
    caller: Caller,
    instance_id: str,
    path: str,
    action: DriftAction,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> WriteResultData | DryRunData:
    """Settle a member's drift (see :class:`DriftAction`); ``dry_run`` and
    ``force`` as a write's (``writes.write``)."""
    caller.require(Role.EDITOR)
    instance = await get_instance(caller, instance_id)
    path = str(parse_key(path))  # either spelling, as everywhere else
    drift = await Drift.get_or_none(instance_id=instance.id, path=path)
    if drift is None:
        raise NotFound(f"{instance.name} has no drift at {path}")
    owner = await Cluster.get(id=drift.cluster_id)
    key = await ClusterKey.get_or_none(cluster_id=owner.id, path=path)
    if key is None:
        await settled(services, [(instance.id, path)])
        raise NotFound(f"cluster {owner.name} no longer sets {path}: no drift any more")
    if await in_flight(instance.id, path):
        raise BadInput(
            f"a write of {path} to {instance.name} is still in flight; "
            "it decides the value there: look again when it has landed"
        )
    try:
        node = await services.client(instance).get(path)
    except ConnectorError as exc:
        raise InstanceUnreachable(f"{instance.name} is unreachable: {exc}") from exc
    actual = node.get("value") if node.get("exists") else None
    if node.get("exists") and actual == key.value:
        await settled(services, [(instance.id, path)])
        raise BadInput(f"{path} on {instance.name} agrees with cluster {owner.name} again")
    if actual != drift.actual:
        drift.actual = actual
        drift.expected = key.value
        await drift.save(update_fields=["actual", "expected", "detected_at"])
        now = "deleted" if actual is None else repr(actual)
        raise BadInput(f"{path} on {instance.name} changed again (now {now}): look again")
    match action:
        case DriftAction.REAPPLY if dry_run:
            op = Op(OperationKind.SET, path, key.value)
            return DryRunData(await plan_instance(services, caller, instance, [op]), [])
        case DriftAction.REAPPLY:
            operation = await outbox.reapply(services, instance, owner, path)
            assert operation is not None  # the key is there (checked above)
            return await outbox.settle(services, operation, Counter({instance.id: 1}))
        case DriftAction.ADOPT if actual is None:
            raise BadInput(
                f"{path} was deleted on {instance.name}; to delete it from cluster "
                f"{owner.name} and all its members, choose ADOPT_DELETION"
            )
        case DriftAction.ADOPT:
            change = Change(OperationKind.SET, path, actual)
        case DriftAction.ADOPT_DELETION if actual is not None:
            raise BadInput(f"{path} was not deleted on {instance.name}; choose ADOPT")
        case DriftAction.ADOPT_DELETION:
            change = Change(OperationKind.DELETE, path)
    where = Target(cluster_id=str(owner.id))
    return await write(services, caller, where, change, dry_run=dry_run, force=force)
