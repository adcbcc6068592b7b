"""The PostgreSQL backend: events cross clusterd replicas that share one database.

How an event travels
--------------------
``publish`` runs one statement (:data:`PUBLISH_SQL`): it inserts the event into
the ``event`` table and ``pg_notify``\\ s its id on channel
``elektra_web_events``. Every replica (the publishing one too) holds a dedicated
listening connection; a notification, a periodic safety poll (``poll_interval``,
1 s) and every (re)connect make it read ``WHERE id > last_seen ORDER BY id`` and
hand each row once, in id order, to the bus's local fan-out. The publishing
replica's own subscribers also get the event this way, so that every replica
sees one order, the table's.

Why a table and not just NOTIFY: PostgreSQL drops notifications sent while a
listener is disconnected. The table lets a replica whose connection dropped
reconnect (with backoff) and catch up from ``last_seen``: nothing published
meanwhile is lost (unless pruned meanwhile, see below). Notifications only say
"look now"; the poll covers a lost one.

Why ``id > last_seen`` is safe: ids come from a sequence, and a sequence hands
them out at INSERT, not at COMMIT. Two concurrent publishers could commit ids 6
then 5; a reader that saw 6 would skip 5 forever. So each publishing
transaction takes a transaction-scoped advisory lock (:data:`PUBLISH_LOCK`)
*before* the id is drawn and keeps it until it has committed and become
visible: ids become visible in id order on every replica. The price is that
publishes are serialized cluster-wide, one short statement each. Anything else
that inserts into ``event`` must do the same (run :data:`PUBLISH_SQL`, also
inside a larger transaction to publish only if that commits).

New subscribers do not get history: ``last_seen`` starts at the table's
maximum id when the backend starts.

The table
---------
``start()`` creates it idempotently (``create_table=True``, the default) from
:data:`EVENT_TABLE_DDL`, under an advisory lock because two replicas running
``CREATE TABLE IF NOT EXISTS`` at once can still collide. The DDL is exported so
that it can move into a migration instead (a ``RunSQL`` operation that only runs
on PostgreSQL; SQLite has no use for the table); then pass
``create_table=False``.

Pruning
-------
The table grows with every event. Each replica's backend calls :meth:`prune`
itself every ``prune_interval`` (5 minutes) with ``older_than=retention`` (1
hour): deleting is idempotent, so replicas need not coordinate. A replica
disconnected for longer than ``retention`` misses what was pruned meanwhile
(its clients would have to re-read the state anyway). ``retention=None`` turns
the automatic pruning off, for an operator who prefers to call :meth:`prune`
(or run its DELETE) from cron.

asyncpg is an optional dependency (``elektra-web[postgres]``): it is imported
when the backend starts, so importing this module needs no asyncpg.

Errors: ``publish`` raises :class:`~elektra_web.events.exceptions.PublishFailed`
when the database cannot be reached; the listening side never raises, it logs
and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import Backend, Deliver, Event
from .exceptions import BusNotRunning, PublishFailed

__all__ = [
    "CHANNEL",
    "EVENT_TABLE_DDL",
    "EVENT_TABLE_DROP",
    "POSTGRES_SCHEMES",
    "PUBLISH_LOCK",
    "PUBLISH_SQL",
    "PostgresBackend",
    "asyncpg_dsn",
]

logger = logging.getLogger(__name__)

#: The NOTIFY channel; the payload is the new event's id.
CHANNEL = "elektra_web_events"

#: URL schemes that name a PostgreSQL database (Tortoise's and libpq's).
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "asyncpg", "psycopg"})

#: Advisory lock keys (arbitrary constants, "ElWebEv1"/"ElWebEv2" in ASCII).
#: PUBLISH_LOCK orders publishing transactions; _DDL_LOCK serializes table creation.
PUBLISH_LOCK = 0x456C576562457631
_DDL_LOCK = 0x456C576562457632

#: Creates the event table, idempotently. The BRIN index on ``at`` keeps
#: pruning from scanning the table while costing almost nothing per insert
#: (the table is append-only, so ``at`` follows the physical order).
EVENT_TABLE_DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS event ("
    " id BIGSERIAL PRIMARY KEY,"
    " topic TEXT NOT NULL,"
    " data JSONB NOT NULL,"
    " at TIMESTAMPTZ NOT NULL DEFAULT now())",
    "CREATE INDEX IF NOT EXISTS event_at_brin ON event USING brin (at)",
)
#: Undoes :data:`EVENT_TABLE_DDL` (a migration's backward step).
EVENT_TABLE_DROP: tuple[str, ...] = ("DROP TABLE IF EXISTS event",)

#: Publishes one event: ``$1`` topic, ``$2`` data as JSON text, ``$3``
#: :data:`PUBLISH_LOCK`; returns ``id`` and ``at`` (epoch seconds). The lock is
#: taken in a CTE that the INSERT reads, so it is held before the id is drawn
#: (a CTE with a volatile function is never inlined or reordered). The
#: notification is sent at commit, when the row is visible.
PUBLISH_SQL = f"""
WITH serialized AS (SELECT pg_advisory_xact_lock($3::bigint)),
     stored AS (
         INSERT INTO event (topic, data)
         SELECT $1::text, $2::jsonb FROM serialized
         RETURNING id, extract(epoch FROM at)::float8 AS at
     )
