"""What the metrics cost, measured directly: the work they add to one GraphQL request, one
delivery and one elektrad request, and what one scrape costs.

End to end (``scripts/bench-graphql --metrics``, ``scripts/bench-fanout --metrics both``)
the difference is a few percent at most and the shared development machine's noise is
±20% per round, so this measures the added code paths themselves, in this process, with the
CPU time of its thread (``time.thread_time``), the best of ``--batches`` batches of
``--calls`` calls each (the best: what the code costs when nothing else interferes), each
against the same call without the metrics where there is one:

- per GraphQL request over HTTP (clusterd with ``--metrics``): ``ObservedGraphQL`` around a
  stub endpoint against the stub alone, plus ``observed()`` (the outcome of a result) and
  the executor noting the operation type;
- per delivery: what the sender records for an applied one (``Metrics.recorded``) and the
  follower for its echo (``Metrics.feed_changes``);
- per elektrad request: ``RequestMetrics`` around a stub app against the stub alone, plus
  one file write observed (a write request has one or two);
- per scrape: clusterd's ``refresh`` (its ``GROUP BY`` queries) and the exposition on an
  SQLite database of ``--instances`` instances and ``--deliveries`` deliveries (process
  CPU: SQLite runs in its own thread), and elektrad's exposition.

Divide by what a request or a delivery costs in all (bench-graphql, bench-fanout) to get the
share; the README does.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


def best(fn: Callable[[], Awaitable[None]], calls: int, batches: int) -> float:
    """Microseconds of this thread's CPU per call: the best batch (and the median)."""

    async def batch() -> float:
        began = time.thread_time()
        for _ in range(calls):
            await fn()
        return (time.thread_time() - began) / calls * 1e6

    async def run() -> list[float]:
        return [await batch() for _ in range(batches)]

    times = asyncio.run(run())
    return min(times)


def per_request(args: argparse.Namespace) -> list[tuple[str, float, float]]:
    from strawberry.types import ExecutionResult

    from elektra_web.clusterd.monitoring import ObservedGraphQL, observed
    from elektra_web.elektrad.metrics import ElektradMetrics, RequestMetrics
    from elektra_web.engine.metrics import Metrics

    headers = [(b"content-type", b"application/json")]

    async def stub(scope: Any, receive: Any, send: Any) -> None:
        scope.setdefault("state", {})["graphql"] = ("query", "ok", ())
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        pass

    class Route:
        path_format = "/kdb/{path}"

    def scope() -> dict[str, Any]:
        return {"type": "http", "method": "PUT", "state": {}, "route": Route}

    wrapped = ObservedGraphQL(stub, Metrics())
    counted = RequestMetrics(stub, ElektradMetrics())
    elektrad = ElektradMetrics()

    class Context:
        operation_type: str | None = "query"

    context, result = Context(), ExecutionResult(data={"version": {"api": 1}}, errors=None)

    async def bare() -> None:
        await stub(scope(), receive, send)

    async def graphql() -> None:
        await wrapped(scope(), receive, send)

    async def noted() -> None:
        # The executor's note of the operation type, and GraphQLApp's of the outcome.
        context.operation_type = "query"
        observed(context, result)  # type: ignore[arg-type]

    async def request() -> None:
        await counted(scope(), receive, send)

    async def file_write() -> None:
        elektrad.file_written("mount", 0.003)

    n, b = args.calls, args.batches
    base = best(bare, n, b)
    rows = [
        ("clusterd: ObservedGraphQL around an endpoint", best(graphql, n, b) - base, base),
        ("clusterd: the outcome of a result, the operation type", best(noted, n, b), 0.0),
        ("elektrad: RequestMetrics around an app", best(request, n, b) - base, base),
        ("elektrad: a file write observed", best(file_write, n, b), 0.0),
    ]
    return rows


