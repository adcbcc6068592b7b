"""Retention: what clusterd's database keeps, and for how long.

Two tables grow with every write, and both are pruned here, by every
replica (deleting rows another replica deleted first is nothing):

- ``history_entry``: entries older than ``Settings.history_max_age`` days,
  and all but the newest ``Settings.history_max_entries``;
- ``delivery``: a cluster write stores one row per member and change, so a
  fleet of 1,000 adds 1,000 rows a write. Rows that are settled (APPLIED, or
  SUPERSEDED by a newer write) and older than ``Settings.delivery_max_age``
  days are deleted. PENDING and FAILED rows are never pruned: they are what
  is still to be sent, and what a member refused until a person acts.
  The operations stay (one row a write), so the audit log and the history
  keep naming them; ``operationProgress`` of a pruned one has no results.

Each round deletes at most ``Settings.history_prune_batch`` rows of each
table, oldest first, by one range of ids rather than an IN of thousands, so
pruning a large backlog never holds the database for long; while a round
finds a full batch, the next one follows at once, after a breath.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from tortoise.queryset import QuerySet

from ..models import Delivery, DeliveryStatus, HistoryEntry
from .services import Services, Settings

__all__ = ["prune", "prune_forever"]

log = logging.getLogger("elektra_web.clusterd.retention")

#: Deliveries that nothing needs once they are old: they landed, or a newer
#: write of the same key replaced them.
_SETTLED = (DeliveryStatus.APPLIED, DeliveryStatus.SUPERSEDED)


async def prune(settings: Settings) -> int:
    """One round of retention; how many rows were deleted (of both tables)."""
    return await _prune_history(settings) + await _prune_deliveries(settings)


async def _prune_history(settings: Settings) -> int:
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


async def _prune_deliveries(settings: Settings) -> int:
    if settings.delivery_max_age is None:
        return 0
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=settings.delivery_max_age)
    settled = Delivery.filter(status__in=_SETTLED, created_at__lt=cutoff)
    return await _delete_oldest(settled, settings.history_prune_batch)


async def _delete_oldest(query: QuerySet[Any], limit: int) -> int:
    ids = await query.order_by("id").limit(limit).values_list("id", flat=True)
    if not ids:
        return 0
    # The oldest ids meeting the condition, by one range: no IN of thousands
    # (the range keeps the condition, so nothing else in it goes).
    highest = max(int(str(i)) for i in ids)
    return int(await query.filter(id__lte=highest).delete())


async def prune_forever(services: Services) -> None:
    """Prune every ``history_prune_interval`` seconds, sooner while a round
    found a full batch to delete."""
    settings = services.settings
    while True:
        try:
            deleted = await prune(settings)
        except Exception:
            log.exception("pruning the history and the deliveries failed")
            deleted = 0
        # A full batch: more is due, after a breath for the other queries.
        full = deleted >= settings.history_prune_batch
        pause = (
            min(0.05, settings.history_prune_interval) if full else settings.history_prune_interval
        )
        await asyncio.sleep(pause)
