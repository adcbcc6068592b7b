"""The default store: an SQLite file in the data directory.

It holds every key that is not under a mount, the metadata of mounted keys
(configuration files have no place for it), every key's write fence (see
``fences.py``; mounted keys' too) and the instance id. SQLite gives
the durability the daemon promises: a transaction is on disk (WAL, fsync)
before the write is acknowledged, and a crash leaves the old or the new state.

SQLite calls block, so they run on one dedicated thread (the connection stays
on the thread that made it); the async methods hand work to it.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TypeVar

from ..keynames import KeyName
from .exceptions import StorageError
from .fences import Fence
from .keyset import Key

__all__ = ["DataDirLocked", "DefaultStore", "StoredState", "check_unlocked"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    name TEXT PRIMARY KEY, value TEXT, meta TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS mounted_meta (name TEXT PRIMARY KEY, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fences (
    name TEXT PRIMARY KEY, source TEXT NOT NULL, revision INTEGER NOT NULL);
"""


class DataDirLocked(Exception):
    """Another elektrad already serves this data directory."""


def _lock(data_dir: Path) -> IO[str]:
    # The data directory holds configuration: owner only.
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock_file = open(data_dir / "lock", "w")  # noqa: SIM115 - held until released
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        lock_file.close()
        raise DataDirLocked(f"another elektrad is using the data directory {data_dir}") from exc
    return lock_file


def check_unlocked(data_dir: Path) -> None:
    """Raise :class:`DataDirLocked` now, for a clear message before start-up."""
    _lock(data_dir).close()


class StoredState:
    """What :meth:`DefaultStore.load` reads at start-up."""

    def __init__(
        self,
        keys: dict[KeyName, Key],
        mounted_meta: dict[KeyName, dict[str, str]],
        fences: dict[KeyName, Fence],
    ) -> None:
        self.keys = keys
        self.mounted_meta = mounted_meta
        self.fences = fences


class DefaultStore:
    """The key database file ``keys.db`` in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "keys.db"
        self.instance_id = ""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="elektrad-store")
        self._db: sqlite3.Connection | None = None
        self._lock_file: IO[str] | None = None

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def open(self) -> StoredState:
        """Lock the data directory, create or open the database, read it."""
        return await self._run(self._open)

    def _open(self) -> StoredState:
        self._lock_file = _lock(self.data_dir)
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        row = db.execute("SELECT value FROM info WHERE name = 'instance_id'").fetchone()
        if row is None:
            row = (uuid.uuid4().hex,)
            db.execute("INSERT INTO info VALUES ('instance_id', ?)", row)
        self.instance_id = row[0]
        self._db = db
        keys = {
            KeyName.parse(name): Key(value, json.loads(meta))
            for name, value, meta in db.execute("SELECT name, value, meta FROM keys")
        }
        mounted = {
            KeyName.parse(name): json.loads(meta)
            for name, meta in db.execute("SELECT name, meta FROM mounted_meta")
        }
        fences = {
            KeyName.parse(name): Fence(source, revision)
            for name, source, revision in db.execute("SELECT name, source, revision FROM fences")
        }
        return StoredState(keys, mounted, fences)

    async def write(
        self,
        keys: Mapping[KeyName, Key | None],
        mounted_meta: Mapping[KeyName, Mapping[str, str] | None],
        fences: Mapping[KeyName, Fence] | None = None,
    ) -> None:
        """Store (or, for ``None``, remove) keys and mounted keys' metadata,
        and store fences, in one transaction."""
        new_fences = fences or {}
        if keys or mounted_meta or new_fences:
            try:
                await self._run(lambda: self._write(keys, mounted_meta, new_fences))
            except sqlite3.Error as exc:
                raise StorageError(
                    f"the key database {self.path} refused the write: {exc}"
                ) from exc

    def _write(
        self,
        keys: Mapping[KeyName, Key | None],
        mounted_meta: Mapping[KeyName, Mapping[str, str] | None],
        fences: Mapping[KeyName, Fence],
    ) -> None:
        assert self._db is not None
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for name, key in keys.items():
                if key is None:
                    db.execute("DELETE FROM keys WHERE name = ?", (str(name),))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO keys VALUES (?, ?, ?)",
                        (str(name), key.value, json.dumps(key.meta)),
                    )
            for name, meta in mounted_meta.items():
                if not meta:
                    db.execute("DELETE FROM mounted_meta WHERE name = ?", (str(name),))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO mounted_meta VALUES (?, ?)",
                        (str(name), json.dumps(dict(meta))),
                    )
            for name, fence in fences.items():
                db.execute(
                    "INSERT OR REPLACE INTO fences VALUES (?, ?, ?)",
                    (str(name), fence.source, fence.revision),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        assert self._db is not None
        self._db.close()
        self._db = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
