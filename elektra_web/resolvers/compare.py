"""Compare: the keys that differ between two targets below a path, and a
cluster's fleet matrix (each member's version of each key, side by side).

Both read through :class:`~.reads.Reads` (an instance live from its elektrad,
with its breaker and its INSTANCE_UNREACHABLE naming it) and a cluster's own
keys from the database. Keys are named relative to the path prefix, so that
``user:/app`` of two instances, or ``user:/app`` and ``system:/app``, line up.

A side of a compare may also be read as it was at a moment, from the history
(``resolvers/history.py``): a target at two times, or against another.

A compare or a matrix holds at most :data:`MAX_KEYS` keys (a matrix at most
:data:`MAX_CELLS` member values too): a bigger one is refused with BAD_INPUT,
asking for a narrower prefix, rather than answered with megabytes no one
reads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..connector.fanout import fan_out
from ..engine.topology import members
from ..exceptions import BadInput, ClusterdError, InvalidKeyName
from ..keynames import KeyName, escape_part
from ..models import Cluster, ClusterKey, Instance
from .auth import Role
from .clusters import get_cluster
from .history import state_at
from .instances import get_instance
from .names import parse_key
from .reads import MAX_DEPTH, ConfigKeyData, Reads
from .writes import Target

__all__ = [
    "MAX_CELLS",
    "MAX_KEYS",
    "FleetMatrixData",
    "KeyDifferenceData",
    "KeyState",
    "MatrixMemberData",
    "MatrixRowData",
    "compare",
    "fleet_matrix",
]

#: The most keys one side of a compare, or a matrix, may hold below its prefix.
MAX_KEYS = 10_000
#: The most member values (keys times members) one matrix may hold.
MAX_CELLS = 200_000

#: Parts of a key name below the prefix: ``()`` is the prefix itself.
Rel = tuple[str, ...]


@dataclass(frozen=True)
class KeyState:
    """An existing key as one side holds it."""

    path: str
    value: str | None
    meta: Mapping[str, str] = field(default_factory=dict)

    def same_as(self, other: KeyState) -> bool:
        """Whether the two hold the same value and metadata (names aside)."""
        return self.value == other.value and self.meta == other.meta


@dataclass(frozen=True)
class KeyDifferenceData:
    """One key that differs; ``left``/``right`` is ``None`` where it is missing."""

    #: Relative to the prefix, escaped as in key names; ``""``: the prefix key.
    name: str
    left: KeyState | None
    right: KeyState | None

    @property
    def value_differs(self) -> bool:
        """Both have it, with different values."""
        return (
            self.left is not None and self.right is not None and self.left.value != self.right.value
        )

    @property
    def meta_differs(self) -> list[str]:
        """Names of the metadata entries that differ, where both have the key."""
        if self.left is None or self.right is None:
            return []
        left, right = self.left.meta, self.right.meta
        return sorted(n for n in left.keys() | right.keys() if left.get(n) != right.get(n))


@dataclass(frozen=True)
class MatrixMemberData:
    """A column of a fleet matrix: a member, and why it was not (fully) read."""

    instance: Instance
    #: Why its values are unknown (all of them, or a broken mount's); else None.
    error: str | None = None


@dataclass(frozen=True)
class MatrixCellData:
    """One member's version of a key; ``state`` is ``None`` where it is missing."""

    state: KeyState | None
    #: It is not the row's reference (see :class:`MatrixRowData`).
    differs: bool


@dataclass(frozen=True)
class MatrixRowData:
    """A row of a fleet matrix: one key.

    Each cell's ``differs`` compares it with the row's reference: the
    cluster's own key where the cluster sets it, else the version most members
    hold (of equally many, the first member's by name). A cell is ``None``
    where the member's value is unknown (it could not be read)."""

    name: str
    path: str
    own: KeyState | None
    cells: list[MatrixCellData | None]

    @property
    def differs(self) -> bool:
        """Whether the members read disagree (existence, value or metadata)."""
        known = {_version(c.state) for c in self.cells if c is not None}
        return len(known) > 1

    @property
    def differs_from_cluster(self) -> bool:
        """Whether a member read holds something else than the cluster sets
        (only where the cluster sets the key)."""
        return self.own is not None and any(c is not None and c.differs for c in self.cells)


@dataclass(frozen=True)
class FleetMatrixData:
    """A cluster's fleet matrix below ``path_prefix``."""

    cluster: Cluster
    path_prefix: str
    #: Its members, nested clusters' too, by name: the columns.
    members: list[MatrixMemberData]
    #: The keys, in key-name order; each row's cells in the order of ``members``.
    rows: list[MatrixRowData]


# -- compare ------------------------------------------------------------------


