"""The change feed: every change to a key gets the next revision number.

Clients (clusterd) poll ``GET /kdbChanges?since=REV&wait=SECONDS[&limit=N]``
and resume from the last revision they saw. A page holds at most ``limit``
changes (:data:`MAX_PAGE` at most) and about :data:`PAGE_TEXT` characters of
values: a client that fell far behind catches up page by page, and no answer
grows past what a client reads (clusterd refuses larger ones).

The feed keeps the most recent changes in memory; a client that asks for
revisions older than that, or for revisions of an earlier run of the daemon
(another ``epoch``), is told to ``reset``: read the keys afresh, then follow
the feed from the current revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["MAX_PAGE", "PAGE_TEXT", "Change", "ChangeFeed", "Origin"]

#: The most changes one page holds (and the default ``limit``).
MAX_PAGE = 1000
#: Characters of values (``value`` and ``previous``) after which a page ends
#: early: a page of big values stays a few MiB (one change is always sent).
PAGE_TEXT = 4 * 1024 * 1024

#: "mount": a mounted file broke or was repaired; ``key`` is its mount point,
#: ``value`` the parser's message (``None``: it parses again), ``previous``
#: the message before.
Op = Literal["set", "delete", "meta", "mount"]
#: "api": through this daemon's REST API; "file": a mounted file edited by
#: another program.
Origin = Literal["api", "file"]


@dataclass(frozen=True, slots=True)
class Change:
    """One changed key. For ``op == "meta"``, ``meta`` names the metadata
    entry and ``value``/``previous`` are that entry's values."""

    revision: int
    op: Op
    key: str
    value: str | None
    previous: str | None
    origin: Origin
    at: float
    meta: str | None = None
    #: The client's ``X-Operation-Id`` of the request that made the change, so
    #: that a client following the feed recognizes its own writes.
    operation: str | None = None
    #: The revision of the ``X-Fence`` header of the request that made the
    #: change (a fenced write of clusterd).
    fence: int | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for optional in ("meta", "operation", "fence"):
            if data[optional] is None:
                del data[optional]
        return data


@dataclass(frozen=True, slots=True)
class Batch:
    """What a poll returns."""

    revision: int
    changes: list[Change]
    reset: bool


class ChangeFeed:
    def __init__(self, history: int = 10_000) -> None:
        self.epoch = uuid.uuid4().hex
        self.revision = 0
        self._history: deque[Change] = deque(maxlen=history)
        self._wakeup = asyncio.Event()

    def publish(
        self,
        op: Op,
        key: str,
        value: str | None,
        previous: str | None,
        origin: Origin,
        meta: str | None = None,
        operation: str | None = None,
        fence: int | None = None,
    ) -> Change:
        self.revision += 1
        change = Change(
            self.revision, op, key, value, previous, origin, time.time(), meta, operation, fence
        )
        self._history.append(change)
        # Wake every waiting poll at once, and arm a fresh event for the next.
        self._wakeup.set()
        self._wakeup = asyncio.Event()
        return change

    def since(self, revision: int, epoch: str | None = None, limit: int = MAX_PAGE) -> Batch:
        """The changes after ``revision`` (of ``epoch``, if the client knows
        it): the first ``limit`` of them, fewer if their values are long; the
        batch's revision is then the last one it holds, where the next page
        starts."""
        oldest = self._history[0].revision if self._history else self.revision + 1
        reset = (
            (epoch is not None and epoch != self.epoch)
            or revision > self.revision
            or revision < oldest - 1
        )
        if reset:
            return Batch(self.revision, [], True)
        # Revisions are consecutive: the wanted ones are the last n of history.
        history = self._history
        n = len(history)
        first = n - (self.revision - revision)
        changes: list[Change] = []
        text = 0
        for i in range(first, min(n, first + max(1, limit))):
            change = history[i]
            text += len(change.value or "") + len(change.previous or "")
            if changes and text > PAGE_TEXT:
                break
            changes.append(change)
        if len(changes) < n - first:
            return Batch(changes[-1].revision, changes, False)
        return Batch(self.revision, changes, False)

    async def wait(
        self, revision: int, seconds: float, epoch: str | None = None, limit: int = MAX_PAGE
    ) -> Batch:
        """Like :meth:`since`, but wait up to ``seconds`` for a change when
        there is none yet."""
        batch = self.since(revision, epoch, limit)
        if batch.changes or batch.reset or seconds <= 0:
            return batch
        wakeup = self._wakeup
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), seconds)
        return self.since(revision, epoch, limit)
