"""Recording the history of configuration, and pruning it.

History is fed by the events: every :class:`~.events.ConfigChanged` goes
through :func:`~.events.publish`, which records it here first (:func:`record`).
That is the one place every change passes exactly once: a write through
clusterd to a cluster publishes the cluster's own change, and each member's
copy arrives as its change feed's echo (one entry per member); a write to an
instance is published only as its echo; a change made on the machine only
as a feed entry. So one change of one target is one entry.

The actor of a change through clusterd is its operation's (``Operation.actor``,
stored with the operation by the write, read once per operation here and
remembered); of a change on the machine, :data:`~elektra_web.models.ON_THE_MACHINE`.

``Settings.history_enabled`` off, nothing is recorded (not even the
actors looked up): what recording costs a write is measured against it
(``scripts/bench-write-costs``).

Retention is ``engine/retention.py``'s.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..models import ON_THE_MACHINE, HistoryEntry, Operation, OperationKind
from .services import Settings

if TYPE_CHECKING:
    from .events import ConfigChanged

__all__ = ["SYSTEM_ACTOR", "record"]

log = logging.getLogger("elektra_web.clusterd.history")

#: The actor of an operation clusterd made on its own (a member joining a
#: cluster receives its keys, a drift repaired).
SYSTEM_ACTOR = "clusterd"

#: Rows per INSERT (SQLite allows 32,766 variables a statement: 13 columns each).
_CHUNK = 500
#: Operations whose actor is remembered (a feed echoes one write per member).
_REMEMBERED = 10_000
_actors: OrderedDict[str, str] = OrderedDict()


async def record(settings: Settings, events: Sequence[ConfigChanged]) -> None:
    """Store one history entry per event (MOUNT events are not key changes:
    they are left out); nothing with ``settings.history_enabled`` off."""
    if not settings.history_enabled:
        return
    events = [e for e in events if e.op is not OperationKind.MOUNT]
    if not events:
        return
    actors = await _actors_of({e.operation_id for e in events if e.operation_id})
    rows = [
        HistoryEntry(
            at=dt.datetime.fromtimestamp(event.at, dt.UTC),
            actor=(
                actors.get(event.operation_id, SYSTEM_ACTOR)
                if event.operation_id
                else ON_THE_MACHINE
            ),
            origin=event.origin,
            operation_id=event.operation_id,
            op=event.op,
            path=event.path,
            value=event.value,
            previous=event.previous,
            meta_key=event.meta,
            instance_id=event.instance_id,
            # A member's change carries its cluster (for subscribers): the
            # entry's target is the member alone.
            cluster_id=event.cluster_id if event.instance_id is None else None,
        )
        for event in events
    ]
    for start in range(0, len(rows), _CHUNK):
        await HistoryEntry.bulk_create(rows[start : start + _CHUNK])


async def _actors_of(operation_ids: set[str]) -> dict[str, str]:
    found = {o: _actors[o] for o in operation_ids if o in _actors}
    unknown: list[uuid.UUID] = []
    for operation_id in operation_ids - found.keys():
        try:
            unknown.append(uuid.UUID(operation_id))
        except ValueError:
            found[operation_id] = SYSTEM_ACTOR
    if unknown:
        rows = await Operation.filter(id__in=unknown).values_list("id", "actor")
        for operation_id, actor in rows:
            found[str(operation_id)] = actor or SYSTEM_ACTOR
    for operation_id, actor in found.items():
        _actors[operation_id] = actor
        _actors.move_to_end(operation_id)
    while len(_actors) > _REMEMBERED:
        _actors.popitem(last=False)
    return found
