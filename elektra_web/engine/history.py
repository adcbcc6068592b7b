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

Retention (:func:`prune_forever`): entries older than
``Settings.history_max_age`` days, and all but the newest
``Settings.history_max_entries``, are deleted, at most
``Settings.history_prune_batch`` a round, so pruning a large backlog never
holds the database for long.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tortoise.queryset import QuerySet

from ..models import ON_THE_MACHINE, HistoryEntry, Operation, OperationKind
from .services import Services, Settings

if TYPE_CHECKING:
    from .events import ConfigChanged

__all__ = ["SYSTEM_ACTOR", "prune", "prune_forever", "record"]

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


async def prune(settings: Settings) -> int:
    """One round of retention: delete at most ``history_prune_batch`` of the
    entries too old or too many; how many were deleted."""
    budget = settings.history_prune_batch
    deleted = 0
    if settings.history_max_age is not None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=settings.history_max_age)
        deleted += await _delete_oldest(HistoryEntry.filter(at__lt=cutoff), budget)
    if settings.history_max_entries is not None and deleted < budget:
        # The newest entry beyond the newest N (ids may have gaps: counted,
        # not computed); it and everything older goes.
        beyond = await (
            HistoryEntry.all()
            .order_by("-id")
            .offset(settings.history_max_entries)
            .first()
            .values_list("id", flat=True)
        )
        if beyond is not None:
            query = HistoryEntry.filter(id__lte=int(str(beyond)))
            deleted += await _delete_oldest(query, budget - deleted)
    return deleted


async def _delete_oldest(query: QuerySet[HistoryEntry], limit: int) -> int:
    ids = await query.order_by("id").limit(limit).values_list("id", flat=True)
    if not ids:
        return 0
    # The oldest ids meeting the condition, by one range: no IN of thousands.
    highest = max(int(str(i)) for i in ids)
    return int(await query.filter(id__lte=highest).delete())


async def prune_forever(services: Services) -> None:
    """Prune every ``history_prune_interval`` seconds, sooner while a round
    found a full batch to delete. (Every replica prunes: deleting rows
    another one deleted first is nothing.)"""
    settings = services.settings
    while True:
        try:
            deleted = await prune(settings)
        except Exception:
            log.exception("pruning the history failed")
            deleted = 0
        # A full batch: more is due, after a breath for the other queries.
        full = deleted >= settings.history_prune_batch
        pause = (
            min(0.05, settings.history_prune_interval) if full else settings.history_prune_interval
        )
        await asyncio.sleep(pause)
