"""Backing up and restoring clusterd's database (``elektra-web backup`` and
``elektra-web restore``).

Taking a backup
---------------
A backup is a consistent snapshot of every table of clusterd's models, taken
while clusterd runs (one moment: every delivery's operation is in it):

- SQLite: SQLite's online backup API copies the database into a private
  temporary file (clusterd's file is in WAL mode, so this reader blocks no
  writer), and the copy is read at leisure;
- PostgreSQL: one ``REPEATABLE READ READ ONLY`` transaction reads every table.

The file is the same for both and restores into either (SQLite to PostgreSQL
and back). It is JSON Lines, UTF-8:

1. a header: ``{"format": "elektra-web-clusterd-backup", "version": 1,
   "createdAt", "database", "migrations", "fence", "tables": {table: [column,
   ...]}, "nextIds": {table: id}}``;
2. one line per row, ``[table, value, ...]`` in the header's column order, the
   tables in an order their foreign keys allow (a cluster after its parent);
   datetimes are ISO 8601 in UTC, JSON columns JSON, UUIDs text;
3. a trailer, ``{"end": {table: rows}}``: a file cut short is refused.

Not in it: the PostgreSQL ``event`` table (events in flight; subscribers of a
restored clusterd start from now) and the migration records (the migrations
are run again on restore, named in the header).

It holds what the database holds, secrets too (the elektrads' bearer tokens,
the digests of API tokens): it is written with mode 0600, to a temporary file
in the same directory that is renamed into place once complete and on disk, so
a backup killed half-way never leaves a partial file under the name given.

Restoring
---------
Only into an empty database: the schema is migrated up to the backup's last
migration, the rows go in in one transaction, then the remaining migrations
run (a backup of an older elektra-web restores into a newer one; one of a
newer elektra-web is refused). Sequences (PostgreSQL) and AUTOINCREMENT
counters (SQLite) continue after the highest id the original had handed out,
so no id is ever used twice.

Fences. Each elektrad keeps per key the last ``X-Fence: <source>/<revision>``
and refuses an older revision of the same source. The members have seen
revisions the snapshot's counter has not reached yet (the writes made after
the backup): with the same source, the restored database's next writes would
look stale and be refused. So a restore gives the database a new fence source
and keeps its counter: a fence of another source never refuses, and from its
first write on the restored database fences as before. A clusterd still
running on the old database must be stopped: its writes would pass the
members' fences as well (another source, again), so two databases would fight
over the members.

Leases (``sender``, ``follower``) are cleared: they name processes of the old
database. The instances' change-feed positions are kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import os
import pkgutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from tortoise import Tortoise, fields
from tortoise.exceptions import BaseORMException

from ..events.postgres import POSTGRES_SCHEMES, asyncpg_dsn
from .database import APP, tortoise_config

__all__ = [
    "FORMAT",
    "VERSION",
    "BackupError",
    "BackupSummary",
    "RestoreSummary",
    "backup",
    "read_backup",
    "restore",
]

FORMAT = "elektra-web-clusterd-backup"
VERSION = 1

#: Rows per INSERT batch on restore.
_BATCH = 500
#: Columns that name processes of the database a backup came from.
_LEASES = frozenset({"sender", "sender_until", "follower", "follower_until"})
#: Where Tortoise records the migrations it applied.
_MIGRATIONS_TABLE = "tortoise_migrations"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the
    operator."""


class _Kind(enum.Enum):
    PLAIN = "plain"
    DATETIME = "datetime"
    JSON = "json"
    UUID = "uuid"


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    kinds: dict[str, _Kind]
    pk: str
    #: The primary key is a generated integer (a sequence, an AUTOINCREMENT counter).
    counter: bool
    #: A column referencing this same table (``cluster.parent_id``).
    self_reference: str | None


@dataclass
class BackupSummary:
    """What a backup holds."""

    rows: dict[str, int]
    migrations: list[str]
    fence_source: str | None


