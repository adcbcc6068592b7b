"""Export and import of a subtree of keys, with metadata, in JSON, TOML or INI
(the text format is ``elektra_web.formats.exchange``).

An export reads an instance's keys (from its elektrad) or a cluster's own
config (from the database) at and below a path. An import parses the text
first (nothing is written when it does not parse), computes the plan (which
keys to set and delete, before → after) and makes it one write: to a cluster,
one operation with one revision whose deliveries reach every member as a
cluster write's do; to an instance, one operation whose calls carry its id,
after the lock check of every change. A dry run returns the plan only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from ..connector.exceptions import ConnectorError, InstanceRefused
from ..engine import calls
from ..engine.outbox import InstanceResultData, Step
from ..engine.services import Services
from ..exceptions import BadInput, ClusterdError, InstanceUnreachable, InvalidKeyName
from ..formats import ConfigFormat, Entries, Entry, FormatError, decode, encode
from ..keynames import InvalidKeyName as NotAKeyName
from ..keynames import KeyName, escape_part
from ..logs import OPERATION_ID
from ..models import Cluster, ClusterKey, DeliveryStatus, Instance, Operation, OperationKind
from ..patterns import pattern_refusal
from . import cluster_write
from .auth import Caller, Role
from .cluster_write import DryRunData
from .clusters import get_cluster
from .instances import get_instance
from .locks import check_cluster_write, check_instance_write
from .names import MAX_NAME, MAX_PATH, parse_writable_key
from .preview import KeyPlan, MemberPlanData, Op, plan_instance
from .reads import MAX_DEPTH, Reads
from .refusal import refusal
from .writes import Target

__all__ = [
    "MAX_CONTENT",
    "ConfigFormat",
    "ExportData",
    "ImportMode",
    "ImportResultData",
    "KeyPlan",
    "export_config",
    "import_config",
]

#: The largest text an import takes, in bytes of UTF-8.
MAX_CONTENT = 10 * 1024 * 1024


class ImportMode(Enum):
    """What an import does with what it does not mention."""

    #: Keys and metadata entries of the content are set; nothing is removed.
    MERGE = "MERGE"
    #: The subtree becomes the content: other keys below the path are
    #: deleted, other metadata entries of its keys removed.
    REPLACE = "REPLACE"


@dataclass(frozen=True)
class ExportData:
    """An export: its text and how many keys it holds."""

    content: str
    keys: int


@dataclass
class ImportResultData:
    """The plan, and for a write that was made: its operation and results."""

    dry_run: bool
    changes: list[KeyPlan]
    operation_id: str | None = None
    results: list[InstanceResultData] | None = None
    #: A dry run: what it would do on each instance it reaches.
    members: list[MemberPlanData] = field(default_factory=list)


# -- export -------------------------------------------------------------------


async def export_config(
    services: Services, caller: Caller, target: Target, path_prefix: str, fmt: ConfigFormat
) -> ExportData:
    """The keys at and below ``path_prefix`` of the target, as text of ``fmt``."""
    caller.require(Role.VIEWER)
    prefix = parse_writable_key(path_prefix)
    current = await _current(services, caller, target, prefix)
    entries: Entries = {_relative(name, prefix): entry for name, entry in current.items()}
    return ExportData(encode(fmt, entries), len(entries))


def _relative(name: KeyName, prefix: KeyName) -> str:
    return "/".join(map(escape_part, name.relative_to(prefix)))


async def _current(
    services: Services, caller: Caller, target: Target, prefix: KeyName
) -> dict[KeyName, Entry]:
    """The target's keys at and below ``prefix``, in key-name order."""
    if (target.instance_id is None) == (target.cluster_id is None):
        raise BadInput("exactly one target is needed: instanceId or clusterId")
    if target.cluster_id is not None:
        cluster = await get_cluster(caller, target.cluster_id)
        return _cluster_entries(await ClusterKey.filter(cluster_id=cluster.id), prefix)
    assert target.instance_id is not None
    instance = await get_instance(caller, target.instance_id)
    return await _instance_entries(services, caller, instance, prefix)


def _cluster_entries(rows: list[ClusterKey], prefix: KeyName) -> dict[KeyName, Entry]:
    found = {KeyName.parse(k.path): k for k in rows}
    return {
        name: Entry(found[name].value, dict(found[name].meta))
        for name in sorted(found)
        if name.is_below_or_same(prefix)
    }


async def _instance_entries(
    services: Services, caller: Caller, instance: Instance, prefix: KeyName
) -> dict[KeyName, Entry]:
    keys = await Reads(services, caller).instance_keys(instance, str(prefix), MAX_DEPTH)
    entries: dict[KeyName, Entry] = {}
    for key in keys:
        if key.mount is not None and key.mount.broken and key.path == key.mount.mount_point:
            # Its keys cannot be read: an export without them would be wrong,
            # and a REPLACE would delete them.
            raise BadInput(
                f"{instance.name}: the file mounted at {key.path} is broken "
                f"({key.mount.error}); fix it first"
            )
        if key.exists:
            entries[KeyName.parse(key.path)] = Entry(key.value, dict(key.meta))
    return dict(sorted(entries.items()))


