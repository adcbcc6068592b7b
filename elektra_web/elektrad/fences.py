"""Write fencing: a delayed or replayed old cluster write never steps a key back.

clusterd gives every cluster write a revision that only grows and sends it as
``X-Fence: <source>/<revision>`` (``source`` names the clusterd database).
elektrad keeps, per canonical key name, the last :class:`Fence` applied and
refuses a fenced write if a key it would change has a newer revision of the
same source (:class:`~.exceptions.Stale`, 412). Equal revisions pass (a retry,
or the value and the metadata of one operation); a fence of another source
never refuses and is replaced. Fences of deleted keys are kept: a late SET
after a DELETE is refused. Writes without the header neither check nor change
fences.

The database checks and writes fences in its one write path, under its lock
(``database.py``); the store keeps them in the ``fences`` table of keys.db.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..keynames import KeyName
from .exceptions import BadRequest, Stale

__all__ = ["MAX_REVISION", "Fence", "FencePlan", "Fences", "parse_fence"]

MAX_REVISION = 2**63 - 1
_HEADER = re.compile(r"([A-Za-z0-9_-]{1,64})/([0-9]{1,19})")


@dataclass(frozen=True, slots=True)
class Fence:
    """One clusterd database's revision of a write."""

    source: str
    revision: int

    def __str__(self) -> str:
        return f"{self.source}/{self.revision}"


def parse_fence(values: list[str]) -> Fence | None:
    """The ``X-Fence`` header's values (none: an unfenced write)."""
    if not values:
        return None
    if len(values) > 1:
        raise BadRequest("X-Fence must be given once")
    match = _HEADER.fullmatch(values[0])
    revision = int(match[2]) if match else 0
    if match is None or not 1 <= revision <= MAX_REVISION:
        raise BadRequest(
            f"X-Fence must be <source>/<revision>: a source of 1-64 characters "
            f"[A-Za-z0-9_-] and a revision from 1 to {MAX_REVISION}, not {values[0]!r}"
        )
    return Fence(match[1], revision)


@dataclass(frozen=True)
class FencePlan:
    """What a fenced write checks and, if it goes through, fences.

    ``exact`` and ``subtrees`` are checked (a subtree: the name and every name
    below it); ``named`` get the write's fence, and so does every key the write
    changes (``database.py`` adds those)."""

    fence: Fence
    named: tuple[KeyName, ...]
    exact: tuple[KeyName, ...] = ()
    subtrees: tuple[KeyName, ...] = ()


class Fences:
    """Every key's fence, ordered so that a subtree is one slice."""

    def __init__(self, fences: dict[KeyName, Fence] | None = None) -> None:
        self._fences: dict[KeyName, Fence] = {}
        self._order: list[tuple[int, tuple[str, ...]]] = []
        self._names: dict[tuple[int, tuple[str, ...]], KeyName] = {}
        for name, fence in (fences or {}).items():
            self.put(name, fence)

    def __len__(self) -> int:
        return len(self._fences)

    def get(self, name: KeyName) -> Fence | None:
        return self._fences.get(name)

    def put(self, name: KeyName, fence: Fence) -> None:
        if name not in self._fences:
            sort_key = name.sort_key()
            insort(self._order, sort_key)
            self._names[sort_key] = name
        self._fences[name] = fence

    def below(self, root: KeyName) -> Iterator[tuple[KeyName, Fence]]:
        """``root``'s fence (if any) and every fence below it, in order."""
        order = self._order
        i = bisect_left(order, root.sort_key())
        while i < len(order):
            name = self._names[order[i]]
            if not name.is_below_or_same(root):
                break
            yield name, self._fences[name]
            i += 1

    def check(self, plan: FencePlan) -> None:
        """Raise :class:`Stale` if a checked key has a newer revision of the
        plan's source."""
        offered = plan.fence
        candidates: list[Iterable[tuple[KeyName, Fence]]] = [
            [(n, f) for n in plan.exact if (f := self.get(n)) is not None],
            *(self.below(root) for root in plan.subtrees),
        ]
        for found in candidates:
            for name, stored in found:
                if stored.source == offered.source and stored.revision > offered.revision:
                    raise Stale(
                        f"{name} is at revision {stored.revision} of this clusterd; "
                        f"revision {offered.revision} is older"
                    )