@dataclass
class RestoreSummary:
    """What a restore did."""

    rows: dict[str, int]
    migrations: list[str]
    #: The backup's fence source, and the one the restored database has now.
    old_fence_source: str | None
    fence_source: str | None
    created_at: str = ""


@dataclass
class _Snapshot:
    """What a backup writes before its rows."""

    database: str
    migrations: list[str]
    tables: list[_Table]
    next_ids: dict[str, int] = field(default_factory=dict)
    fence: dict[str, Any] | None = None


# -- the tables --------------------------------------------------------------


def _tables() -> list[_Table]:
    """clusterd's tables, each after the tables it references."""
    apps = Tortoise.apps
    if apps is None or APP not in apps:
        Tortoise.init_models(["elektra_web.models"], APP)
        apps = Tortoise.apps
    assert apps is not None
    tables: dict[str, _Table] = {}
    references: dict[str, set[str]] = {}
    for model in apps[APP].values():
        meta = model._meta
        kinds: dict[str, _Kind] = {}
        for name, column in meta.fields_db_projection.items():
            kinds[column] = _kind(meta.fields_map[name])
        self_reference = None
        references[meta.db_table] = set()
        for name in meta.fk_fields:
            fk = meta.fields_map[name]
            target = fk.related_model._meta.db_table
            if target == meta.db_table:
                self_reference = meta.fields_db_projection[fk.source_field]
            else:
                references[meta.db_table].add(target)
        pk = meta.pk
        tables[meta.db_table] = _Table(
            name=meta.db_table,
            columns=tuple(meta.fields_db_projection.values()),
            kinds=kinds,
            pk=meta.db_pk_column,
            counter=isinstance(pk, fields.IntField | fields.BigIntField | fields.SmallIntField)
            and bool(getattr(pk, "generated", False)),
            self_reference=self_reference,
        )
    ordered: list[_Table] = []
    done: set[str] = set()
    while len(ordered) < len(tables):
        ready = sorted(n for n in tables if n not in done and references[n] <= done)
        if not ready:  # a cycle between tables: the models say none exists
            raise BackupError(f"the tables reference each other: {sorted(set(tables) - done)}")
        for name in ready:
            ordered.append(tables[name])
            done.add(name)
    return ordered


def _kind(field_: fields.Field[Any]) -> _Kind:
    if isinstance(field_, fields.DatetimeField):
        return _Kind.DATETIME
    if isinstance(field_, fields.JSONField):
        return _Kind.JSON
    if isinstance(field_, fields.UUIDField):
        return _Kind.UUID
    return _Kind.PLAIN


def code_migrations() -> list[str]:
    """The migrations this elektra-web has, in order."""
    from ..models import migrations

    names = [m.name for m in pkgutil.iter_modules(migrations.__path__) if m.name[:4].isdigit()]
    return sorted(names)


def _check_known(migrations: list[str], what: str) -> None:
    known = code_migrations()
    if migrations != known[: len(migrations)]:
        unknown = next((m for m in migrations if m not in known), migrations[-1])
        raise BackupError(
            f"{what} has migration {unknown}, which this elektra-web does not know: "
            "use the elektra-web version that made it"
        )


# -- values ------------------------------------------------------------------


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise BackupError(f"not a datetime: {value!r}")
    if value.tzinfo is None:  # Tortoise writes UTC
        value = value.replace(tzinfo=dt.UTC)
    moment: dt.datetime = value.astimezone(dt.UTC)
    return moment


def _to_file(kind: _Kind, value: Any) -> Any:
    """A column's value as the database gave it, as JSON."""
    if value is None:
        return None
    if kind is _Kind.DATETIME:
        return _datetime(value).isoformat()
    if kind is _Kind.JSON:
        return json.loads(value) if isinstance(value, str | bytes) else value
    if kind is _Kind.UUID:
        return str(value)
    return value


def _to_sqlite(kind: _Kind, value: Any) -> Any:
    """A value of the file as Tortoise stores it in SQLite (datetimes as
    ``isoformat(" ")`` text: SQLite compares them as text, so the spelling
    must be Tortoise's own)."""
    if value is None:
        return None
    if kind is _Kind.DATETIME:
        return _datetime(value).isoformat(" ")
    if kind is _Kind.JSON:
        return json.dumps(value, separators=(",", ":"))
    return value