# -- import -------------------------------------------------------------------


async def import_config(
    services: Services,
    caller: Caller,
    target: Target,
    path_prefix: str,
    fmt: ConfigFormat,
    content: str,
    mode: ImportMode,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> ImportResultData:
    """Make the subtree at ``path_prefix`` hold ``content`` (see
    :class:`ImportMode`); ``dry_run``: only say what would change (and on
    each instance it reaches); ``force``: as a write's (``writes.write``)."""
    caller.require(Role.EDITOR)
    prefix = parse_writable_key(path_prefix)
    # len() first: a text far too long is refused before it is encoded.
    if len(content) > MAX_CONTENT or len(content.encode("utf-8", "surrogatepass")) > MAX_CONTENT:
        raise BadInput(
            f"the content is larger than {MAX_CONTENT // (1024 * 1024)} MiB; "
            "import the subtree in parts"
        )
    try:
        entries = decode(fmt, content)
    except FormatError as exc:
        extensions = {"line": exc.line, "column": exc.column}
        raise BadInput(f"not a {fmt.value} export: {exc}", **extensions) from exc
    wanted = _wanted(entries, prefix)
    if target.cluster_id is not None:
        cluster = await get_cluster(caller, target.cluster_id)
        return await _import_cluster(
            services, caller, cluster, prefix, wanted, mode, dry_run=dry_run, force=force
        )
    assert target.instance_id is not None
    instance = await get_instance(caller, target.instance_id)
    current = await _current(services, caller, target, prefix)
    changes = _plan(current, wanted, mode)
    if dry_run:
        ops = [Op.of_step(step) for step in _steps(changes)]
        members = await plan_instance(services, caller, instance, ops)
        return ImportResultData(True, changes, members=members)
    return await _import_instance(services, caller, instance, prefix, changes)


def _wanted(entries: Entries, prefix: KeyName) -> dict[KeyName, Entry]:
    """The content's entries by key name; BAD_INPUT (naming the entry) for a
    name, metadata or validation pattern no write would take."""
    wanted: dict[KeyName, Entry] = {}
    for relative, entry in entries.items():
        where = f"entry {relative!r}"
        try:
            parts = KeyName.parse(f"user:/{relative}").parts if relative else ()
        except NotAKeyName as exc:
            raise InvalidKeyName(f"{where}: not a key name: {exc}") from exc
        name = prefix.child(*parts)
        if len(str(name)) > MAX_PATH:
            raise InvalidKeyName(f"{where}: a key name may have at most {MAX_PATH} characters")
        if name in wanted:
            raise BadInput(f"{where}: names the key {name} a second time")
        for meta_name, meta_value in entry.meta.items():
            if not meta_name or len(meta_name) > MAX_NAME:
                raise BadInput(f"{where}: a metadata name has 1 to {MAX_NAME} characters")
            if meta_name == "check/validation":
                # Refused here as setMeta refuses it: before anything is written.
                refused = pattern_refusal(meta_value)
                if refused is not None:
                    raise BadInput(f"{where}: {refused}")
        wanted[name] = entry
    return dict(sorted(wanted.items()))


def _plan(
    current: Mapping[KeyName, Entry], wanted: Mapping[KeyName, Entry], mode: ImportMode
) -> list[KeyPlan]:
    """The keys that change, deletions first (each under a deleted parent is
    left out: deleting the parent removes it)."""
    changes: list[KeyPlan] = []
    deleted: list[KeyName] = []
    if mode is ImportMode.REPLACE:
        for name in sorted(current):
            if name in wanted or any(name.is_below_or_same(d) for d in deleted[-1:]):
                continue
            deleted.append(name)
            changes.append(KeyPlan(str(name), current[name], None))
    for name, entry in wanted.items():
        # A key below a deleted one is gone (a delete takes the subtree)
        # before it is set again: made anew, whatever it was.
        gone = any(name.is_below_or_same(d) for d in deleted)
        before = current.get(name)
        if entry.value is None and not entry.meta and (gone or before is None):
            # A container without metadata (of a mounted JSON or TOML file)
            # is made by its children: set as "" it would be a leaf there.
            continue
        after = _after(None if gone else before, entry, mode)
        if gone or after != before:
            changes.append(KeyPlan(str(name), before, after, recreated=gone))
    return changes


def _after(before: Entry | None, entry: Entry, mode: ImportMode) -> Entry:
    """The key as the import leaves it."""
    value = entry.value
    if value is None:
        # No value in the content: the key keeps its own (a new one is empty,
        # as a write makes it).
        value = before.value if before is not None else ""
    meta = dict(entry.meta)
    if mode is ImportMode.MERGE and before is not None:
        meta = {**before.meta, **meta}
    return Entry(value, dict(sorted(meta.items())))


def _steps(changes: list[KeyPlan]) -> list[Step]:
    """The calls that make the plan: per key, removed metadata first, then
    the value, then new metadata (a check/* entry removed before a value it
    would refuse, one added after the value it checks)."""
    steps: list[Step] = []
    for change in changes:
        after = change.after
        before = None if change.recreated else change.before
        if after is None:
            previous = before.value if before is not None else None
            steps.append(Step(OperationKind.DELETE, change.path, previous=previous))
            continue
        old_meta = before.meta if before is not None else {}
        steps += [
            Step(OperationKind.META, change.path, None, k, previous=v)
            for k, v in sorted(old_meta.items())
            if k not in after.meta
        ]
        if before is None or before.value != after.value:
            previous = before.value if before is not None else None
            steps.append(Step(OperationKind.SET, change.path, after.value, previous=previous))
        steps += [
            Step(OperationKind.META, change.path, v, k, previous=old_meta.get(k))
            for k, v in sorted(after.meta.items())
            if old_meta.get(k) != v
        ]
    return steps


# -- to a cluster -------------------------------------------------------------


async def _import_cluster(
    services: Services,
    caller: Caller,
    cluster: Cluster,
    prefix: KeyName,
    wanted: dict[KeyName, Entry],
    mode: ImportMode,
    *,
    dry_run: bool,
    force: bool,
) -> ImportResultData:
    planned: list[KeyPlan] = []

    async def change_config(revision: int) -> list[Step]:
        # Planned on what the last cluster write committed (the revision,
        # taken first, queues concurrent ones).
        rows = await ClusterKey.filter(cluster_id=cluster.id)
        planned[:] = _plan(_cluster_entries(rows, prefix), wanted, mode)
        sets = [KeyName.parse(c.path) for c in planned if c.after is not None]
        await check_cluster_write(cluster, sets)
        await _store(cluster, rows, prefix, planned, revision)
        return _steps(planned)

    done = await cluster_write.commit(
        services,
        caller,
        cluster,
        kind=OperationKind.SET,
        path=str(prefix),
        change_config=change_config,
        dry_run=dry_run,
        force=force,
    )
    if isinstance(done, DryRunData):
        return ImportResultData(True, planned, members=done.plans)
    if done is None:
        return ImportResultData(False, [])
    return ImportResultData(False, planned, done.operation_id, done.results)


async def _store(
    cluster: Cluster,
    rows: list[ClusterKey],
    prefix: KeyName,
    changes: list[KeyPlan],
    revision: int,
) -> None:
    """The plan, in the cluster's own config."""
    by_name = {KeyName.parse(k.path): k for k in rows}
    deleted = [KeyName.parse(c.path) for c in changes if c.after is None]
    gone = [
        k.id
        for name, k in by_name.items()
        if name.is_below_or_same(prefix) and any(name.is_below_or_same(d) for d in deleted)
    ]
    if gone:
        await ClusterKey.filter(id__in=gone).delete()
    for change in changes:
        if change.after is None:
            continue
        row = by_name.get(KeyName.parse(change.path))
        value, meta = change.after.value, dict(change.after.meta)
        if row is None or row.id in gone:
            await ClusterKey.create(
                cluster=cluster, path=change.path, value=value, meta=meta, revision=revision
            )
        else:
            await ClusterKey.filter(id=row.id).update(value=value, meta=meta, revision=revision)


# -- to an instance -----------------------------------------------------------


async def _import_instance(
    services: Services,
    caller: Caller,
    instance: Instance,
    prefix: KeyName,
    changes: list[KeyPlan],
) -> ImportResultData:
    if not changes:
        return ImportResultData(False, [])
    steps = _steps(changes)
    # Every change is checked before the first is made: a locked key refuses
    # the whole import, nothing written.
    for step in steps:
        await check_instance_write(instance, step.kind, KeyName.parse(step.path))
    if services.breakers.is_open(instance.id):
        reason = services.breakers.reason(instance.id)
        raise InstanceUnreachable(f"{instance.name} is unreachable: {reason}")
    operation = await Operation.create(
        kind=OperationKind.SET, path=str(prefix), instance=instance, actor=caller.name
    )
    OPERATION_ID.set(str(operation.id))
    services.remember_operation(str(operation.id))
    client = services.client(instance, operation=str(operation.id))
    for done, step in enumerate(steps):
        try:
            await calls.apply(
                client, step.kind, step.path, value=step.value, meta_key=step.meta_key
            )
        except (InstanceRefused, ConnectorError) as exc:
            if done == 0:
                await operation.delete()
            if isinstance(exc, InstanceRefused):
                error = refusal(instance, exc)
            else:
                services.breakers.failed(instance.id, str(exc))
                error = InstanceUnreachable(f"{instance.name} is unreachable: {exc}")
            if done and isinstance(error, ClusterdError):
                # Said, not hidden: the changes before this one stay made.
                error.message += f" ({done} of {len(steps)} changes were made before)"
                error.args = (error.message,)
            raise error from exc
    result = InstanceResultData(instance, DeliveryStatus.APPLIED)
    return ImportResultData(False, changes, str(operation.id), [result])
