"""PerOriginTransport against real loopback peers that count their connections:
a pool per origin, keep-alive reuse, limits per origin, closing on aclose and
on eviction of the least recently used idle origin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from elektra_web.connector.transport import PerOriginTransport

from .conftest import closed_port_url
from .peers import Peer, answer, peers, read_request

pytestmark = pytest.mark.anyio


def origin(peer: Peer) -> tuple[str, str, int]:
    return "http", "127.0.0.1", int(peer.url.rsplit(":", 1)[1])


@pytest.fixture
async def three() -> AsyncIterator[list[Peer]]:
    async with peers(None, None, None) as started:
        yield started


async def test_each_origin_gets_its_own_pool_and_reuses_its_connection(
    three: list[Peer],
) -> None:
    transport = PerOriginTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        for _ in range(5):
            for peer in three:
                assert (await http.get(f"{peer.url}/version")).json() == {}
        assert transport.origins == [origin(peer) for peer in three]
    assert [(p.accepted, p.requests) for p in three] == [(1, 5)] * 3


async def test_spellings_of_one_origin_share_its_pool(three: list[Peer]) -> None:
    transport = PerOriginTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        # The same origin however the URL spells its scheme, whatever the path.
        host = three[0].url.replace("http://", "HTTP://")
        await http.get(f"{host}/a")
        await http.get(f"{three[0].url}/b/c")
        assert transport.origins == [origin(three[0])]
    assert three[0].accepted == 1


async def test_limits_apply_to_each_origin(three: list[Peer]) -> None:
    # At most one connection per origin: requests to the same origin queue,
    # requests to another origin do not wait for them.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(transport=PerOriginTransport(limits=limits)) as http:
        answers = await asyncio.gather(*(http.get(p.url) for p in three for _ in range(4)))
    assert all(a.status_code == 200 for a in answers)
    assert [(p.accepted, p.requests) for p in three] == [(1, 4)] * 3


async def test_aclose_closes_every_connection(three: list[Peer]) -> None:
    transport = PerOriginTransport()
    http = httpx.AsyncClient(transport=transport)
    await asyncio.gather(*(http.get(p.url) for p in three))
    assert [p.open for p in three] == [1, 1, 1]  # kept alive
    await http.aclose()
    for peer in three:
        await peer.until(lambda p: p.open == 0)
    assert transport.origins == []
    with pytest.raises(RuntimeError, match="closed"):
        await transport.handle_async_request(httpx.Request("GET", three[0].url))


async def test_the_least_recently_used_idle_origin_is_evicted_and_closed(
    three: list[Peer],
) -> None:
    a, b, c = three
    transport = PerOriginTransport(max_origins=2)
    async with httpx.AsyncClient(transport=transport) as http:
        await http.get(a.url)
        await http.get(b.url)
        await http.get(a.url)  # b is now the least recently used
        await http.get(c.url)
        assert transport.origins == [origin(a), origin(c)]
        await b.until(lambda p: p.open == 0)
        assert a.open == 1 and c.open == 1
        await http.get(b.url)  # a new pool, a new connection
        assert transport.origins == [origin(c), origin(b)]
        await a.until(lambda p: p.open == 0)
    assert (a.accepted, b.accepted, c.accepted) == (1, 2, 1)


async def test_an_origin_with_a_response_open_is_not_evicted(three: list[Peer]) -> None:
    a, b, c = three
    transport = PerOriginTransport(max_origins=1)
    async with httpx.AsyncClient(transport=transport) as http:
        async with http.stream("GET", a.url) as streaming:
            await http.get(b.url)  # a is busy: both stay for now
            assert transport.origins == [origin(a), origin(b)]
            assert await streaming.aread() == b"{}"
        await http.get(c.url)  # now both a and b are idle and older than c
        assert transport.origins == [origin(c)]
    assert a.accepted == b.accepted == 1


async def test_a_failed_request_leaves_its_origin_idle(three: list[Peer]) -> None:
    transport = PerOriginTransport(max_origins=1)
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(closed_port_url())
        await http.get(three[0].url)
        assert transport.origins == [origin(three[0])]


async def test_a_redirect_is_the_answer() -> None:
    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"", "302 Found").replace(b"\r\n\r\n", b"\r\nLocation: /x\r\n\r\n"))
        await writer.drain()
        await reader.read()

    async with peers(redirect) as (peer,), PerOriginTransport() as transport:
        response = await transport.handle_async_request(httpx.Request("GET", peer.url))
        await response.aread()
        assert (response.status_code, response.headers["location"]) == (302, "/x")
        assert peer.accepted == 1