def per_delivery(args: argparse.Namespace) -> list[tuple[str, float, float]]:
    from elektra_web.engine.metrics import Metrics
    from elektra_web.models import Delivery, Instance

    metrics = Metrics(instance_labels=10)
    now = dt.datetime.now(dt.UTC)
    delivery = Delivery(id=1, instance_id=1, path="user:/k", created_at=now)
    instance = Instance(id=1, name="web", host="http://127.0.0.1:1")
    change = [{"op": "set", "key": "user:/k", "at": time.time(), "operation": "x"}]

    async def recorded() -> None:
        metrics.recorded([delivery], [now])

    async def echoed() -> None:
        metrics.feed_changes(instance, change)

    n, b = args.calls, args.batches
    return [
        ("clusterd: an applied delivery recorded", best(recorded, n, b), 0.0),
        ("clusterd: its echo taken from the feed", best(echoed, n, b), 0.0),
    ]


def per_scrape(args: argparse.Namespace) -> list[tuple[str, float, float]]:
    from prometheus_client import generate_latest
    from tortoise import Tortoise

    from elektra_web.clusterd.database import migrate, tortoise_config
    from elektra_web.elektrad.database import KeyDatabase
    from elektra_web.elektrad.metrics import ElektradMetrics
    from elektra_web.engine.metrics import Metrics
    from elektra_web.models import Delivery, DeliveryStatus, Instance, Operation, OperationKind

    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        url = f"sqlite://{Path(tmp) / 'clusterd.sqlite3'}"

        async def clusterd() -> None:
            await migrate(url)
            await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
            try:
                await Instance.bulk_create(
                    [
                        Instance(name=f"i{n}", host=f"http://10.0.{n // 250}.{n % 250}:33333")
                        for n in range(args.instances)
                    ]
                )
                ids = await Instance.all().values_list("id", flat=True)
                operation = await Operation.create(kind=OperationKind.SET, path="user:/k")
                now = dt.datetime.now(dt.UTC)
                statuses = [DeliveryStatus.APPLIED] * 9 + [DeliveryStatus.PENDING]
                rows_ = [
                    Delivery(
                        operation_id=operation.id,
                        instance_id=ids[n % len(ids)],
                        kind=OperationKind.SET,
                        path=f"user:/k{n}",
                        status=statuses[n % len(statuses)],
                        next_attempt_at=now,
                    )
                    for n in range(args.deliveries)
                ]
                for start in range(0, len(rows_), 500):
                    await Delivery.bulk_create(rows_[start : start + 500])
                metrics = Metrics()
                times = []
                for _ in range(args.scrapes):
                    began = time.process_time()
                    await metrics.refresh("sqlite", 0)
                    generate_latest(metrics.registry)
                    times.append((time.process_time() - began) * 1e6)
                rows.append(
                    (
                        f"clusterd: one scrape ({args.instances} instances, "
                        f"{args.deliveries} deliveries)",
                        statistics.median(times),
                        0.0,
                    )
                )
            finally:
                await Tortoise.close_connections()

        asyncio.run(clusterd())

        async def elektrad() -> None:
            db = KeyDatabase(Path(tmp) / "elektrad")
            await db.open()
            try:
                metrics = ElektradMetrics()
                metrics.watch(db)
                times = []
                for _ in range(args.scrapes):
                    began = time.process_time()
                    generate_latest(metrics.registry)
                    times.append((time.process_time() - began) * 1e6)
                rows.append(("elektrad: one scrape", statistics.median(times), 0.0))
            finally:
                await db.close()

        asyncio.run(elektrad())
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per batch")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--deliveries", type=int, default=100_000)
    args = parser.parse_args()
    rows = per_request(args) + per_delivery(args) + per_scrape(args)
    print("command:", " ".join(["scripts/bench-metrics", *sys.argv[1:]]))
    print(f"CPU per call, best of {args.batches} batches of {args.calls} (scrapes: median)")
    for name, cost, base in rows:
        against = f"  (the call alone: {base:.2f} us)" if base else ""
        unit = f"{cost / 1000:8.2f} ms" if cost > 1000 else f"{cost:8.2f} us"
        print(f"  {name:62} {unit}{against}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