async def compare(
    reads: Reads,
    left: Target,
    right: Target,
    path_prefix: str,
    right_path_prefix: str | None = None,
    *,
    left_at: dt.datetime | None = None,
    right_at: dt.datetime | None = None,
) -> list[KeyDifferenceData]:
    """The keys below ``path_prefix`` (the prefix key included) that differ
    between ``left`` and ``right``, in key-name order: a value, metadata, or
    one side does not have the key. ``right_path_prefix``: the right side is
    read there instead (``user:/app`` against ``system:/app``). ``left_at``,
    ``right_at``: that side as it was then, as its history tells (a key last
    changed before history began, or before its entries were pruned, is not
    known then); ``None``: as it is now.

    Needs VIEWER. Refused with NOT_FOUND (no such target), INVALID_KEY_NAME,
    INSTANCE_UNREACHABLE (naming the instance), BAD_INPUT (a target that is
    not exactly one of instance and cluster, more than :data:`MAX_KEYS` keys
    on a side, a broken mounted file below the prefix).
    """
    reads.caller.require(Role.VIEWER)
    left_root = _prefix(path_prefix)
    right_root = left_root if right_path_prefix is None else _prefix(right_path_prefix)
    sides = await _gather(
        _read_target(reads, left, left_root, left_at),
        _read_target(reads, right, right_root, right_at),
    )
    left_keys, right_keys = sides
    found: list[KeyDifferenceData] = []
    for rel in sorted(left_keys.keys() | right_keys.keys()):
        mine, theirs = left_keys.get(rel), right_keys.get(rel)
        if mine is not None and theirs is not None and mine.same_as(theirs):
            continue
        found.append(KeyDifferenceData(name=_relative_name(rel), left=mine, right=theirs))
    return found