def _to_postgres(kind: _Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind is _Kind.DATETIME:
        return _datetime(value)
    if kind is _Kind.JSON:
        return json.dumps(value, separators=(",", ":"))
    if kind is _Kind.UUID:
        return uuid.UUID(value)
    return value


def _is_postgres(url: str) -> bool:
    return url.split(":", 1)[0].lower() in POSTGRES_SCHEMES


def _sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite://") or url == "sqlite://:memory:":
        raise BackupError(f"not a database URL to back up or restore: {url!r}")
    return Path(url.removeprefix("sqlite://"))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _connect_postgres(url: str) -> Any:
    asyncpg = _import_asyncpg()
    try:
        return await asyncpg.connect(asyncpg_dsn(url))
    except (OSError, asyncpg.PostgresError) as exc:  # the URL may hold a password: not shown
        raise BackupError(f"cannot connect to the PostgreSQL database: {exc}") from exc


def _import_asyncpg() -> Any:
    try:
        import asyncpg  # type: ignore[import-untyped]  # no stubs, no py.typed
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise BackupError("PostgreSQL needs asyncpg: pip install 'elektra-web[postgres]'") from exc
    return asyncpg


# -- writing the file --------------------------------------------------------


@contextlib.contextmanager
def _atomic_file(path: Path) -> Iterator[IO[str]]:
    """A new file that appears under ``path`` only once it is complete and on
    disk: a temporary file next to it (mode 0600), renamed into place."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{path.name}.", suffix=".partial"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # The rename is on disk only once the directory is.
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def _header(snapshot: _Snapshot) -> str:
    return _line(
        {
            "format": FORMAT,
            "version": VERSION,
            "createdAt": dt.datetime.now(dt.UTC).isoformat(),
            "database": snapshot.database,
            "migrations": snapshot.migrations,
            "fence": snapshot.fence,
            "tables": {t.name: list(t.columns) for t in snapshot.tables},
            "nextIds": snapshot.next_ids,
        }
    )


def _parents_first(table: _Table, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of a table that references itself, each after the row it references."""
    assert table.self_reference is not None
    pk = table.columns.index(table.pk)
    parent = table.columns.index(table.self_reference)
    placed: set[Any] = set()
    ordered: list[tuple[Any, ...]] = []
    waiting = list(rows)
    while waiting:
        ready = [r for r in waiting if r[parent] is None or r[parent] in placed]
        if not ready:  # a cycle the database's constraints would not allow
            ready = waiting
        ordered += ready
        placed.update(r[pk] for r in ready)
        waiting = [r for r in waiting if r[pk] not in placed]
    return ordered


def _write_rows(out: IO[str], table: _Table, rows: Iterable[tuple[Any, ...]]) -> int:
    """Write rows of ``table``; how many."""
    kinds = [table.kinds[c] for c in table.columns]
    n = 0
    for row in rows:
        out.write(_line([table.name, *(_to_file(k, v) for k, v in zip(kinds, row, strict=True))]))
        n += 1
    return n


# -- backup: SQLite -----------------------------------------------------------


def _backup_sqlite(path: Path, file: Path) -> BackupSummary:
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    with tempfile.TemporaryDirectory(dir=file.parent, prefix=".elektra-web-backup-") as work:
        copy = sqlite3.connect(Path(work) / "snapshot.sqlite3")
        try:
            # mode=rw: never creates a database; read-write so that this
            # connection takes part in the WAL like clusterd's own.
            source = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True)
            try:
                source.backup(copy)  # one step: one consistent moment
            except sqlite3.DatabaseError as exc:
                raise BackupError(f"cannot read {path}: {exc}") from exc
            finally:
                source.close()
            return _export_sqlite(copy, file)
        finally:
            copy.close()