SELECT id, at, pg_notify('{CHANNEL}', id::text) FROM stored
"""

_READ_SQL = """
SELECT id, topic, data::text, extract(epoch FROM at)::float8
FROM event WHERE id > $1 ORDER BY id LIMIT $2
"""

#: application_name of the connections, to find them in pg_stat_activity.
LISTENER_NAME = "elektra_web_events_listener"
PUBLISHER_NAME = "elektra_web_events_publisher"

# Query parameters of Tortoise's database URLs that are not libpq's: asyncpg
# would send them to the server as settings, which refuses them.
_TORTOISE_PARAMETERS = frozenset(
    {
        "minsize",
        "maxsize",
        "min_size",
        "max_size",
        "max_queries",
        "max_inactive_connection_lifetime",
        "timeout",
        "statement_cache_size",
        "max_cached_statement_lifetime",
        "max_cacheable_statement_size",
        "ssl",
        "schema",
    }
)


def asyncpg_dsn(url: str) -> str:
    """The asyncpg DSN for a PostgreSQL database URL as clusterd takes it
    (``postgres://user@host:port/db``, also ``postgresql://``, ``asyncpg://``,
    ``psycopg://``), without Tortoise's own query parameters (``schema`` becomes
    ``search_path``, ``ssl=true`` becomes ``sslmode=require``)."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in POSTGRES_SCHEMES:
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    parts = urlsplit(f"postgresql://{rest}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in query if key not in _TORTOISE_PARAMETERS]
    given = dict(query)
    if "schema" in given and "search_path" not in given:
        kept.append(("search_path", given["schema"]))
    if given.get("ssl", "").lower() in {"1", "true", "yes", "on"} and "sslmode" not in given:
        kept.append(("sslmode", "require"))
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _import_asyncpg() -> Any:
    try:
        import asyncpg  # type: ignore[import-untyped]  # no stubs, no py.typed
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "the PostgreSQL event bus needs asyncpg: pip install 'elektra-web[postgres]'"
        ) from exc
    return asyncpg


