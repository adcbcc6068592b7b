"""Backing up and restoring elektrad's data directory
(``elektra-web backup --data-dir`` and ``elektra-web restore --data-dir``).

What the data directory holds is ``keys.db``: every key not under a mount,
the metadata of mounted keys, every key's write fence and the daemon's
``instanceId``. It is an SQLite database in WAL mode: the latest writes may
be in ``keys.db-wal`` only, so copying the files with ``cp`` while elektrad
runs can miss them or, copied at different moments, give a damaged database.
:func:`backup` uses SQLite's online backup API instead: a consistent copy of
one moment, taken while elektrad runs and writes (a reader blocks no writer),
as one self-contained SQLite file. The mounted files are the administrator's
own and are backed up with the rest of the machine.

:func:`restore` puts such a file back as ``keys.db`` of a data directory that
no elektrad is using (it takes the same lock elektrad holds) and that has no
``keys.db`` yet (move a damaged one aside first). The instance id comes back
with it, so clusterd recognizes the daemon; a member restored to an older state
is told apart by clusterd as any restarted daemon is (a new change-feed epoch:
it reads the member again, and cluster keys that differ are drift).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from .store import DataDirLocked, _lock

__all__ = ["KEYS_FILE", "DataDirBackupError", "backup", "restore"]

KEYS_FILE = "keys.db"
#: The tables a keys.db has (store.py's schema).
_TABLES = frozenset({"info", "keys", "mounted_meta", "fences"})


class DataDirBackupError(Exception):
    """A backup or restore of a data directory that cannot be done; the message
    says why."""


def _sqlite_copy(source: sqlite3.Connection, destination: Path) -> int:
    """Copy ``source`` into the new file ``destination`` (one consistent moment)
    as a single file (rollback journal, no WAL beside it); its keys."""
    copy = sqlite3.connect(destination)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
        _check(copy, str(destination))
        (keys,) = copy.execute("SELECT count(*) FROM keys").fetchone()
    finally:
        copy.close()
    return int(keys)


def _check(db: sqlite3.Connection, name: str) -> None:
    try:
        tables = {str(n) for (n,) in db.execute("SELECT name FROM sqlite_master")}
        (verdict,) = db.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DataDirBackupError(f"{name} is not an elektrad key database: {exc}") from exc
    if not tables >= _TABLES:
        raise DataDirBackupError(f"{name} is not an elektrad key database")
    if verdict != "ok":
        raise DataDirBackupError(f"{name} is damaged: {verdict}")


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _place(temporary: Path, path: Path) -> None:
    """Rename the complete file ``temporary`` to ``path``, durably."""
    with open(temporary, "rb") as file:
        os.fsync(file.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def backup(data_dir: Path, file: Path) -> int:
    """Copy the key database of ``data_dir`` to ``file`` (elektrad may be
    running); how many keys it holds. ``file`` appears only once complete."""
    source_path = data_dir / KEYS_FILE
    if not source_path.is_file():
        raise DataDirBackupError(f"{data_dir} has no {KEYS_FILE}: not an elektrad data directory")
    file.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".partial")
    os.close(descriptor)
    temporary = Path(name)
    try:
        # mode=rw: never creates a database; read-write so that this
        # connection takes part in the WAL like elektrad's own.
        source = sqlite3.connect(source_path.resolve().as_uri() + "?mode=rw", uri=True)
        try:
            keys = _sqlite_copy(source, temporary)
        finally:
            source.close()
        _place(temporary, file)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return keys


def restore(file: Path, data_dir: Path) -> int:
    """Make the backup ``file`` the key database of ``data_dir``, which no
    elektrad may be using and which must have none yet; how many keys it holds."""
    try:
        lock = _lock(data_dir)
    except DataDirLocked as exc:
        raise DataDirBackupError(f"{exc}: stop it before restoring") from exc
    with lock:
        target = data_dir / KEYS_FILE
        if target.exists():
            raise DataDirBackupError(
                f"{target} exists: move it aside first (a restore never overwrites keys)"
            )
        try:
            source = sqlite3.connect(file.resolve().as_uri() + "?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise DataDirBackupError(f"cannot read {file}: {exc}") from exc
        temporary = data_dir / f".{KEYS_FILE}.restoring"
        try:
            _check(source, str(file))
            # A WAL left by an earlier keys.db would be replayed into this one.
            for stale in (f"{KEYS_FILE}-wal", f"{KEYS_FILE}-shm", f"{KEYS_FILE}-journal"):
                with contextlib.suppress(FileNotFoundError):
                    (data_dir / stale).unlink()
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            keys = _sqlite_copy(source, temporary)
            os.chmod(temporary, 0o600)
            _place(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        finally:
            source.close()
    return keys
