"""Benchmark ``history``: one key's entries among 1,000,000 (``--entries``).

An SQLite database is migrated, then filled directly in bulk (sqlite3's
executemany, not the ORM: the point is the reads): ``--targets`` instances,
each with ``--keys`` keys, the entries spread round-robin over them, one a
millisecond. Then the resolver (``resolvers.history.history``: the ORM query
and the rows made into entries; what clusterd does for the GraphQL field
before it serializes) is timed ``--queries`` times for each kind of ask:

- ``key``: one key of one instance (``pathPrefix`` the key), the newest 50;
- ``key, page 2``: the same with ``before`` the 50th's id;
- ``subtree``: the key's parent, i.e. every key of the instance below it;
- ``target``: every entry of the instance (no ``pathPrefix``).

It prints the median and the 95th percentile in milliseconds. Run it with
``--targets 1`` for the worst case: all the entries are one instance's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402

from elektra_web.clusterd.database import migrate, tortoise_config  # noqa: E402
from elektra_web.resolvers.auth import SYSTEM  # noqa: E402
from elektra_web.resolvers.history import history  # noqa: E402
from elektra_web.resolvers.writes import Target  # noqa: E402

COLUMNS = (
    "at, actor, origin, operation_id, op, path, value, previous, meta_key, instance_id, cluster_id"
)


def fill(path: Path, entries: int, targets: int, keys: int) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    connection = sqlite3.connect(path)

    def rows(begin: int, end: int) -> list[tuple[object, ...]]:
        return [
            (
                (start + dt.timedelta(milliseconds=n)).isoformat(sep=" "),
                "bench (token 1)",
                "clusterd",
                None,
                "SET",
                f"user:/app/key{(n // targets) % keys}",
                str(n),
                str(n - 1),
                None,
                1 + n % targets,
                None,
            )
            for n in range(begin, end)
        ]

    chunk = 50_000
    for begin in range(0, entries, chunk):
        connection.executemany(
            f"INSERT INTO history_entry ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows(begin, min(entries, begin + chunk)),
        )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


async def measure(url: str, queries: int) -> None:
    await Tortoise.init(config=tortoise_config(url))
    try:
        target = Target(instance_id="1")
        first = await history(SYSTEM, target, path_prefix="user:/app/key7", first=50)
        cases = {
            "key": {"path_prefix": "user:/app/key7"},
            "key, page 2": {"path_prefix": "user:/app/key7", "before": str(first.entries[-1].id)},
            "subtree": {"path_prefix": "user:/app"},
            "target": {},
        }
        print(f"{'ask':<14} {'entries':>7} {'median ms':>10} {'p95 ms':>8}")
        for name, arguments in cases.items():
            times = []
            for _ in range(queries):
                began = time.perf_counter()
                page = await history(SYSTEM, target, first=50, **arguments)  # type: ignore[arg-type]
                times.append((time.perf_counter() - began) * 1000)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(
                f"{name:<14} {len(page.entries):>7} {statistics.median(times):>10.2f} {p95:>8.2f}"
            )
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "clusterd.sqlite3"
        url = f"sqlite://{path}"
        asyncio.run(migrate(url))
        began = time.perf_counter()
        fill(path, args.entries, args.targets, args.keys)
        print(
            f"{args.entries:,} entries over {args.targets} instances x {args.keys} keys "
            f"(filled in {time.perf_counter() - began:.1f} s)"
        )
        asyncio.run(measure(url, args.queries))


if __name__ == "__main__":
    main()
