"""The API client against a real clusterd: queries, errors with their codes,
subscriptions, and a clusterd that is not there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import aclosing
from typing import Any, TypeVar

import pytest

from elektra_web.apiclient import ApiError, ClusterdClient, ConnectionLost, endpoints, query_sync

from ..clusterd.api import create_cluster, set_key, target
from ..clusterd.conftest import ADMIN_TOKEN, Clusterd
from ..elektrad.conftest import free_port

T = TypeVar("T")

CHANGES = """subscription($c: ID, $p: String) {
  configChanged(clusterId: $c, pathPrefix: $p) { op path value cluster { name } }
}"""


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


async def first_event(
    events: AsyncIterator[dict[str, Any]], poke: Callable[[int], object]
) -> dict[str, Any]:
    """The first event, poking (a change in a thread) until one comes: nothing
    tells when the server has registered the subscription."""
    waiting = asyncio.ensure_future(anext(events))
    attempt = 0
    while not waiting.done():
        attempt += 1
        await asyncio.to_thread(poke, attempt)
        await asyncio.wait({waiting}, timeout=0.5)
    return waiting.result()


def test_endpoints_are_derived_from_the_base_url() -> None:
    assert endpoints("http://127.0.0.1:33334") == (
        "http://127.0.0.1:33334/graphql",
        "ws://127.0.0.1:33334/graphql",
    )
    assert endpoints("https://example.org/elektra/") == (
        "https://example.org/elektra/graphql",
        "wss://example.org/elektra/graphql",
    )
    assert endpoints("http://h/graphql")[1] == "ws://h/graphql"
    with pytest.raises(ValueError, match="not an http"):
        endpoints("ftp://h")


def test_query_returns_data_and_raises_errors_with_their_code(clusterd: Clusterd) -> None:
    async def scenario() -> tuple[dict[str, Any], ApiError, ApiError]:
        async with ClusterdClient(clusterd.url, token=ADMIN_TOKEN) as client:
            created = await client.query(
                "mutation($n: String!) { createCluster(input: {name: $n}) { name } }", n="prod"
            )
            with pytest.raises(ApiError) as missing:
                await client.query("mutation($c: ID!) { deleteCluster(id: $c) }", c="999")
            with pytest.raises(ApiError) as invalid:
                await client.query("{ nonsense }")
            return created, missing.value, invalid.value

    created, missing, invalid = run(scenario())
    assert created == {"createCluster": {"name": "prod"}}
    assert (missing.code, missing.message, missing.path) == (
        "NOT_FOUND",
        "no cluster with id 999",
        ["deleteCluster"],
    )
    assert invalid.code == "GRAPHQL_VALIDATION_FAILED" and "nonsense" in invalid.message
    assert query_sync(clusterd.url, "{ clusters { name } }", token=ADMIN_TOKEN) == {
        "clusters": [{"name": "prod"}]
    }


def test_subscribe_yields_each_change(clusterd: Clusterd) -> None:
    prod = create_cluster(clusterd, "prod")

    async def scenario() -> dict[str, Any]:
        async with (
            ClusterdClient(clusterd.url, token=ADMIN_TOKEN) as client,
            aclosing(client.subscribe(CHANGES, c=prod, p="user:/app")) as events,
        ):
            await first_event(
                events, lambda n: set_key(clusterd, target(cluster=prod), "user:/app/probe", str(n))
            )
            await asyncio.to_thread(set_key, clusterd, target(cluster=prod), "user:/app/x", "1")
            async for data in events:
                if data["configChanged"]["path"] != "user:/app/probe":
                    return data
        raise AssertionError("the subscription ended")

    assert run(scenario()) == {
        "configChanged": {
            "op": "SET",
            "path": "user:/app/x",
            "value": "1",
            "cluster": {"name": "prod"},
        }
    }


def test_a_subscription_that_the_server_refuses_raises_its_code(clusterd: Clusterd) -> None:
    async def scenario() -> list[str]:
        codes = []
        async with ClusterdClient(clusterd.url, token=ADMIN_TOKEN) as client:
            for variables in ({"p": "app"}, {"c": "999"}):
                subscription = client.subscription(CHANGES, **variables)
                with pytest.raises(ApiError) as refused:
                    async with subscription:
                        async for _ in subscription:
                            pass
                assert subscription.closed
                codes.append(refused.value.code)
        return codes

    assert run(scenario()) == ["INVALID_KEY_NAME", "NOT_FOUND"]


def test_a_missing_clusterd_is_connection_lost() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    async def scenario() -> None:
        async with ClusterdClient(url, connect_timeout=5) as client:
            with pytest.raises(ConnectionLost, match="cannot reach clusterd"):
                await client.query("{ version { api } }")
            with pytest.raises(ConnectionLost, match="cannot reach clusterd"):
                async for _ in client.subscribe(CHANGES):
                    pass

    run(scenario())
    with pytest.raises(ConnectionLost):
        query_sync(url, "{ version { api } }")
