"""The key database: one ordered index over the default store and the mounts.

Reads are served from the in-memory :class:`~.keyset.KeySet`. Every write
follows one path, :meth:`KeyDatabase._commit`, under one lock:

0. for a fenced write (``X-Fence``, see ``fences.py``): refuse it
   (:class:`~.exceptions.Stale`) if a key it checks has a newer revision of
   the same clusterd; nothing is changed or published then;
1. pick up edits that other programs made to mounted files;
2. compute the wanted state of every affected key (``build``);
3. edit the documents of the affected mounts in memory (nothing is written if
   one of them cannot hold a key), write each file atomically, then the
   default store in one SQLite transaction. A fenced write's fences (the
   named keys' and every changed key's) go in that transaction too; when
   mounted files are written, they are committed first, on their own, before
   the first file: a crash in between leaves a fence ahead of its file, so a
   retry of the write is accepted and an older write refused, never the
   reverse (see :meth:`KeyDatabase._apply`);
4. update the index and publish one change per changed key.

If a mounted file changed on disk between 1 and 3, its write is refused
(:class:`~.exceptions.StaleFile`) and the whole write is redone on the fresh
content, so an edit made by another program is never silently overwritten.
Step 0 runs once, under the same lock as the rest: two fenced writes never
both pass their checks before either is written. A fenced write that changes
nothing (deleting a missing key) still stores its fences.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ..keynames import CASCADE_ORDER, KeyName, Spelling
from .changes import ChangeFeed, Origin
from .exceptions import (
    BadRequest,
    Conflict,
    ElektradError,
    KeyNotFound,
    StaleFile,
)
from .fences import Fence, FencePlan, Fences
from .keyset import Key, KeySet
from .mounts import Mount, MountSpec
from .storage.base import Document
from .store import DefaultStore
from .validation import validate, validate_meta

__all__ = ["KeyDatabase"]

log = logging.getLogger("elektra_web.elektrad")

#: The wanted state of each affected key; ``None`` deletes it.
Changes = dict[KeyName, Key | None]

# A cascading write goes to the first namespace that has the key, else user:/.
_WRITE_NAMESPACES = ("dir", "user", "system")
_ATTEMPTS = 3


class KeyDatabase:
    """Every key of one machine, with its change feed."""

    def __init__(
        self, data_dir: Path, mounts: Sequence[MountSpec] = (), *, history: int = 10_000
    ) -> None:
        _check_no_overlap(mounts)
        self.store = DefaultStore(data_dir)
        # Deepest prefix first, so that the first match is the owner.
        self.mounts = [Mount(s) for s in sorted(mounts, key=lambda s: -len(s.prefix.parts))]
        self.keys = KeySet()
        self.feed = ChangeFeed(history)
        self._mounted_meta: dict[KeyName, dict[str, str]] = {}
        # Each mount's error as last published ("mount" changes of the feed).
        self._mount_errors: dict[Mount, str | None] = {}
        self._lock = asyncio.Lock()
        self.fences = Fences()
        # X-Operation-Id and X-Fence revision of the write in progress
        self._operation: str | None = None
        self._fence: int | None = None
        #: Told ("mount" or "store", seconds) after each file written: the metrics.
        self.on_write: Callable[[str, float], None] | None = None

    @property
    def instance_id(self) -> str:
        return self.store.instance_id

    async def open(self) -> None:
        state = await self.store.open()
        self._mounted_meta = state.mounted_meta
        self.fences = Fences(state.fences)
        for name, key in state.keys.items():
            if self.mount_of(name) is None:
                self.keys.put(name, key)
        for mount in self.mounts:
            await asyncio.to_thread(mount.remove_leftovers)
            await asyncio.to_thread(mount.load)
            if mount.broken:
                log.error("mount %s (%s) is broken: %s", mount.prefix, mount.path, mount.error)
            self._sync_mount(mount, origin=None)
            self._mount_errors[mount] = mount.error

    async def close(self) -> None:
        await self.store.close()

    def mount_of(self, name: KeyName) -> Mount | None:
        for mount in self.mounts:
            if name.is_below_or_same(mount.prefix):
                return mount
        return None

    # -- noticing other programs' edits ------------------------------------

    async def refresh(self) -> None:
        """Re-read mounted files that changed on disk (cheap when none did)."""
        if self.mounts and await asyncio.to_thread(self._stale_mounts):
            async with self._lock:
                await self._refresh_locked()

    def _stale_mounts(self) -> list[Mount]:
        return [m for m in self.mounts if m.changed_on_disk()]

    async def _refresh_locked(self) -> None:
        for mount in await asyncio.to_thread(self._stale_mounts):
            await asyncio.to_thread(mount.load)
            if mount.broken:
                log.error("mount %s (%s) is broken: %s", mount.prefix, mount.path, mount.error)
            self._sync_mount(mount, "file")

    def _publish_mount_status(self, mount: Mount) -> None:
        """Tell the feed that the mount broke, was repaired, or broke otherwise:
        a ``mount`` change of its mount point, ``value`` the parser's message
        (``None``: it parses), ``previous`` the one before. Followers learn it
        live; the keys of a broken mount stay as last read and are hidden from
        reads (see :meth:`read`), so no change of theirs is published then."""
        before = self._mount_errors.get(mount)
        if before == mount.error:
            return
        self._mount_errors[mount] = mount.error
        if mount.error is None:
            log.info("mount %s (%s) parses again", mount.prefix, mount.path)
        self.feed.publish("mount", str(mount.prefix), mount.error, before, "file")

    async def watch(self, interval: float) -> None:
        """Poll mounted files forever, so that the change feed shows other
        programs' edits even when no request comes in."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("checking mounted files failed")

    # -- reads ---------------------------------------------------------------

    def check_usable(self, name: KeyName) -> None:
        """Refuse to write keys of a broken mount (their content is unknown),
        or a subtree that holds one."""
        for mount in self.mounts:
            if mount.broken and _overlaps(name, mount.prefix):
                mount.ensure_usable()

    def check_readable(self, name: KeyName) -> None:
        """Refuse to read at or below a broken mount's mount point (the keys
        there are unknown); a subtree that only holds one is read without it
        (:meth:`read`)."""
        for mount in self.mounts:
            if not mount.broken:
                continue
            inside = name.in_namespace(mount.prefix.namespace) if name.is_cascading else name
            if inside.is_below_or_same(mount.prefix):
                mount.ensure_usable()

    def mount_points(self) -> dict[KeyName, dict[str, str | int | None]]:
        """Every mount point and its mount, as :meth:`Mount.describe` shows it."""
        return {m.prefix: m.describe() for m in self.mounts}

    def read(self, name: KeyName | None) -> list[tuple[KeyName, Key | None]]:
        """What a read of ``name`` (``None``: the whole database) shows, in
        order: the keys of :meth:`below`, less those of broken mounts, whose
        content is unknown (the last good one, kept for when the file parses
        again, would be stale), and, with ``None`` for a key, each broken
        mount point below a namespaced ``name``, so that a reader sees where
        a subtree is missing and why (its mount, :meth:`mount_points`)."""
        broken = [m.prefix for m in self.mounts if m.broken]
        found = list(self.keys.items()) if name is None else self.below(name)
        if not broken:
            return list(found)
        shown: list[tuple[KeyName, Key | None]] = [
            e for e in found if not _inside_any(e[0], broken)
        ]
        if name is not None and name.is_cascading:
            return shown
        for prefix in broken:
            if name is None or (prefix != name and prefix.is_below_or_same(name)):
                shown.append((prefix, None))
        shown.sort(key=lambda entry: entry[0].sort_key())
        return shown

    def lookup(self, name: KeyName) -> Key | None:
        """The key, resolved through the namespaces if ``name`` is cascading."""
        if not name.is_cascading:
            return self.keys.get(name)
        for namespace in CASCADE_ORDER:
            key = self.keys.get(name.in_namespace(namespace))
            if key is not None:
                return key
        return None

    def below(self, name: KeyName) -> list[tuple[KeyName, Key]]:
        """``name`` and every key below it, in order; for a cascading name, the
        cascading names of all namespaces, each resolved."""
        if not name.is_cascading:
            return list(self.keys.below(name))
        merged: dict[KeyName, Key] = {}
        for namespace in CASCADE_ORDER:
            for found, key in self.keys.below(name.in_namespace(namespace)):
                merged.setdefault(KeyName("", found.parts), key)
        return sorted(merged.items(), key=lambda item: item[0].sort_key())

    def find(self, query: str) -> list[KeyName]:
        """Names whose canonical or legacy spelling contains ``query`` (none
        of a broken mount: what it holds is unknown)."""
        broken = [m.prefix for m in self.mounts if m.broken]
        return [
            name
            for name, _ in self.keys.items()
            if (query in str(name) or query in name.spell(Spelling.LEGACY))
            and not (broken and _inside_any(name, broken))
        ]

    # -- writes --------------------------------------------------------------

    # Each takes ``operation`` (the client's X-Operation-Id, echoed in the
    # change feed) and ``fence`` (X-Fence; None: an unfenced write).

    async def set_value(
        self,
        name: KeyName,
        value: str,
        *,
        operation: str | None = None,
        fence: Fence | None = None,
    ) -> KeyName:
        """Set a value (creating the key); returns the name written."""
        target = self._write_target(name)

        def build() -> Changes:
            old = self.keys.get(target)
            meta = old.meta if old else {}
            validate(value, self._checks(target, meta), str(target))
            return {target: Key(value, meta)}

        plan = FencePlan(fence, named=(target,), exact=(target,)) if fence else None
        await self._commit(build, operation, plan)
        return target

    async def delete(
        self, name: KeyName, *, operation: str | None = None, fence: Fence | None = None
    ) -> None:
        """Delete the key and everything below it; a missing key is no error."""
        target = self._existing_target(name)
        self.check_usable(target)
        plan = FencePlan(fence, named=(target,), subtrees=(target,)) if fence else None
        await self._commit(lambda: {n: None for n, _ in self.keys.below(target)}, operation, plan)

    async def set_meta(
        self,
        name: KeyName,
        meta_key: str,
        value: str,
        *,
        operation: str | None = None,
        fence: Fence | None = None,
    ) -> None:
        _check_meta_key(meta_key)
        validate_meta(meta_key, value)
        target = self._existing_target(name)

        def build() -> Changes:
            old = self._require(target)
            return {target: Key(old.value, {**old.meta, meta_key: value})}

        plan = FencePlan(fence, named=(target,), exact=(target,)) if fence else None
        await self._commit(build, operation, plan)

    async def delete_meta(
        self,
        name: KeyName,
        meta_key: str,
        *,
        operation: str | None = None,
        fence: Fence | None = None,
    ) -> None:
        _check_meta_key(meta_key)
        target = self._existing_target(name)

        def build() -> Changes:
            old = self._require(target)
            if meta_key not in old.meta:
                return {}
            meta = {k: v for k, v in old.meta.items() if k != meta_key}
            return {target: Key(old.value, meta)}

        plan = FencePlan(fence, named=(target,), exact=(target,)) if fence else None
        await self._commit(build, operation, plan)

    async def move(
        self,
        source: KeyName,
        target: KeyName,
        *,
        operation: str | None = None,
        fence: Fence | None = None,
    ) -> None:
        await self._transfer(source, target, keep_source=False, operation=operation, fence=fence)

    async def copy(
        self,
        source: KeyName,
        target: KeyName,
        *,
        operation: str | None = None,
        fence: Fence | None = None,
    ) -> None:
        await self._transfer(source, target, keep_source=True, operation=operation, fence=fence)

    async def _transfer(
        self,
        source: KeyName,
        target: KeyName,
        *,
        keep_source: bool,
        operation: str | None,
        fence: Fence | None,
    ) -> None:
        verb = "copy" if keep_source else "move"
        if source.is_cascading or target.is_cascading:
            raise BadRequest(f"{verb} needs names with a namespace, like user:/a")
        if target != source and target.is_below_or_same(source):
            raise BadRequest(f"cannot {verb} {source} into its own subtree ({target})")
        self.check_usable(source)
        self.check_usable(target)

        def build() -> Changes:
            subtree = list(self.keys.below(source))
            if not subtree:
                raise KeyNotFound(f"{source} does not exist")
            if source == target:
                return {}
            changes: Changes = {} if keep_source else {n: None for n, _ in subtree}
            for name, key in subtree:
                changes[target.child(*name.relative_to(source))] = key
            return changes

        plan: FencePlan | None = None
        if fence is not None and keep_source:
            # A copy leaves the source as it is: checked, but not fenced.
            plan = FencePlan(fence, named=(target,), exact=(source,), subtrees=(target,))
        elif fence is not None:
            plan = FencePlan(fence, named=(source, target), subtrees=(source, target))
        await self._commit(build, operation, plan)

    # -- helpers of the writes ---------------------------------------------

    def _write_target(self, name: KeyName) -> KeyName:
        if not name.is_cascading:
            return name
        for namespace in _WRITE_NAMESPACES:
            if name.in_namespace(namespace) in self.keys:
                return name.in_namespace(namespace)
        return name.in_namespace("user")

    def _existing_target(self, name: KeyName) -> KeyName:
        if not name.is_cascading:
            return name
        for namespace in _WRITE_NAMESPACES:
            if self.keys.has_below(name.in_namespace(namespace)):
                return name.in_namespace(namespace)
        return name.in_namespace("user")

    def _require(self, name: KeyName) -> Key:
        key = self.keys.get(name)
        if key is None:
            raise KeyNotFound(f"{name} does not exist")
        return key

    def _checks(self, name: KeyName, meta: dict[str, str]) -> dict[str, str]:
        """The check/* metadata that applies: the spec:/ key's, then the key's own."""
        spec = self.keys.get(name.in_namespace("spec")) if name.namespace != "spec" else None
        inherited = {k: v for k, v in spec.meta.items() if k.startswith("check/")} if spec else {}
        return inherited | meta

    # -- the one write path ------------------------------------------------

    async def _commit(
        self, build: Callable[[], Changes], operation: str | None, plan: FencePlan | None = None
    ) -> None:
        async with self._lock:
            if plan is not None:
                self.fences.check(plan)  # raises Stale: nothing changed yet
            for _ in range(_ATTEMPTS):
                await self._refresh_locked()
                changes = build()
                fences = _new_fences(plan, changes)
                if not changes:
                    await self._store_fences(fences)  # e.g. deleting a missing key
                    return
                # Writes are serialized by the lock: the tags belong to this one.
                self._operation = operation
                self._fence = plan.fence.revision if plan else None
                try:
                    await self._apply(changes, fences)
                    return
                except StaleFile:
                    continue  # another program wrote the file: redo on its content
                finally:
                    self._operation = None
                    self._fence = None
        raise Conflict("a mounted file kept changing on disk during the write; try again")

    async def _store_fences(self, fences: dict[KeyName, Fence]) -> None:
        with self._timed("store"):
            await self.store.write({}, {}, fences)
        for name, fence in fences.items():
            self.fences.put(name, fence)

    async def _apply(self, changes: Changes, fences: dict[KeyName, Fence]) -> None:
        own: Changes = {}
        groups: dict[Mount, Changes] = {}
        for name, key in changes.items():
            mount = self.mount_of(name)
            if mount is None:
                own[name] = key
            else:
                groups.setdefault(mount, {})[name] = key
        edited = await self._edit_documents(groups)
        if edited and fences:
            # The fences are stored before the first file is written, not after
            # the last. A crash (or a failed write) in between then leaves a
            # fence ahead of a file: a retry of this same write (an equal
            # revision) is accepted and completes it, an older write is refused,
            # as it should be anyway. The other order could leave the new file
            # under the old fence, and a delayed older write would then be
            # accepted and step the key back.
            await self._store_fences(fences)
            fences = {}
        for mount in edited:
            assert mount.document is not None
            try:
                with self._timed("mount"):
                    await asyncio.to_thread(mount.write, mount.document.dump())
            except (StaleFile, ElektradError):
                await asyncio.to_thread(mount.load)
                self._sync_mount(mount, "file")
                raise
            self._sync_mount(mount, "api")
        meta_changes = {
            name: key.meta if key else None
            for group in groups.values()
            for name, key in group.items()
            if self._mounted_meta.get(name, {}) != (key.meta if key else {})
        }
        # Keys of the default store and their fences: one transaction.
        with self._timed("store"):
            await self.store.write(own, meta_changes, fences)
        for name, fence in fences.items():
            self.fences.put(name, fence)
        for name, meta in meta_changes.items():
            if meta:
                self._mounted_meta[name] = dict(meta)
            else:
                self._mounted_meta.pop(name, None)
        for name, key in own.items():
            self._replace(name, key, "api")
        for mount in groups:
            self._sync_mount(mount, "api")

    async def _edit_documents(self, groups: dict[Mount, Changes]) -> list[Mount]:
        """Apply the changes to the mounts' documents in memory; if any cannot
        take them, undo all and raise. Returns the mounts whose file changes."""
        edited: list[Mount] = []
        try:
            for mount, group in groups.items():
                if _edit(mount, mount.ensure_usable(), group):
                    edited.append(mount)
        except ElektradError:
            for mount in groups:
                await asyncio.to_thread(mount.load)
            raise
        return edited

    @contextlib.contextmanager
    def _timed(self, target: str) -> Iterator[None]:
        """Tell ``on_write`` how long a write that succeeds takes."""
        began = time.perf_counter()
        yield
        if self.on_write is not None:
            self.on_write(target, time.perf_counter() - began)

    def _sync_mount(self, mount: Mount, origin: Origin | None) -> None:
        """Make the index show the mount's document; publish the differences,
        then the mount's status when it changed."""
        if mount.broken:
            # Keep the last good content until the file parses again (reads
            # hide it meanwhile): a broken file deletes nothing.
            if origin is not None:
                self._publish_mount_status(mount)
            return
        new = {n: Key(v, self._mounted_meta.get(n, {})) for n, v in mount.keys().items()}
        old = dict(self.keys.below(mount.prefix))
        for name in sorted(old.keys() - new.keys(), reverse=True):
            self._replace(name, None, origin)
        for name, key in new.items():
            if old.get(name) != key:
                self._replace(name, key, origin)
        if origin is not None:
            # After its keys: a follower that reads the subtree on this change
            # reads the repaired content.
            self._publish_mount_status(mount)

    def _replace(self, name: KeyName, new: Key | None, origin: Origin | None) -> None:
        """Put ``new`` in the index and publish what changed (unless origin is None)."""
        old = self.keys.get(name)
        tag = self._operation if origin == "api" else None
        fence = self._fence if origin == "api" else None
        if new is None:
            if old is not None:
                self.keys.remove(name)
                if origin:
                    self.feed.publish(
                        "delete", str(name), None, old.value, origin, operation=tag, fence=fence
                    )
            return
        self.keys.put(name, new)
        if not origin:
            return
        if old is None or old.value != new.value:
            previous = old.value if old else None
            self.feed.publish(
                "set", str(name), new.value, previous, origin, operation=tag, fence=fence
            )
        old_meta = old.meta if old else {}
        for meta_key in sorted(old_meta.keys() | new.meta.keys()):
            before, after = old_meta.get(meta_key), new.meta.get(meta_key)
            if before != after:
                self.feed.publish(
                    "meta",
                    str(name),
                    after,
                    before,
                    origin,
                    meta=meta_key,
                    operation=tag,
                    fence=fence,
                )