def _export_sqlite(db: sqlite3.Connection, file: Path) -> BackupSummary:
    try:
        migrations = [
            str(name)
            for (name,) in db.execute(
                f"SELECT name FROM {_MIGRATIONS_TABLE} WHERE app = ? ORDER BY id", (APP,)
            )
        ]
    except sqlite3.OperationalError as exc:
        raise BackupError("not a clusterd database (it has no migrations)") from exc
    _check_known(migrations, "the database")
    existing = {
        name: {str(c[1]) for c in db.execute(f"PRAGMA table_info({_quote(name)})")}
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    sequences = dict(db.execute("SELECT name, seq FROM sqlite_sequence"))
    tables = _present(_tables(), existing)
    snapshot = _Snapshot("sqlite", migrations, tables)
    for table in (t for t in tables if t.counter):
        (highest,) = db.execute(
            f"SELECT max({_quote(table.pk)}) FROM {_quote(table.name)}"
        ).fetchone()
        handed_out = int(sequences.get(table.name) or 0)
        snapshot.next_ids[table.name] = max(int(highest or 0), handed_out) + 1
    snapshot.fence = _fence_of(
        db.execute("SELECT source, value FROM revision WHERE id = 1").fetchone()
        if "revision" in existing
        else None
    )
    counts: dict[str, int] = {}
    with _atomic_file(file) as out:
        out.write(_header(snapshot))
        for table in tables:
            select = f"SELECT {', '.join(map(_quote, table.columns))} FROM {_quote(table.name)}"
            rows: Iterable[tuple[Any, ...]] = db.execute(f"{select} ORDER BY {_quote(table.pk)}")
            if table.self_reference is not None:
                rows = _parents_first(table, list(rows))
            counts[table.name] = _write_rows(out, table, rows)
        out.write(_line({"end": counts}))
    return BackupSummary(counts, migrations, snapshot.fence["source"] if snapshot.fence else None)


def _present(tables: list[_Table], existing: dict[str, set[str]]) -> list[_Table]:
    """The tables and columns the database has (an older schema has fewer)."""
    present = []
    for table in tables:
        if table.name not in existing:
            continue
        columns = tuple(c for c in table.columns if c in existing[table.name])
        present.append(
            _Table(
                table.name,
                columns,
                table.kinds,
                table.pk,
                table.counter,
                table.self_reference if table.self_reference in columns else None,
            )
        )
    return present


def _fence_of(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"source": str(row[0]), "revision": int(row[1])}


# -- backup: PostgreSQL -------------------------------------------------------


async def _backup_postgres(url: str, file: Path) -> BackupSummary:
    connection = await _connect_postgres(url)
    try:
        # One snapshot for every table; READ ONLY: a backup changes nothing.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            return await _export_postgres(connection, file)
    finally:
        await connection.close()


async def _export_postgres(connection: Any, file: Path) -> BackupSummary:
    asyncpg = _import_asyncpg()
    try:
        records = await connection.fetch(
            f"SELECT name FROM {_MIGRATIONS_TABLE} WHERE app = $1 ORDER BY id", APP
        )
    except asyncpg.UndefinedTableError as exc:
        raise BackupError("not a clusterd database (it has no migrations)") from exc
    migrations = [str(r["name"]) for r in records]
    _check_known(migrations, "the database")
    existing: dict[str, set[str]] = {}
    for record in await connection.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
    ):
        existing.setdefault(str(record["table_name"]), set()).add(str(record["column_name"]))
    tables = _present(_tables(), existing)
    snapshot = _Snapshot("postgresql", migrations, tables)
    for table in (t for t in tables if t.counter):
        highest = await connection.fetchval(
            f"SELECT max({_quote(table.pk)}) FROM {_quote(table.name)}"
        )
        sequence = await connection.fetchval(
            "SELECT pg_get_serial_sequence($1, $2)", _quote(table.name), table.pk
        )
        handed_out = 0
        if sequence is not None:
            # Sequences are outside transactions: this is today's value, at
            # or past the snapshot's (higher is fine: no id is used twice).
            record = await connection.fetchrow(f"SELECT last_value, is_called FROM {sequence}")
            handed_out = int(record["last_value"]) - (0 if record["is_called"] else 1)
        snapshot.next_ids[table.name] = max(int(highest or 0), handed_out) + 1
    if "revision" in existing:
        snapshot.fence = _fence_of(
            await connection.fetchrow("SELECT source, value FROM revision WHERE id = 1")
        )
    counts: dict[str, int] = {}
    with _atomic_file(file) as out:
        out.write(_header(snapshot))
        for table in tables:
            select = (
                f"SELECT {', '.join(map(_quote, table.columns))} FROM {_quote(table.name)}"
                f" ORDER BY {_quote(table.pk)}"
            )
            if table.self_reference is not None:
                rows = [tuple(r) for r in await connection.fetch(select)]
                counts[table.name] = _write_rows(out, table, _parents_first(table, rows))
                continue
            counts[table.name] = 0
            batch: list[tuple[Any, ...]] = []
            async for record in connection.cursor(select, prefetch=_BATCH):
                batch.append(tuple(record))
                if len(batch) >= _BATCH:
                    counts[table.name] += _write_rows(out, table, batch)
                    batch = []
            counts[table.name] += _write_rows(out, table, batch)
        out.write(_line({"end": counts}))
    return BackupSummary(counts, migrations, snapshot.fence["source"] if snapshot.fence else None)


