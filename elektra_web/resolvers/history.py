"""Reading the history of configuration (recorded by ``engine/history.py``).

:func:`history` lists the entries of one target (an instance, or a cluster's
own config), optionally of one key and its subtree, newest first, a page at a
time: ``before`` is the id of the last entry seen. Any role may read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from ..exceptions import BadInput, InvalidKeyName
from ..models import HistoryEntry
from .auth import Caller, Role
from .names import parse_key
from .writes import Target

__all__ = ["MAX_PAGE", "HistoryPageData", "history", "subtree_filter"]

#: The most entries one page may have.
MAX_PAGE = 1000


@dataclass
class HistoryPageData:
    """One page, newest first; ``has_more``: older entries follow (ask
    again with ``before`` the last entry's id)."""

    entries: list[HistoryEntry]
    has_more: bool


def _id(value: str, what: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise BadInput(f"{what}: not an id: {value!r}") from exc
    if not 0 < number < 2**63:  # no row has it (and PostgreSQL refuses a larger one)
        raise BadInput(f"{what}: not an id: {value!r}")
    return number


def target_filter(target: Target) -> Q:
    """The entries of ``target``: an instance's, or a cluster's own config's."""
    if (target.instance_id is None) == (target.cluster_id is None):
        raise BadInput("history needs exactly one target: instanceId or clusterId")
    if target.instance_id is not None:
        return Q(instance_id=_id(target.instance_id, "instanceId"))
    assert target.cluster_id is not None
    return Q(cluster_id=_id(target.cluster_id, "clusterId"))


def subtree_filter(path_prefix: str) -> tuple[Q, str, str]:
    """The entries of the key ``path_prefix`` (either spelling) and of the
    keys below it: the filter, the key's canonical name, and the prefix of
    the names below it."""
    name = parse_key(path_prefix)
    if name.is_cascading:
        raise InvalidKeyName(
            f"{path_prefix!r} is a cascading name; history is of keys with a namespace, "
            f"like user:{path_prefix}"
        )
    key = str(name)
    below = key if key.endswith("/") else key + "/"  # a namespace's root ends with one
    return Q(path=key) | Q(path__startswith=below), key, below


async def history(
    caller: Caller,
    target: Target,
    *,
    path_prefix: str | None = None,
    first: int = 50,
    before: str | None = None,
) -> HistoryPageData:
    """The entries of ``target`` (below ``path_prefix``), newest first."""
    caller.require(Role.VIEWER)
    if not 1 <= first <= MAX_PAGE:
        raise BadInput(f"first must be 1 to {MAX_PAGE}")
    query = HistoryEntry.filter(target_filter(target))
    key = below = None
    if path_prefix is not None:
        subtree, key, below = subtree_filter(path_prefix)
        query = query.filter(subtree)
    cursor = _id(before, "before") if before is not None else None
    entries: list[HistoryEntry] = []
    while True:
        page = query if cursor is None else query.filter(id__lt=cursor)
        rows = await page.order_by("-id").limit(first + 1)
        # SQLite's LIKE ignores the case of ASCII letters: what it matched
        # in another case is not below the key, and is left out here.
        fitting = [r for r in rows if key is None or r.path == key or r.path.startswith(str(below))]
        entries += fitting
        if len(entries) > first:
            return HistoryPageData(entries[:first], has_more=True)
        if len(rows) <= first:
            return HistoryPageData(entries, has_more=False)
        cursor = rows[-1].id