def _new_fences(plan: FencePlan | None, changes: Changes) -> dict[KeyName, Fence]:
    """The fences a write stores: its named keys' and every changed key's
    (a key removed by a DELETE or moved away keeps the fence, so that a late
    older write to it is refused)."""
    if plan is None:
        return {}
    return dict.fromkeys([*plan.named, *changes], plan.fence)


def _edit(mount: Mount, document: Document, group: Changes) -> bool:
    """Apply ``group`` to ``document``; True if its text changes."""
    current = document.keys()
    changed = False
    deletes = sorted((n for n, k in group.items() if k is None), reverse=True)
    for name in deletes:
        rel = name.relative_to(mount.prefix)
        if rel in current:
            document.delete(rel)
            changed = True
    for name in sorted(n for n, k in group.items() if k is not None):
        key = group[name]
        assert key is not None
        rel = name.relative_to(mount.prefix)
        if rel not in current or current[rel] != key.value:
            document.set(rel, key.value)
            changed = True
    return changed


def _inside_any(name: KeyName, prefixes: list[KeyName]) -> bool:
    """Whether ``name`` (a cascading one in any namespace) is at or below one of ``prefixes``."""
    return any(
        (name.in_namespace(p.namespace) if name.is_cascading else name).is_below_or_same(p)
        for p in prefixes
    )


def _overlaps(a: KeyName, b: KeyName) -> bool:
    if a.is_cascading:
        a = a.in_namespace(b.namespace)
    return a.is_below_or_same(b) or b.is_below_or_same(a)


def _check_no_overlap(mounts: Iterable[MountSpec]) -> None:
    specs = list(mounts)
    for i, first in enumerate(specs):
        for second in specs[i + 1 :]:
            if _overlaps(first.prefix, second.prefix):
                raise ValueError(
                    f"mounts overlap: {first.prefix} ({first.path}) and "
                    f"{second.prefix} ({second.path}); nested mounts are not supported"
                )


def _check_meta_key(meta_key: str) -> None:
    if not meta_key or any(ord(c) < 32 for c in meta_key):
        raise BadRequest(f"invalid metadata name {meta_key!r}")
