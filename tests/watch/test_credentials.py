"""Tokens and bad credentials, and the protocol details a real clusterd does
not show on demand (pings, completion), against small scripted servers that
record exactly what the client sent. (``test_watch`` runs watch against a
real clusterd's token checks.)"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.server import ServerConnection, serve
from websockets.typing import Subprotocol

from elektra_web.apiclient import BadCredentials, ClusterdClient

from .process import WatchProcess

Handler = Callable[[ServerConnection], None]


@contextmanager
def scripted_server(handler: Handler) -> Iterator[str]:
    """A graphql-transport-ws server running ``handler`` per connection; its base URL."""
    with serve(
        handler, "127.0.0.1", 0, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
        finally:
            server.shutdown()
            thread.join(5)


def receive(socket: ServerConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(10))
    return message


def refusing(code: int, seen: list[tuple[str | None, dict[str, Any]]]) -> Handler:
    """Closes each connection with ``code`` after its connection_init."""

    def handler(socket: ServerConnection) -> None:
        seen.append((socket.request.headers.get("Authorization"), receive(socket)))  # type: ignore[union-attr]
        socket.close(code, "invalid token")

    return handler


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


async def drain(client: ClusterdClient) -> None:
    async for _ in client.subscribe("subscription { configChanged { path } }"):
        pass


@pytest.mark.parametrize(("close", "code"), [(4401, "UNAUTHENTICATED"), (4403, "FORBIDDEN")])
def test_the_token_goes_in_connection_init_and_a_refusal_is_bad_credentials(
    close: int, code: str
) -> None:
    seen: list[tuple[str | None, dict[str, Any]]] = []
    with scripted_server(refusing(close, seen)) as url:

        async def scenario() -> None:
            async with ClusterdClient(url, token="s3cret") as client:
                await drain(client)

        with pytest.raises(BadCredentials) as refused:
            run(scenario())
    assert (refused.value.code, refused.value.message) == (code, "invalid token")
    assert seen == [("Bearer s3cret", {"type": "connection_init", "payload": {"token": "s3cret"}})]


def test_an_unauthenticated_error_of_a_subscription_is_bad_credentials() -> None:
    def handler(socket: ServerConnection) -> None:
        receive(socket)
        socket.send(json.dumps({"type": "connection_ack"}))
        subscription = receive(socket)
        error = {"message": "who are you?", "extensions": {"code": "UNAUTHENTICATED"}}
        socket.send(
            json.dumps({"id": subscription["id"], "type": "next", "payload": {"errors": [error]}})
        )
        socket.send(json.dumps({"id": subscription["id"], "type": "complete"}))

    with scripted_server(handler) as url, pytest.raises(BadCredentials) as refused:
        run(drain(ClusterdClient(url)))
    assert (refused.value.code, refused.value.message) == ("UNAUTHENTICATED", "who are you?")


def test_over_http_the_token_is_a_bearer_token_and_refusals_are_bad_credentials() -> None:
    headers: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers.get("authorization"))
        if request.headers.get("authorization") != "Bearer right":
            return httpx.Response(401, text="no")
        error = {"message": "viewers may not", "extensions": {"code": "FORBIDDEN"}}
        return httpx.Response(200, json={"data": None, "errors": [error]})

    async def scenario() -> list[BadCredentials]:
        refusals = []
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            for token in ("wrong", "right"):
                client = ClusterdClient("http://clusterd", token=token, http=http)
                with pytest.raises(BadCredentials) as refused:
                    await client.query("mutation { deleteCluster(id: 1) }")
                refusals.append(refused.value)
        return refusals

    wrong, right = run(scenario())
    assert headers == ["Bearer wrong", "Bearer right"]
    assert wrong.code == "UNAUTHENTICATED"
    assert (right.code, right.message) == ("FORBIDDEN", "viewers may not")


def test_pings_are_answered_and_stopping_unsubscribes() -> None:
    log: list[dict[str, Any]] = []

    def handler(socket: ServerConnection) -> None:
        receive(socket)
        socket.send(json.dumps({"type": "ping"}))
        log.append(receive(socket))
        socket.send(json.dumps({"type": "connection_ack"}))
        subscription = receive(socket)["id"]
        for n in range(2):
            socket.send(json.dumps({"type": "ping"}))
            log.append(receive(socket))
            socket.send(
                json.dumps({"id": subscription, "type": "next", "payload": {"data": {"n": n}}})
            )
        log.append(receive(socket))

    async def scenario() -> list[Any]:
        async with (
            ClusterdClient(url) as client,
            aclosing(client.subscribe("subscription { x }")) as events,
        ):
            got = []
            async for data in events:
                got.append(data)
                if len(got) == 2:
                    break
            return got

    with scripted_server(handler) as url:
        assert run(scenario()) == [{"n": 0}, {"n": 1}]
    assert log == [{"type": "pong"}] * 3 + [{"id": "1", "type": "complete"}]


def test_a_complete_from_the_server_ends_the_iteration() -> None:
    def handler(socket: ServerConnection) -> None:
        receive(socket)
        socket.send(json.dumps({"type": "connection_ack"}))
        subscription = receive(socket)["id"]
        socket.send(json.dumps({"id": subscription, "type": "next", "payload": {"data": {"a": 1}}}))
        socket.send(json.dumps({"id": subscription, "type": "complete"}))
        socket.recv(10)  # until the client closes

    async def scenario() -> list[dict[str, Any]]:
        async with ClusterdClient(url) as client:
            return [data async for data in client.subscribe("subscription { a }")]

    with scripted_server(handler) as url:
        assert run(scenario()) == [{"a": 1}]


@pytest.mark.parametrize("how", ["token-file", "environment", "none"])
def test_watch_exits_3_on_bad_credentials(
    how: str, tmp_path: Path, watches: list[WatchProcess]
) -> None:
    seen: list[tuple[str | None, dict[str, Any]]] = []
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    with scripted_server(refusing(4401, seen)) as url:
        args, env = ["--url", url], {}
        if how == "token-file":
            args += ["--token-file", str(token_file)]
        elif how == "environment":
            env["ELEKTRA_WEB_TOKEN"] = "from-env"
        watch = WatchProcess(args, env)
        watches.append(watch)
        assert watch.wait() == 3
    assert watch.rest_of_stdout() == []
    token = {"token-file": "from-file", "environment": "from-env", "none": None}[how]
    assert seen[0][1]["payload"] == ({"token": token} if token else {})
    assert "elektra-web watch: bad credentials: " in watch.stderr
    if how == "none":
        assert "ELEKTRA_WEB_TOKEN" in watch.stderr
    else:
        assert "refused the token (invalid token)" in watch.stderr