async def backup(url: str, file: Path) -> BackupSummary:
    """Write a consistent snapshot of clusterd's database ``url`` to ``file``
    (while clusterd runs); what it holds."""
    file.parent.mkdir(parents=True, exist_ok=True)
    if _is_postgres(url):
        return await _backup_postgres(url, file)
    return _backup_sqlite(_sqlite_path(url), file)


# -- reading the file ---------------------------------------------------------


@dataclass
class _Backup:
    header: dict[str, Any]
    #: The rows, table by table, then the trailer (checked while reading).
    rows: Iterator[tuple[str, list[Any]]]
    counts: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def read_backup(file: Path) -> Iterator[_Backup]:
    """Open a backup file: its header is checked at once, its rows while they
    are read (a file cut short or changed is refused when the reading gets
    there)."""
    try:
        stream = open(file, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BackupError(f"cannot read {file}: {exc.strerror}") from exc
    with stream:
        try:
            header = json.loads(stream.readline() or "null")
        except ValueError as exc:
            raise BackupError(f"{file} is not an elektra-web backup") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise BackupError(f"{file} is not an elektra-web backup")
        if header.get("version") != VERSION:
            raise BackupError(
                f"{file} is a backup of format version {header.get('version')}; "
                f"this elektra-web reads version {VERSION}"
            )
        backup_ = _Backup(header, iter(()))
        backup_.rows = _rows(file, stream, header, backup_.counts)
        yield backup_


def _rows(
    file: Path, stream: IO[str], header: dict[str, Any], counts: dict[str, int]
) -> Iterator[tuple[str, list[Any]]]:
    columns = {name: len(cs) for name, cs in header["tables"].items()}
    for number, text in enumerate(stream, start=2):
        try:
            line = json.loads(text)
        except ValueError as exc:
            raise BackupError(f"{file}, line {number}: not JSON (the file is damaged)") from exc
        if isinstance(line, dict) and "end" in line:
            told = line["end"]
            if (
                not isinstance(told, dict)
                or {t: n for t, n in told.items() if n} != counts
                or stream.readline()
            ):
                raise BackupError(f"{file}: its rows do not match its trailer (damaged)")
            return
        if (
            not isinstance(line, list)
            or not line
            or line[0] not in columns
            or len(line) != columns[line[0]] + 1
        ):
            raise BackupError(f"{file}, line {number}: not a row of the backup's tables")
        counts[line[0]] = counts.get(line[0], 0) + 1
        yield line[0], line[1:]
    raise BackupError(f"{file} ends before its trailer: the backup is incomplete")


# -- restore ------------------------------------------------------------------


class _Target(Protocol):
    placeholder: str

    def convert(self, kind: _Kind, value: Any) -> Any: ...
    async def close(self) -> None: ...
    async def applied_migrations(self) -> list[str]: ...
    async def tables(self) -> set[str]: ...
    async def has_rows(self, table: str) -> bool: ...
    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]: ...
    async def insert(self, sql: str, rows: list[list[Any]]) -> None: ...
    async def set_fence_source(self, source: str) -> None: ...
    async def continue_ids(self, table: str, pk: str, next_id: int) -> None: ...


