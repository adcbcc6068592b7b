"""What clusterd's protections cost per request: the GraphQL limits (depth,
aliases, tokens) and the token check.

One clusterd app (SQLite in a temporary directory, 50 registered instances
and 10 clusters) is driven in this process through Starlette's TestClient,
which runs the real ASGI app with its lifespan, in four variants measured in
interleaved rounds:

- ``shipped``:       the limits and the token check, as clusterd runs;
- ``no limits``:     the same schema without the three limiting extensions;
- ``no auth``:       every request is the admin without looking up a token;
- ``neither``:       the baseline, neither limits nor the token check.

For each query: the CPU time per request of this whole process (server and
client; the client's share is the same in every variant, so differences are
the server's), median round, and the ratio to the baseline. CPU, not wall
time: the machine may be busy with other work. Then the two parts alone: one
token check (``authenticate_secret``), and the GraphQL pipeline with and
without the limits (``schema.execute``, no HTTP). Last, what hostile queries
cost when refused, against answered without the limits.
No elektrad is involved: the queries read clusterd's own database only.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchlib import AUTH, BENCH_TOKEN

with warnings.catch_warnings():
    # Starlette suggests another HTTP client for its TestClient; httpx is ours.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

QUERIES = {
    "version": "{ version { api } }",
    "50 instances": "{ instances { id name host status lastSeen cluster { name } } }",
    "clusters tree": "{ clusters { id name parent { id } children { id name } "
    "instances { id name } } }",
}
HOSTILE = {
    "depth 20": "{ clusters " + "{ children " * 20 + "{ id }" + " }" * 20 + " }",
    "200 aliases": "{ " + " ".join(f"a{n}: version {{ api }}" for n in range(200)) + " }",
    "10,000 tokens": "{ version { " + "api " * 10_000 + "} }",
}
VARIANTS = ("shipped", "no limits", "no auth", "neither")


@contextlib.contextmanager
def variant(name: str, database_url: str) -> Iterator[TestClient]:
    """A running clusterd app with or without limits and the token check."""
    import elektra_web.clusterd.app as app_module
    from elektra_web.clusterd.app import ClusterdConfig, create_app
    from elektra_web.engine.services import Settings
    from elektra_web.resolvers.auth import SYSTEM

    patches = contextlib.ExitStack()
    if name in ("no limits", "neither"):
        patches.enter_context(_patched(app_module, "schema", unlimited_schema()))
    if name in ("no auth", "neither"):

        async def anyone(connection: Any) -> Any:
            return SYSTEM

        patches.enter_context(_patched(app_module, "authenticate", anyone))
    config = ClusterdConfig(
        database_url,
        settings=Settings(health_interval=3600),
        health_checks=False,
        follow_feeds=False,
        admin_token=BENCH_TOKEN,
    )
    with patches, TestClient(create_app(config), headers=AUTH) as client:
        yield client


def unlimited_schema() -> Any:
    """clusterd's schema without the limits (and without refusing invalid text)."""
    from elektra_web.schema import root

    return root.Schema(
        query=root.Query,
        mutation=root.Mutation,
        subscription=root.Subscription,
        execution_context_class=root.Executor,
        extensions=[],  # masking is in Schema.process_errors
    )


@contextlib.contextmanager
def _patched(module: Any, attribute: str, value: Any) -> Iterator[None]:
    original = getattr(module, attribute)
    setattr(module, attribute, value)
    try:
        yield
    finally:
        setattr(module, attribute, original)


def post(client: TestClient, query: str) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query})
    body: dict[str, Any] = response.json()
    return body


def seed(database_url: str, instances: int, clusters: int) -> None:
    with variant("shipped", database_url) as client:
        ids = []
        for n in range(clusters):
            body = post(client, f'mutation {{ createCluster(input: {{name: "c{n}"}}) {{ id }} }}')
            ids.append(body["data"]["createCluster"]["id"])
        for n in range(instances):
            # Port 9 on loopback refuses at once: registered as OFFLINE (allowOffline).
            add = (
                f'mutation {{ addInstance(input: {{name: "i{n}", '
                f'host: "http://127.0.0.{n + 1}:9", allowOffline: true}}) {{ id }} }}'
            )
            instance = post(client, add)["data"]["addInstance"]["id"]
            cluster = ids[n % clusters]
            post(client, f'mutation {{ assignInstance(clusterId: "{cluster}", '
                 f'instanceId: "{instance}") {{ id }} }}')  # fmt: skip


