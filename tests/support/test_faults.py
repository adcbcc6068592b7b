"""The fault proxy against a real tiny HTTP server that records what reaches it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .faults import FaultProxy, matching
from .servers import serve_in_thread

BLOB = bytes(range(32, 127))


@dataclass
class Upstream:
    url: str
    #: (key, body) of every PUT, in the order the server handled them.
    puts: list[tuple[str, bytes]] = field(default_factory=list)
    #: The client port of every request: one port, one (kept-alive) connection.
    ports: list[int] = field(default_factory=list)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    seen = Upstream("")

    async def put(request: Request) -> Response:
        seen.puts.append((request.path_params["key"], await request.body()))
        return Response(status_code=204)

    async def get(request: Request) -> Response:
        assert request.client is not None
        seen.ports.append(request.client.port)
        return Response(request.path_params["key"].encode())

    async def blob(request: Request) -> Response:
        return Response(BLOB, media_type="application/octet-stream")

    async def chunked(request: Request) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b"one,", b"two,", b"three"):
                yield part

        return StreamingResponse(parts())

    app = Starlette(
        routes=[
            Route("/kv/{key}", put, methods=["PUT"]),
            Route("/kv/{key}", get, methods=["GET"]),
            Route("/blob", blob),
            Route("/chunked", chunked),
        ]
    )
    with serve_in_thread(app, lifespan="off") as url:
        seen.url = url
        yield seen


@pytest.fixture
def proxy(upstream: Upstream) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as proxy:
        yield proxy


def test_requests_on_one_kept_alive_connection_pass_through(
    upstream: Upstream, proxy: FaultProxy
) -> None:
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        for key in ("a", "b", "c"):
            response = client.get(f"/kv/{key}")
            assert response.status_code == 200
            assert response.text == key
        assert client.put("/kv/a", content=b"x" * 100_000).status_code == 204
        assert client.get("/chunked").content == b"one,two,three"
    assert len(upstream.ports) == 3
    assert len(set(upstream.ports)) == 1
    assert upstream.puts == [("a", b"x" * 100_000)]
    assert proxy.requests == [
        ("GET", "/kv/a"),
        ("GET", "/kv/b"),
        ("GET", "/kv/c"),
        ("PUT", "/kv/a"),
        ("GET", "/chunked"),
    ]


def test_a_held_put_arrives_after_a_later_one_although_its_client_gave_up(
    upstream: Upstream, proxy: FaultProxy
) -> None:
    late = proxy.hold(matching("PUT", "/kv/"), times=1)
    outcome: list[BaseException] = []

    def first_write() -> None:
        with httpx.Client(base_url=proxy.url, timeout=0.5) as client:
            try:
                client.put("/kv/k", content=b"old")
            except httpx.TimeoutException as error:
                outcome.append(error)

    writer = threading.Thread(target=first_write)
    writer.start()
    late.wait_held(1, timeout=5)
    assert late.held == 1
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        assert client.put("/kv/k", content=b"new").status_code == 204
    writer.join(10)
    assert isinstance(outcome[0], httpx.ReadTimeout)  # and its connection is closed
    assert upstream.puts == [("k", b"new")]

    late.release()

    assert late.held == 0
    assert upstream.puts == [("k", b"new"), ("k", b"old")]
    # The rule is retired: later PUTs pass.
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        assert client.put("/kv/k", content=b"newer").status_code == 204
    assert upstream.puts[-1] == ("k", b"newer")


def test_wait_held_is_a_timeout_when_nothing_comes(proxy: FaultProxy) -> None:
    held = proxy.hold(matching("PUT"))
    with pytest.raises(TimeoutError):
        held.wait_held(1, timeout=0.1)


def test_a_blackholed_request_times_out_and_never_arrives(
    upstream: Upstream, proxy: FaultProxy
) -> None:
    hole = proxy.blackhole(matching("PUT", "/kv/"))
    with (
        httpx.Client(base_url=proxy.url, timeout=0.3) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.put("/kv/k", content=b"lost")
    hole.wait_hits(1)
    assert upstream.puts == []
    assert proxy.requests == [("PUT", "/kv/k")]


def test_a_trickled_answer_comes_whole_and_slowly(proxy: FaultProxy) -> None:
    interval = 0.002
    proxy.trickle(matching(path="/blob"), interval)
    start = time.monotonic()
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        with client.stream("GET", "/blob") as response:
            pieces = list(response.iter_raw())
        elapsed = time.monotonic() - start
        assert b"".join(pieces) == BLOB
        assert len(pieces) > 1
        assert elapsed >= len(BLOB) * interval
        # Other requests are not trickled, on the same connection either.
        assert client.get("/kv/x").text == "x"


def test_a_delayed_request_is_answered_late(upstream: Upstream, proxy: FaultProxy) -> None:
    rule = proxy.delay(matching("PUT"), 0.3, times=1)
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        start = time.monotonic()
        assert client.put("/kv/d", content=b"late").status_code == 204
        assert time.monotonic() - start >= 0.3
    assert rule.hits == 1
    assert upstream.puts == [("d", b"late")]


def test_clear_lets_everything_pass_again(upstream: Upstream, proxy: FaultProxy) -> None:
    proxy.blackhole(matching())
    proxy.hold(matching())
    proxy.clear()
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        assert client.put("/kv/c", content=b"through").status_code == 204
    assert upstream.puts == [("c", b"through")]


def test_close_ends_held_requests_and_stops_the_thread(upstream: Upstream) -> None:
    proxy = FaultProxy(upstream.url)
    held = proxy.hold(matching("PUT"))
    errors: list[BaseException] = []

    def write() -> None:
        with httpx.Client(base_url=proxy.url, timeout=5) as client:
            try:
                client.put("/kv/z", content=b"dropped")
            except httpx.HTTPError as error:
                errors.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    held.wait_held()
    port = int(proxy.url.rsplit(":", 1)[1])
    proxy.close()
    writer.join(10)
    assert isinstance(errors[0], httpx.RemoteProtocolError)
    assert not proxy._thread.is_alive()
    assert upstream.puts == []
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass


def test_only_loopback_upstreams() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("http://192.0.2.1:8080")
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("https://127.0.0.1:8080")


def test_a_released_request_answers_a_client_still_waiting(
    upstream: Upstream, proxy: FaultProxy
) -> None:
    held = proxy.hold(matching("PUT"))
    statuses: list[int] = []

    def write(body: bytes) -> None:
        with httpx.Client(base_url=proxy.url, timeout=10) as client:
            statuses.append(client.put("/kv/w", content=body).status_code)

    writers = [threading.Thread(target=write, args=(body,)) for body in (b"1", b"2")]
    for writer in writers:
        writer.start()
    held.wait_held(2)
    assert upstream.puts == []
    held.release()
    for writer in writers:
        writer.join(10)
    assert statuses == [204, 204]
    assert sorted(upstream.puts) == [("w", b"1"), ("w", b"2")]


def test_a_request_held_past_the_upstreams_keep_alive_goes_on_a_new_connection() -> None:
    puts: list[bytes] = []

    async def put(request: Request) -> Response:
        puts.append(await request.body())
        return Response(status_code=204)

    app = Starlette(routes=[Route("/kv/{key}", put, methods=["PUT"])])
    with (
        serve_in_thread(app, lifespan="off", timeout_keep_alive=0.2) as url,
        FaultProxy(url) as proxy,
        httpx.Client(base_url=proxy.url, timeout=10) as client,
    ):
        assert client.put("/kv/a", content=b"1").status_code == 204
        held = proxy.hold(matching("PUT"))
        answer: list[int] = []
        writer = threading.Thread(
            target=lambda: answer.append(client.put("/kv/a", content=b"2").status_code)
        )
        writer.start()
        held.wait_held()
        time.sleep(0.5)  # the point of this test: outlast the upstream's keep-alive
        held.release()
        writer.join(10)
    assert answer == [204]
    assert puts == [b"1", b"2"]