class _SqliteTarget:
    placeholder = "?"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA foreign_keys = ON")

    def convert(self, kind: _Kind, value: Any) -> Any:
        return _to_sqlite(kind, value)

    async def close(self) -> None:
        self._db.close()

    async def applied_migrations(self) -> list[str]:
        if _MIGRATIONS_TABLE not in await self.tables():
            return []
        query = f"SELECT name FROM {_MIGRATIONS_TABLE} WHERE app = ? ORDER BY id"
        return [str(name) for (name,) in self._db.execute(query, (APP,))]

    async def tables(self) -> set[str]:
        return {
            str(n) for (n,) in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }

    async def has_rows(self, table: str) -> bool:
        return self._db.execute(f"SELECT 1 FROM {_quote(table)} LIMIT 1").fetchone() is not None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    async def insert(self, sql: str, rows: list[list[Any]]) -> None:
        self._db.executemany(sql, rows)

    async def set_fence_source(self, source: str) -> None:
        self._db.execute("UPDATE revision SET source = ? WHERE id = 1", (source,))

    async def continue_ids(self, table: str, pk: str, next_id: int) -> None:
        # AUTOINCREMENT hands out ids above the table's sqlite_sequence row.
        self._db.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        if next_id > 1:
            self._db.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, next_id - 1)
            )


class _PostgresTarget:
    placeholder = "$"

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    @classmethod
    async def connect(cls, url: str) -> _PostgresTarget:
        return cls(await _connect_postgres(url))

    def convert(self, kind: _Kind, value: Any) -> Any:
        return _to_postgres(kind, value)

    async def close(self) -> None:
        await self._connection.close()

    async def applied_migrations(self) -> list[str]:
        if _MIGRATIONS_TABLE not in await self.tables():
            return []
        query = f"SELECT name FROM {_MIGRATIONS_TABLE} WHERE app = $1 ORDER BY id"
        return [str(r["name"]) for r in await self._connection.fetch(query, APP)]

    async def tables(self) -> set[str]:
        records = await self._connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {str(r["table_name"]) for r in records}

    async def has_rows(self, table: str) -> bool:
        return bool(await self._connection.fetchval(f"SELECT EXISTS (SELECT FROM {_quote(table)})"))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._connection.transaction():
            yield

    async def insert(self, sql: str, rows: list[list[Any]]) -> None:
        await self._connection.executemany(sql, rows)

    async def set_fence_source(self, source: str) -> None:
        await self._connection.execute("UPDATE revision SET source = $1 WHERE id = 1", source)

    async def continue_ids(self, table: str, pk: str, next_id: int) -> None:
        sequence = await self._connection.fetchval(
            "SELECT pg_get_serial_sequence($1, $2)", _quote(table), pk
        )
        if sequence is not None:
            # setval(s, n, false): nextval returns n.
            await self._connection.execute(
                "SELECT setval($1::text::regclass, $2::bigint, false)", sequence, next_id
            )


async def _target(url: str) -> _Target:
    if _is_postgres(url):
        return await _PostgresTarget.connect(url)
    return _SqliteTarget(_sqlite_path(url))


async def _migrate(url: str, to: str | None = None) -> None:
    from tortoise.migrations.api import migrate as run_migrations

    target = f"{APP}.{to}" if to else None
    try:
        await run_migrations(config=tortoise_config(url), target=target, direction="forward")
    except BaseORMException as exc:
        raise BackupError(
            f"migrating the database to {to or 'the latest schema'} failed: {exc}"
        ) from exc
    finally:
        await Tortoise.close_connections()


