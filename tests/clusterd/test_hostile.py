"""Hostile input to clusterd: oversized queries, cross-site requests and
websockets, addresses that are no instance. Each is refused, quickly, with a
clear error, and nothing is changed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from elektra_web.clusterd.app import ClusterdConfig

from .api import add_instance, error_code
from .conftest import ADMIN_TOKEN, TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd

AUTH_INIT = {"token": ADMIN_TOKEN}


@pytest.fixture
def strict(database_url: str) -> Iterator[Clusterd]:
    """A clusterd with small limits and an allow-list of networks and origins."""
    settings = replace(
        TEST_SETTINGS,
        ws_init_timeout=0.5,
        allowed_networks=("10.0.0.0/8",),
        allowed_origins=("https://admin.example",),
    )
    config = ClusterdConfig(database_url=database_url, settings=settings)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield Clusterd(url, http)


def refused_quickly(clusterd: Clusterd, query: str) -> str:
    started = time.monotonic()
    body = clusterd.query(query)
    assert time.monotonic() - started < 2
    assert body.get("data") is None, body
    message: str = body["errors"][0]["message"]
    return message


def test_a_deep_query_is_refused(clusterd: Clusterd) -> None:
    query = "{ clusters " + "{ children " * 20 + "{ id }" + " }" * 20 + " }"
    assert "exceeds maximum operation depth" in refused_quickly(clusterd, query)


def test_an_alias_bomb_is_refused(clusterd: Clusterd) -> None:
    query = "{ " + " ".join(f"a{n}: version {{ api }}" for n in range(200)) + " }"
    assert "aliases found" in refused_quickly(clusterd, query)


def test_a_huge_query_is_refused(clusterd: Clusterd) -> None:
    query = "{ version { " + "api " * 10_000 + "} }"
    assert "token" in refused_quickly(clusterd, query).lower()


def test_reads_past_the_limit_are_refused_with_bad_input(
    database_url: str, elektrads: Callable[..., list[Elektrad]]
) -> None:
    settings = replace(TEST_SETTINGS, max_reads_per_request=5)
    config = ClusterdConfig(database_url=database_url, settings=settings)
    (daemon,) = elektrads(1)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        clusterd = Clusterd(url, http)
        add_instance(clusterd, "web", daemon.url)
        fields = " ".join(f'k{n}: key(path: "user:/k{n}") {{ value }}' for n in range(10))
        body = clusterd.query("{ instances { " + fields + " } }")
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"BAD_INPUT"}
    assert "more than 5 keys" in body["errors"][0]["message"]


def test_a_mutation_over_get_is_refused(clusterd: Clusterd) -> None:
    response = clusterd.http.get(
        "/graphql",
        params={"query": 'mutation { createCluster(input: {name: "x"}) { id } }'},
    )
    assert response.status_code in (400, 405)
    assert clusterd.ok("{ clusters { id } }")["clusters"] == []


def test_a_form_encoded_mutation_is_refused(clusterd: Clusterd) -> None:
    response = clusterd.http.post(
        "/graphql",
        data={"query": 'mutation { createCluster(input: {name: "x"}) { id } }'},
    )
    assert response.status_code == 415  # Unsupported Media Type: JSON only
    assert clusterd.ok("{ clusters { id } }")["clusters"] == []


def ws_handshake(url: str, **options: Any) -> Any:
    async def run() -> Any:
        async with websockets.connect(
            url.replace("http://", "ws://") + "/graphql", **options
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": AUTH_INIT}))
            return await asyncio.wait_for(socket.recv(), 5)

    return asyncio.run(run())


def test_a_websocket_from_a_foreign_origin_is_refused(strict: Clusterd) -> None:
    with pytest.raises(InvalidStatus) as refused:
        ws_handshake(
            strict.url, subprotocols=["graphql-transport-ws"], origin="https://evil.example"
        )
    assert refused.value.response.status_code == 403
    assert "connection_ack" in ws_handshake(
        strict.url, subprotocols=["graphql-transport-ws"], origin=strict.url
    )
    assert "connection_ack" in ws_handshake(
        strict.url, subprotocols=["graphql-transport-ws"], origin="https://admin.example"
    )


def test_the_legacy_graphql_ws_protocol_is_not_spoken(clusterd: Clusterd) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        ws_handshake(clusterd.url, subprotocols=["graphql-ws"])
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406  # subprotocol not acceptable


def test_a_websocket_that_never_initializes_is_closed(strict: Clusterd) -> None:
    async def run() -> int:
        url = strict.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
            try:
                await asyncio.wait_for(socket.recv(), 5)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code
        raise AssertionError("still open")

    assert asyncio.run(run()) == 4408


@pytest.mark.parametrize(
    "host",
    [
        "http://169.254.169.254/",
        "http://[fe80::1]:33333",
        "http://metadata.google.internal/",
        "http://METADATA/",
    ],
)
def test_metadata_and_link_local_addresses_are_never_instances(
    clusterd: Clusterd, host: str
) -> None:
    response = clusterd.query(
        'mutation($h: String!) { addInstance(input: {name: "x", host: $h}) { id } }', h=host
    )
    assert error_code(response) == "INVALID_HOST"
    assert clusterd.ok("{ instances { id } }")["instances"] == []


def test_an_instance_outside_the_allowed_networks_is_refused(
    strict: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    response = strict.query(
        'mutation($h: String!) { addInstance(input: {name: "x", host: $h}) { id } }',
        h=daemon.url,
    )
    assert error_code(response) == "INVALID_HOST"
    assert "outside the networks" in response["errors"][0]["message"]


def test_an_unexpected_error_is_masked_and_logged_with_an_id_the_client_sees(
    clusterd: Clusterd, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from elektra_web.resolvers import clusters

    async def broken(caller: object) -> list[object]:  # fault injection
        raise RuntimeError("/secret/path/in/a/traceback")

    monkeypatch.setattr(clusters, "list_clusters", broken)
    body = clusterd.query("{ clusters { id } }")
    (error,) = body["errors"]
    error_id = error["extensions"]["errorId"]
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["message"].startswith(f"Internal error (id {error_id})")
    assert "secret" not in str(body) and "Traceback" not in str(body)
    (logged,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged.exc_info is not None and "/secret/path" in str(logged.exc_info[1])
