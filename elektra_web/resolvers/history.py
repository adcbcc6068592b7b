"""Reading the history of configuration (recorded by ``engine/history.py``).

:func:`history` lists the entries of one target (an instance, or a cluster's
own config), optionally of one key and its subtree, newest first, a page at a
time: ``before`` is the id of the last entry seen. Any role may read it.

:func:`state_at` replays a target's entries of a subtree up to a moment: the
keys as history knows them then (time-travel, :func:`key_at`). A key last
changed before history began (or before retention pruned its entries) is not
known to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tortoise.expressions import Q

from ..exceptions import BadInput, InvalidKeyName
from ..keynames import KeyName
from ..models import HistoryEntry, OperationKind
from .auth import Caller, Role
from .names import parse_key
from .reads import ConfigKeyData
from .writes import Target

__all__ = [
    "MAX_PAGE",
    "HistoryPageData",
    "KeyState",
    "history",
    "key_at",
    "state_at",
    "subtree_filter",
    "target_filter",
    "utc",
]

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
    the names below it. The filter may match more (a sibling such as
    ``key.x``): keep only names equal to the key or starting with the prefix."""
    name = parse_key(path_prefix)
    if name.is_cascading:
        raise InvalidKeyName(
            f"{path_prefix!r} is a cascading name; history is of keys with a namespace, "
            f"like user:{path_prefix}"
        )
    key = str(name)
    below = key if key.endswith("/") else key + "/"  # a namespace's root ends with one
    if HistoryEntry._meta.db.capabilities.dialect == "sqlite":
        # One range of the (target, path) index, in SQLite's binary order:
        # the key, its subtree, and siblings like "key.x" or "key-x" (between
        # "key" and "key0"), which the callers leave out. A LIKE would scan
        # the target's every entry.
        upper = below[:-1] + chr(ord("/") + 1)
        return Q(path__gte=key, path__lt=upper), key, below
    # PostgreSQL compares text in the database's collation, where "/" need
    # not sort between "key" and "key0": a LIKE, always right.
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
        # What the filter matched that is not the key or below it (see
        # subtree_filter) is left out here.
        fitting = [r for r in rows if key is None or r.path == key or r.path.startswith(str(below))]
        entries += fitting
        if len(entries) > first:
            return HistoryPageData(entries[:first], has_more=True)
        if len(rows) <= first:
            return HistoryPageData(entries, has_more=False)
        cursor = rows[-1].id


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC (naive: taken as UTC), as the entries' times are
    stored: SQLite compares them as text."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


@dataclass
class KeyState:
    """A key as history knows it at some moment."""

    value: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


async def state_at(
    target: Target,
    path: str,
    *,
    at: dt.datetime | None = None,
    before_id: int | None = None,
) -> dict[str, KeyState]:
    """The keys at and below ``path`` of ``target`` after the entries
    recorded at or before ``at`` (and, if given, before the entry
    ``before_id``) are replayed in the order they were recorded."""
    subtree, key, below = subtree_filter(path)
    query = HistoryEntry.filter(target_filter(target)).filter(subtree)
    if at is not None:
        query = query.filter(at__lte=utc(at))
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    rows = await query.order_by("id").values_list("op", "path", "value", "meta_key")
    state: dict[str, KeyState] = {}
    for op, name, value, meta_key in rows:
        if name != key and not name.startswith(below):
            continue  # not below the key (see subtree_filter)
        match OperationKind(op):
            case OperationKind.SET:
                state.setdefault(name, KeyState()).value = value
            case OperationKind.META if meta_key is not None:
                # A key last set before history began exists: its metadata tells.
                meta = state.setdefault(name, KeyState()).meta
                if value is None:
                    meta.pop(meta_key, None)
                else:
                    meta[meta_key] = value
            case OperationKind.DELETE:
                # A subtree's delete may be told by its top key alone.
                prefix = name if name.endswith("/") else name + "/"
                for gone in [k for k in state if k == name or k.startswith(prefix)]:
                    del state[gone]
    return state


async def key_at(caller: Caller, target: Target, path: str, at: dt.datetime) -> ConfigKeyData:
    """The key at ``path`` of ``target`` as it was at ``at``, with its
    children then, as history knows them."""
    caller.require(Role.VIEWER)
    state = await state_at(target, path, at=at)
    name = parse_key(path)
    key = state.get(str(name))
    children: set[KeyName] = set()
    for other in map(KeyName.parse, state):
        if other != name:
            children.add(name.child(other.relative_to(name)[0]))
    return ConfigKeyData(
        path=str(name),
        name=name.base_name,
        exists=key is not None,
        value=key.value if key else None,
        meta=dict(key.meta) if key else {},
        children=[str(c) for c in sorted(children)],
    )