async def _check_empty(url: str, migrations: list[str], tables: Iterable[str]) -> None:
    target = await _target(url)
    try:
        await _check_target(target, migrations, tables)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot use {url}: {exc}") from exc
    finally:
        await target.close()


async def _check_target(target: _Target, migrations: list[str], tables: Iterable[str]) -> None:
    applied = await target.applied_migrations()
    if applied != migrations[: len(applied)]:
        raise BackupError(
            f"the database's schema ({applied[-1]}) is not the backup's ({migrations[-1]}) "
            "or older: restore into a new, empty database"
        )
    existing = await target.tables()
    full = [t for t in sorted(set(tables) & existing) if await target.has_rows(t)]
    if full:
        raise BackupError(
            f"the database is not empty (rows in {', '.join(full)}): "
            "restore into a new, empty database"
        )


async def restore(file: Path, url: str, actor: str) -> RestoreSummary:
    """Restore the backup ``file`` into the empty database ``url``; ``actor``
    is who asked, for the audit log."""
    with read_backup(file) as backup_:
        header = backup_.header
        migrations = [str(m) for m in header.get("migrations") or []]
        if not migrations:
            raise BackupError(f"{file} names no migrations: it is not a complete backup")
        _check_known(migrations, "the backup")
        known = {t.name: t for t in _tables()}
        columns: dict[str, list[str]] = header["tables"]
        for table, names in columns.items():
            unknown = [c for c in names if table not in known or c not in known[table].kinds]
            if unknown:
                raise BackupError(
                    f"the backup has {table}.{unknown[0]}, unknown to this elektra-web"
                )
        await _check_empty(url, migrations, [*known, *columns])
        await _migrate(url, migrations[-1])
        target = await _target(url)
        old_source = (header.get("fence") or {}).get("source")
        new_source: str | None = None
        try:
            async with target.transaction():
                await _insert(target, backup_, known, columns)
                for table, next_id in header.get("nextIds", {}).items():
                    await target.continue_ids(table, known[table].pk, int(next_id))
                if old_source is not None:
                    new_source = uuid.uuid4().hex
                    await target.set_fence_source(new_source)
        finally:
            await target.close()
        counts = dict(backup_.counts)
    await _migrate(url)
    await _record(url, actor, file, header, new_source)
    return RestoreSummary(
        counts, migrations, old_source, new_source, str(header.get("createdAt", ""))
    )


async def _insert(
    target: _Target, backup_: _Backup, known: dict[str, _Table], columns: dict[str, list[str]]
) -> None:
    def statement(table: str) -> str:
        names = columns[table]
        if target.placeholder == "?":
            marks = ", ".join("?" for _ in names)
        else:
            marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        return f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, names))}) VALUES ({marks})"

    current: str | None = None
    batch: list[list[Any]] = []
    kinds: list[_Kind] = []
    cleared: list[bool] = []
    for table, values in backup_.rows:
        if table != current or len(batch) >= _BATCH:
            if batch and current is not None:
                await target.insert(statement(current), batch)
            batch = []
            if table != current:
                current = table
                kinds = [known[table].kinds[c] for c in columns[table]]
                cleared = [c in _LEASES for c in columns[table]]
        batch.append(
            [
                None if clear else target.convert(kind, value)
                for kind, clear, value in zip(kinds, cleared, values, strict=True)
            ]
        )
    if batch and current is not None:
        await target.insert(statement(current), batch)


async def _record(
    url: str, actor: str, file: Path, header: dict[str, Any], new_source: str | None
) -> None:
    """The restore, in the restored database's audit log."""
    from ..resolvers import audit
    from ..resolvers.auth import Caller, Role

    await Tortoise.init(config=tortoise_config(url))
    try:
        arguments = {
            "file": str(file),
            "backupCreatedAt": header.get("createdAt"),
            "from": header.get("database"),
            "fenceSource": new_source,
        }
        await audit.record(Caller(actor, Role.ADMIN), "restore", arguments)
    finally:
        await Tortoise.close_connections()
