"""``elektra-web backup`` and ``elektra-web restore``: clusterd's database
(``--database``, while clusterd runs) or an elektrad's data directory
(``--data-dir``, while elektrad runs) to one file, and back.

Exit status: 0 done, 1 refused or failed (the reason on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "run"]

_DATABASE_HELP = (
    "clusterd's database: sqlite:///path/file.sqlite3 or postgres://user@host/db "
    "(default: the SQLite file 'elektra-web clusterd' uses)"
)


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``backup`` and ``restore`` to the ``elektra-web`` command."""
    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="write a consistent snapshot of clusterd's database or an elektrad's data directory",
        description="Write a consistent snapshot to FILE, online: clusterd's database "
        "(a portable file that restores into SQLite or PostgreSQL) or, with --data-dir, "
        "an elektrad's key database. FILE appears only once complete; it holds secrets "
        "(the elektrads' tokens) and is made readable by its owner only.",
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="where the backup goes")
    _add_source(backup)
    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="restore a backup into a new, empty database or data directory",
        description="Restore FILE made by 'elektra-web backup': into an empty clusterd "
        "database (which gets a new fence source, see the README), or with --data-dir into "
        "a data directory no elektrad is using and that has no keys.db.",
    )
    restore.add_argument("file", type=Path, metavar="FILE", help="a backup to restore")
    _add_source(restore)


def _add_source(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--database", default=None, metavar="URL", help=_DATABASE_HELP)
    which.add_argument(
        "--data-dir", type=Path, default=None, metavar="DIR", help="an elektrad's data directory"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``backup`` or ``restore`` as parsed into ``args``."""
    from .clusterd.backup import BackupError
    from .elektrad.backup import DataDirBackupError

    try:
        if args.data_dir is not None:
            return _data_dir(args)
        return asyncio.run(_database(args))
    except (BackupError, DataDirBackupError) as exc:
        print(f"elektra-web {args.command}: {exc}", file=sys.stderr)
        return 1


def _data_dir(args: argparse.Namespace) -> int:
    from .elektrad import backup as data_dir

    if args.command == "backup":
        keys = data_dir.backup(args.data_dir, args.file)
        print(f"backed up {args.data_dir} ({keys} keys) to {args.file}", file=sys.stderr)
    else:
        keys = data_dir.restore(args.file, args.data_dir)
        print(f"restored {args.file} ({keys} keys) into {args.data_dir}", file=sys.stderr)
    return 0


async def _database(args: argparse.Namespace) -> int:
    from .clusterd import backup as database
    from .clusterd.database import default_database_url

    url = args.database or default_database_url()
    if args.command == "backup":
        made = await database.backup(url, args.file)
        print(f"backed up {_rows(made.rows)} to {args.file}", file=sys.stderr)
        return 0
    # Whoever can open the database is its administrator already.
    actor = f"{getpass.getuser()}@{socket.gethostname()} (command line)"
    done = await database.restore(args.file, url, actor)
    fence = (
        f"; its fence source is now {done.fence_source} (was {done.old_fence_source})"
        if done.fence_source
        else ""
    )
    print(f"restored {_rows(done.rows)} (backup of {done.created_at}){fence}", file=sys.stderr)
    return 0


def _rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{table}: {n}" for table, n in rows.items() if n) or "no rows"
