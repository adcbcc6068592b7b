"""How clusterd is reached: GraphiQL for browsers, GraphQL over POST and over
websockets (graphql-transport-ws); health checks keep each status current."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import websockets

from ..support.waiting import wait_until
from .api import add_instance
from .conftest import ADMIN_TOKEN, Clusterd, Elektrad


def test_a_browser_gets_graphiql_without_a_token_and_the_client_at_the_root(
    clusterd: Clusterd,
) -> None:
    page = httpx.get(f"{clusterd.url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    root = httpx.get(f"{clusterd.url}/")
    assert root.status_code == 200
    assert "<title>Elektra Web</title>" in root.text


def test_queries_run_over_graphql_transport_ws(clusterd: Clusterd) -> None:
    async def exchange() -> list[dict[str, object]]:
        url = clusterd.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
            init = {"type": "connection_init", "payload": {"token": ADMIN_TOKEN}}
            await socket.send(json.dumps(init))
            assert json.loads(await socket.recv())["type"] == "connection_ack"
            await socket.send(
                json.dumps(
                    {"id": "1", "type": "subscribe", "payload": {"query": "{ version { api } }"}}
                )
            )
            return [json.loads(await socket.recv()) for _ in range(2)]

    first, last = asyncio.run(exchange())
    assert first == {"id": "1", "type": "next", "payload": {"data": {"version": {"api": 1}}}}
    assert last == {"id": "1", "type": "complete"}


def test_health_checks_follow_an_instance_going_down_and_up(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)

    def status() -> tuple[str, str | None]:
        data = clusterd.ok("query($i: ID!) { instance(id: $i) { status lastSeen } }", i=instance)
        return data["instance"]["status"], data["instance"]["lastSeen"]

    assert status()[0] == "ONLINE"
    daemon.stop()
    wait_until(lambda: status()[0] == "OFFLINE")
    seen_before = status()[1]
    daemon.start()
    wait_until(lambda: status()[0] == "ONLINE")
    assert status()[1] is not None and status()[1] != seen_before


def test_a_malformed_request_is_a_graphql_error_not_a_crash(clusterd: Clusterd) -> None:
    broken = clusterd.http.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    unknown = clusterd.query("{ nonsense }")
    assert "Cannot query field 'nonsense'" in unknown["errors"][0]["message"]
    assert httpx.codes.is_success(
        clusterd.http.post("/graphql", json={"query": "{ version { api } }"}).status_code
    )