class PostgresBackend(Backend):
    """Events in PostgreSQL's ``event`` table, announced with LISTEN/NOTIFY.

    ``dsn`` is a PostgreSQL URL (see :func:`asyncpg_dsn`). The other options are
    for tests and tuning: seconds between safety polls, the reconnect backoff
    range, automatic pruning (``retention=None`` turns it off), rows read per
    query, the time limit of every query, and the publishing pool's size.
    """

    def __init__(
        self,
        dsn: str,
        *,
        create_table: bool = True,
        poll_interval: float = 1.0,
        reconnect_min: float = 0.1,
        reconnect_max: float = 10.0,
        retention: float | None = 3600.0,
        prune_interval: float = 300.0,
        batch_size: int = 500,
        query_timeout: float = 10.0,
        pool_size: int = 4,
    ) -> None:
        self.dsn = asyncpg_dsn(dsn)
        self.create_table = create_table
        self.poll_interval = poll_interval
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.retention = retention
        self.prune_interval = prune_interval
        self.batch_size = batch_size
        self.query_timeout = query_timeout
        self.pool_size = pool_size
        #: How often the listening connection was re-established after a failure.
        self.reconnects = 0
        self._asyncpg: Any = None
        self._deliver: Deliver | None = None
        self._pool: Any = None  # asyncpg.Pool: publishing and pruning
        self._listener: Any = None  # asyncpg.Connection: LISTEN and reading, reader task only
        self._last_seen = 0
        # Set by notifications of unseen ids and by the connection's loss.
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def last_seen(self) -> int:
        """The id of the last event delivered (or the maximum id at start)."""
        return self._last_seen

    @property
    def listener_pid(self) -> int | None:
        """The server process id of the listening connection, if connected."""
        listener = self._listener
        if listener is None or listener.is_closed():
            return None
        pid: int = listener.get_server_pid()
        return pid

    async def start(self, deliver: Deliver) -> None:
        if self._deliver is not None:
            raise RuntimeError("the PostgreSQL backend is already started")
        self._asyncpg = _import_asyncpg()
        self._pool = await self._asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.pool_size,
            timeout=self.query_timeout,
            server_settings={"application_name": PUBLISHER_NAME},
        )
        try:
            if self.create_table:
                await self._create_table()
            # LISTEN before reading the maximum: an event committed in between is
            # above the maximum and announced to us, so none falls in a crack.
            self._listener = await self._connect()
            self._last_seen = await self._listener.fetchval(
                "SELECT coalesce(max(id), 0) FROM event", timeout=self.query_timeout
            )
        except BaseException:
            await self._close_connections()
            raise
        self._deliver = deliver
        self._tasks.append(asyncio.create_task(self._read_forever(), name="events-reader"))
        if self.retention is not None:
            self._tasks.append(asyncio.create_task(self._prune_forever(), name="events-pruner"))

    async def stop(self) -> None:
        self._deliver = None
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_connections()

    async def publish(self, topic: str, data: dict[str, Any]) -> Event:
        if self._deliver is None or self._pool is None:
            raise BusNotRunning("the PostgreSQL backend is not started")
        # Encoded before the database is touched: unencodable data is the
        # caller's TypeError/ValueError, as on the memory backend.
        payload = json.dumps(data, allow_nan=False, separators=(",", ":"))
        try:
            row = await self._pool.fetchrow(
                PUBLISH_SQL, topic, payload, PUBLISH_LOCK, timeout=self.query_timeout
            )
        except Exception as exc:
            # Not retried: had the commit happened before the connection broke,
            # a retry would publish the event twice.
            raise PublishFailed(f"could not publish a {topic!r} event: {exc}") from exc
        return Event(id=row[0], topic=topic, data=json.loads(payload), at=row[1])

    async def prune(self, older_than: float) -> int:
        """Delete the events published more than ``older_than`` seconds ago (by the
        database's clock, the same for every replica); how many were deleted.

        Called by every replica's backend every ``prune_interval`` with
        ``retention``; callable by hand or by an operator's job as well.
        """
        if older_than < 0:
            raise ValueError("older_than is a number of seconds, not negative")
        if self._pool is None:
            raise BusNotRunning("the PostgreSQL backend is not started")
        status: str = await self._pool.execute(
            "DELETE FROM event WHERE at < now() - make_interval(secs => $1)",
            float(older_than),
            timeout=self.query_timeout,
        )
        return int(status.rsplit(" ", 1)[-1])

    # Connections.

    async def _create_table(self) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            # Concurrent CREATE ... IF NOT EXISTS can fail on the catalog's
            # unique index; replicas starting together take turns instead.
            await connection.execute("SELECT pg_advisory_xact_lock($1::bigint)", _DDL_LOCK)
            for statement in EVENT_TABLE_DDL:
                await connection.execute(statement)

    async def _connect(self) -> Any:
        """A new listening connection, LISTENing on :data:`CHANNEL`."""
        connection = await self._asyncpg.connect(
            self.dsn,
            timeout=self.query_timeout,
            server_settings={"application_name": LISTENER_NAME},
        )
        try:
            await connection.add_listener(CHANNEL, self._on_notification)
            # A dropped connection wakes the reader, which then reconnects at
            # once instead of at its next poll.
            connection.add_termination_listener(self._on_termination)
        except BaseException:
            connection.terminate()
            raise
        return connection

    async def _close_connections(self) -> None:
        listener, self._listener = self._listener, None
        pool, self._pool = self._pool, None
        if listener is not None:
            try:
                await asyncio.wait_for(listener.close(), self.query_timeout)
            except Exception:
                listener.terminate()
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), self.query_timeout)
            except Exception:
                pool.terminate()

    def _on_notification(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        try:
            announced = int(payload)
        except ValueError:  # someone else's NOTIFY on our channel: look anyway
            announced = self._last_seen + 1
        # In a burst, one read fetches many rows: later notifications of rows
        # already delivered need no further read.
        if announced > self._last_seen:
            self._wake.set()

    def _on_termination(self, connection: Any) -> None:
        self._wake.set()

    # The reader task: the only user of the listening connection, so events
    # are read and delivered by one task, in order, each once.

    async def _read_forever(self) -> None:
        delay = self.reconnect_min
        while True:
            try:
                if self._listener is None or self._listener.is_closed():
                    self._drop_listener()
                    self._listener = await self._connect()
                    self.reconnects += 1
                    logger.info(
                        "event listener reconnected; catching up after id %d", self._last_seen
                    )
                # Cleared before reading: what arrives during the read triggers another.
                self._wake.clear()
                await self._catch_up(self._listener)
                delay = self.reconnect_min
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Connection refused, terminated, timed out: never give up, the
                # table keeps everything until this replica is back.
                logger.warning("event listener failed (%s); reconnecting in %.1f s", exc, delay)
                self._drop_listener()
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self.reconnect_max)

    def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # terminate(), not close(): the connection is broken or suspect, and
            # a graceful close could wait on it.
            listener.terminate()

    async def _catch_up(self, connection: Any) -> None:
        """Deliver every stored event after ``last_seen``, in id order."""
        while True:
            rows = await connection.fetch(
                _READ_SQL, self._last_seen, self.batch_size, timeout=self.query_timeout
            )
            for event_id, topic, data, at in rows:
                event = Event(id=event_id, topic=topic, data=json.loads(data), at=at)
                # Advanced before delivery: an event is delivered at most once,
                # even if the fan-out failed on it.
                self._last_seen = event_id
                deliver = self._deliver
                if deliver is None:
                    return
                try:
                    deliver(event)
                except Exception:
                    logger.exception("event fan-out failed on event %d", event_id)
            if len(rows) < self.batch_size:
                return

    async def _prune_forever(self) -> None:
        assert self.retention is not None
        while True:
            await asyncio.sleep(self.prune_interval)
            try:
                deleted = await self.prune(self.retention)
            except Exception as exc:
                logger.warning("pruning old events failed: %s", exc)
            else:
                if deleted:
                    logger.debug("pruned %d events older than %.0f s", deleted, self.retention)