async def _gather(*reads: Awaitable[dict[Rel, KeyState]]) -> list[dict[Rel, KeyState]]:
    """Read the sides at once; the first side's failure is the one reported
    (and no read is left running behind the answer)."""
    outcomes = await asyncio.gather(*reads, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return [o for o in outcomes if not isinstance(o, BaseException)]


async def _read_target(
    reads: Reads, target: Target, root: KeyName, at: dt.datetime | None
) -> dict[Rel, KeyState]:
    if (target.instance_id is None) == (target.cluster_id is None):
        raise BadInput("a compare target needs exactly one of instanceId and clusterId")
    if target.instance_id is not None:
        instance = await get_instance(reads.caller, target.instance_id)
        if at is not None:
            return _bounded(
                await _history_subtree(target, root, at), f"instance {instance.name}", root
            )
        keys, broken = await _instance_subtree(reads, instance, root)
        if broken:
            raise BadInput(f"{instance.name}: {broken[0][1]}; its keys cannot be compared")
        return _bounded(keys, f"instance {instance.name}", root)
    assert target.cluster_id is not None
    cluster = await get_cluster(reads.caller, target.cluster_id)
    if at is not None:
        return _bounded(await _history_subtree(target, root, at), f"cluster {cluster.name}", root)
    return _bounded(await _cluster_subtree(cluster, root), f"cluster {cluster.name}", root)


def _bounded(keys: dict[Rel, KeyState], what: str, root: KeyName) -> dict[Rel, KeyState]:
    if len(keys) > MAX_KEYS:
        raise BadInput(
            f"{what} has {len(keys):,} keys below {root}, more than {MAX_KEYS:,} compare at "
            "once: compare a narrower pathPrefix"
        )
    return keys


# -- the fleet matrix ---------------------------------------------------------


async def fleet_matrix(reads: Reads, cluster: Cluster, path_prefix: str) -> FleetMatrixData:
    """Every member's (nested clusters' too) version of each key below
    ``path_prefix``, next to the cluster's own, in one bounded fan-out: a
    member that cannot be read is a column with its error, not a failure of
    the matrix.

    Needs VIEWER. Refused with INVALID_KEY_NAME, BAD_INPUT (more than
    :data:`MAX_KEYS` keys or :data:`MAX_CELLS` member values).
    """
    reads.caller.require(Role.VIEWER)
    root = _prefix(path_prefix)
    instances = sorted(await members(cluster, recursive=True), key=lambda i: i.name)
    own = await _cluster_subtree(cluster, root)
    settings = reads.services.settings

    def read(instance: Instance) -> Callable[[], Awaitable[_MemberKeys]]:
        return lambda: _instance_subtree(reads, instance, root)

    # The loader under Reads bounds its own calls too; this bound keeps the
    # loads waiting in it few enough that each starts within its timeout.
    results = await fan_out(
        {i.id: read(i) for i in instances},
        limit=settings.fanout_limit,
        timeout=2 * settings.call_timeout,
    )
    columns: list[MatrixMemberData] = []
    read_keys: list[dict[Rel, KeyState] | None] = []
    unknown: list[list[Rel]] = []
    names: set[Rel] = set(own)
    for instance in instances:
        result = results[instance.id]
        if result.value is None:
            columns.append(MatrixMemberData(instance, _message(instance, result.error)))
            read_keys.append(None)
            unknown.append([])
            continue
        keys, broken = result.value
        error = "; ".join(message for _, message in broken) or None
        columns.append(MatrixMemberData(instance, error))
        read_keys.append(keys)
        unknown.append([rel for rel, _ in broken])
        names.update(keys)
    if len(names) > MAX_KEYS:
        raise BadInput(
            f"{cluster.name} and its members have {len(names):,} keys below {root}, more than "
            f"{MAX_KEYS:,} at once: ask for a narrower pathPrefix"
        )
    if len(names) * len(instances) > MAX_CELLS:
        raise BadInput(
            f"{len(names):,} keys of {len(instances):,} members are more than {MAX_CELLS:,} "
            f"values at once: ask for a narrower pathPrefix than {root}"
        )
    rows = [
        _row(root, rel, own.get(rel), read_keys, unknown)
        for rel in sorted(names)  # tuples of parts: key-name order within one namespace
    ]
    return FleetMatrixData(cluster=cluster, path_prefix=str(root), members=columns, rows=rows)


def _row(
    root: KeyName,
    rel: Rel,
    own: KeyState | None,
    read_keys: Sequence[dict[Rel, KeyState] | None],
    unknown: Sequence[list[Rel]],
) -> MatrixRowData:
    states: list[KeyState | _Unknown | None] = []
    for keys, hidden in zip(read_keys, unknown, strict=True):
        if keys is None or any(rel[: len(h)] == h for h in hidden):
            states.append(UNKNOWN)
        else:
            states.append(keys.get(rel))
    known = [_version(s) for s in states if not isinstance(s, _Unknown)]
    if own is not None:
        reference = _version(own)
    elif known:
        # most_common keeps first-seen order among equal counts: the first
        # member's by name wins a tie.
        reference = Counter(known).most_common(1)[0][0]
    else:
        reference = None
    cells = [
        None if isinstance(s, _Unknown) else MatrixCellData(s, _version(s) != reference)
        for s in states
    ]
    return MatrixRowData(name=_relative_name(rel), path=str(root.child(*rel)), own=own, cells=cells)


class _Unknown:
    """A member's value that could not be read (apart from a missing key)."""


UNKNOWN = _Unknown()


def _message(instance: Instance, error: Exception | None) -> str:
    if isinstance(error, ClusterdError):
        return error.message  # names the instance already ("web-1 is unreachable: ...")
    if isinstance(error, TimeoutError):
        return f"{instance.name} is unreachable: {error}"
    return f"{instance.name} could not be read: {error}"


# -- reading one side ---------------------------------------------------------

#: The existing keys of an instance below a prefix, and its broken mounts
#: there (mount point, message): their keys are unknown.
_MemberKeys = tuple[dict[Rel, KeyState], list[tuple[Rel, str]]]


async def _instance_subtree(reads: Reads, instance: Instance, root: KeyName) -> _MemberKeys:
    """The instance's keys at and below ``root`` (to :data:`MAX_DEPTH`
    levels), read live through ``reads``."""
    found = await reads.instance_keys(instance, str(root), MAX_DEPTH)
    keys: dict[Rel, KeyState] = {}
    broken: list[tuple[Rel, str]] = []
    for key in found:
        rel = KeyName.parse(key.path).relative_to(root)
        if key.exists:
            keys[rel] = _state(key)
        elif key.mount is not None and key.mount.broken:
            broken.append(
                (
                    rel,
                    f"the file {key.mount.file} mounted at {key.mount.mount_point} does not "
                    f"parse ({key.mount.error})",
                )
            )
    return keys, broken


async def _cluster_subtree(cluster: Cluster, root: KeyName) -> dict[Rel, KeyState]:
    """The keys ``cluster`` itself sets at and below ``root``."""
    # The text prefix narrows the rows in the database (a superset: user:/app
    # also matches user:/apple); the parsed names decide.
    rows = await ClusterKey.filter(cluster_id=cluster.id, path__startswith=str(root))
    keys: dict[Rel, KeyState] = {}
    for row in rows:
        name = KeyName.parse(row.path)
        if name.is_below_or_same(root):
            keys[name.relative_to(root)] = KeyState(row.path, row.value, dict(row.meta or {}))
    return keys


async def _history_subtree(target: Target, root: KeyName, at: dt.datetime) -> dict[Rel, KeyState]:
    """The target's keys at and below ``root`` as its history tells them at ``at``."""
    state = await state_at(target, str(root), at=at)
    return {
        KeyName.parse(path).relative_to(root): KeyState(path, key.value, dict(key.meta))
        for path, key in state.items()
    }


def _state(key: ConfigKeyData) -> KeyState:
    return KeyState(key.path, key.value, key.meta)


def _version(state: KeyState | None) -> tuple[str | None, frozenset[tuple[str, str]]] | None:
    """What two versions of a key must share to be the same (None: missing)."""
    if state is None:
        return None
    return state.value, frozenset(state.meta.items())


def _prefix(path: str) -> KeyName:
    """A path prefix: a key name with a namespace (a cluster's keys have one;
    a cascading name would compare what no one stores)."""
    name = parse_key(path)
    if name.is_cascading:
        raise InvalidKeyName(
            f"{path!r} is a cascading name; a compare needs a namespace, like user:{path}"
        )
    return name


def _relative_name(rel: Rel) -> str:
    return "/".join(map(escape_part, rel))