def measure(client: TestClient, query: str, requests: int) -> float:
    """CPU milliseconds per request, over ``requests`` requests one after another."""
    body = post(client, query)
    assert "errors" not in body, body
    started = time.process_time()
    for _ in range(requests):
        client.post("/graphql", json={"query": query})
    return (time.process_time() - started) / requests * 1000


def direct(database_url: str, requests: int) -> None:
    """The token check and the GraphQL pipeline alone, CPU ms per call."""
    import asyncio

    from tortoise import Tortoise

    from elektra_web.clusterd.database import tortoise_config
    from elektra_web.engine.services import Services
    from elektra_web.resolvers.auth import SYSTEM
    from elektra_web.resolvers.reads import Reads
    from elektra_web.resolvers.tokens import authenticate_secret
    from elektra_web.schema import root
    from elektra_web.schema.context import Context

    unlimited = unlimited_schema()

    async def run() -> None:
        await Tortoise.init(config=tortoise_config(database_url))
        services = Services(http=None, bus=None)  # type: ignore[arg-type]  # unused here
        try:
            started = time.process_time()
            for _ in range(requests):
                await authenticate_secret(BENCH_TOKEN)
            check = (time.process_time() - started) / requests * 1000
            print(f"\none token check (authenticate_secret): {check:.3f} ms CPU")
            print("GraphQL pipeline alone (schema.execute), CPU ms per call:")
            for label, query in QUERIES.items():
                samples: dict[str, list[float]] = {"limits": [], "no limits": []}
                for round_ in range(6):  # the first round warms up, uncounted
                    for name, schema in (("limits", root.schema), ("no limits", unlimited)):
                        started = time.process_time()
                        for _ in range(requests // 5):
                            context = Context(services, SYSTEM, Reads(services, SYSTEM))
                            await schema.execute(query, context_value=context)
                        if round_:
                            cost = (time.process_time() - started) / (requests // 5) * 1000
                            samples[name].append(cost)
                costs = {name: statistics.median(values) for name, values in samples.items()}
                extra = costs["limits"] - costs["no limits"]
                print(f"  {label:<16} limits {costs['limits']:.3f}  no limits "
                      f"{costs['no limits']:.3f}  (+{extra:.3f} ms)")  # fmt: skip
        finally:
            await Tortoise.close_connections()

    asyncio.run(run())


def refusal_ms(client: TestClient, query: str, times: int = 20) -> float:
    body = post(client, query)
    assert body.get("errors") and body.get("data") is None, str(body)[:300]
    started = time.perf_counter()
    for _ in range(times):
        client.post("/graphql", json={"query": query})
    return (time.perf_counter() - started) / times * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per query, round and variant")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, strawberry-graphql "
          f"{version('strawberry-graphql')}, starlette {version('starlette')}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
        seed(database_url, instances=50, clusters=10)
        rates: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            for name in VARIANTS:
                with variant(name, database_url) as client:
                    for label, query in QUERIES.items():
                        rate = measure(client, query, args.requests)
                        rates.setdefault((name, label), []).append(rate)
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
        print(f"\nCPU ms per HTTP request (server and client), median of {args.rounds} "
              f"rounds of {args.requests} (ratio: to 'neither')")  # fmt: skip
        print(f"{'query':<16}" + "".join(f"{v:>20}" for v in VARIANTS))
        for label in QUERIES:
            base = statistics.median(rates[("neither", label)])
            cells = []
            for name in VARIANTS:
                cost = statistics.median(rates[(name, label)])
                cells.append(f"{cost:>10.2f} ({cost / base:>5.2f}x)")
            print(f"{label:<16}" + "".join(f"{c:>20}" for c in cells))
        direct(database_url, args.requests)
        with variant("shipped", database_url) as client:
            print("\nhostile queries, refused by the shipped limits (wall ms per request):")
            for label, query in HOSTILE.items():
                print(f"  {label:<14} {refusal_ms(client, query):7.2f} ms")
        with variant("no limits", database_url) as client:
            print("the same without the limits (wall ms per request; answered, not refused):")
            for label, query in HOSTILE.items():
                started = time.perf_counter()
                for _ in range(5):
                    client.post("/graphql", json={"query": query})
                print(f"  {label:<14} {(time.perf_counter() - started) / 5 * 1000:7.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
