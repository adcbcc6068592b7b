"""Rebinding-proof calls: every connection resolves the instance's name, checks
each address against the SSRF rules and connects to a checked address, so a
name that resolves elsewhere after registration is never called."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence

import httpcore
import httpx
import pytest

from elektra_web.connector.client import ElektradClient
from elektra_web.connector.exceptions import InstanceUnreachable
from elektra_web.connector.hosts import CheckedBackend, parse_networks
from elektra_web.connector.transport import PerOriginTransport

from .peers import peers

pytestmark = pytest.mark.anyio

#: No keep-alive: each call opens (and so checks) a connection of its own.
FRESH = httpx.Limits(max_keepalive_connections=0)


class Answers:
    """A resolver that answers from a script: ``answers[n]`` the n-th time it
    is asked (the last one from then on), and notes what it was asked."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append((host, port))
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


class Counting(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, noting every address it connects to."""

    def __init__(self) -> None:
        self.backend = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await self.backend.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


Client = Callable[..., ElektradClient]


@pytest.fixture
async def client() -> AsyncIterator[Callable[..., ElektradClient]]:
    """``client(url, backend)``: an ElektradClient over a PerOriginTransport
    whose connections go through ``backend``."""
    opened: list[httpx.AsyncClient] = []

    def make(url: str, backend: httpcore.AsyncNetworkBackend) -> ElektradClient:
        transport = PerOriginTransport(limits=FRESH, network_backend=backend)
        http = httpx.AsyncClient(transport=transport)
        opened.append(http)
        return ElektradClient(http, url, token="secret", timeout=5)

    yield make
    for http in opened:
        await http.aclose()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def test_a_name_that_rebinds_to_metadata_is_refused_and_recovers(
    elektrad_url: str, client: Client
) -> None:
    port = port_of(elektrad_url)
    resolver = Answers(["127.0.0.1"], ["169.254.169.254"], ["127.0.0.1"])
    counting = Counting()
    backend = CheckedBackend(resolver=resolver, backend=counting)
    elektrad = client(f"http://elektrad.test:{port}", backend)

    assert (await elektrad.version())["api"] >= 1
    with pytest.raises(InstanceUnreachable) as refused:
        await elektrad.version()
    message = str(refused.value)
    assert "elektrad.test" in message
    assert "169.254.169.254 is a link-local or cloud metadata address" in message
    assert "secret" not in message
    # Answering the good address again, the name works again.
    assert (await elektrad.version())["api"] >= 1

    assert resolver.asked == [("elektrad.test", port)] * 3
    # The refused address was never connected to; the others by address.
    assert counting.connected == [("127.0.0.1", port), ("127.0.0.1", port)]


async def test_only_the_allowed_addresses_of_a_name_are_connected_to(
    elektrad_url: str, client: Client
) -> None:
    port = port_of(elektrad_url)
    counting = Counting()
    resolver = Answers(["169.254.169.254", "fe80::1", "127.0.0.1"])
    elektrad = client(
        f"http://mixed.test:{port}", CheckedBackend(resolver=resolver, backend=counting)
    )
    assert (await elektrad.version())["api"] >= 1
    assert counting.connected == [("127.0.0.1", port)]


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.0.1",
        "100.100.100.200",
        "fe80::1",
        "fe80::a9fe:a9fe%eth0",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
    ],
)
async def test_link_local_and_metadata_addresses_are_refused(address: str, client: Client) -> None:
    async with peers(None) as (peer,):
        counting = Counting()
        backend = CheckedBackend(resolver=Answers([address]), backend=counting)
        elektrad = client(f"http://rebound.test:{port_of(peer.url)}", backend)
        with pytest.raises(InstanceUnreachable, match="link-local or cloud metadata"):
            await elektrad.version()
        assert counting.connected == []
        assert peer.accepted == 0


async def test_metadata_names_are_refused_without_resolving(client: Client) -> None:
    resolver = Answers(["127.0.0.1"])
    elektrad = client("http://metadata.google.internal", CheckedBackend(resolver=resolver))
    with pytest.raises(InstanceUnreachable, match="cloud metadata service"):
        await elektrad.version()
    assert resolver.asked == []


async def test_allowed_networks_apply_to_every_connection(client: Client) -> None:
    async with peers(None) as (peer,):
        port = port_of(peer.url)
        # Registered while it resolved into 10.0.0.0/8; now it answers a
        # loopback address where something listens: never connected to.
        backend = CheckedBackend(parse_networks(["10.0.0.0/8"]), resolver=Answers(["127.0.0.1"]))
        elektrad = client(f"http://inside.test:{port}", backend)
        with pytest.raises(InstanceUnreachable, match="outside the networks instances may be in"):
            await elektrad.version()
        assert peer.accepted == 0

        allowed = CheckedBackend(parse_networks(["127.0.0.0/8"]), resolver=Answers(["127.0.0.1"]))
        transport = PerOriginTransport(limits=FRESH, network_backend=allowed)
        async with httpx.AsyncClient(transport=transport) as http:
            assert (await http.get(f"http://inside.test:{port}/version")).json() == {}
        assert peer.accepted == 1


async def test_an_unresolvable_name_is_unreachable(client: Client) -> None:
    async def fails(host: str, port: int) -> Sequence[str]:
        raise OSError(f"no such host {host}")

    elektrad = client("http://gone.test:1", CheckedBackend(resolver=fails))
    with pytest.raises(InstanceUnreachable, match="cannot resolve gone"):
        await elektrad.version()
    nothing = client("http://empty.test:1", CheckedBackend(resolver=Answers([])))
    with pytest.raises(InstanceUnreachable, match="no address clusterd may call"):
        await nothing.version()


async def test_the_system_resolver_is_the_default(elektrad_url: str, client: Client) -> None:
    # localhost may answer ::1 first, where nothing listens: the next
    # allowed address is tried.
    elektrad = client(f"http://localhost:{port_of(elektrad_url)}", CheckedBackend())
    assert (await elektrad.version())["api"] >= 1


class _TLSRecorder(httpcore.AsyncNetworkBackend):
    """Connects nowhere: a mock stream that notes the TLS server name asked for."""

    def __init__(self) -> None:
        self.connected: list[str] = []
        self.server_names: list[str | None] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        recorder = self

        class Stream(httpcore.AsyncMockStream):
            async def start_tls(
                self,
                ssl_context: object,
                server_hostname: str | None = None,
                timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
            ) -> httpcore.AsyncNetworkStream:
                recorder.server_names.append(server_hostname)
                return self

        return Stream([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"])


async def test_tls_verifies_the_name_while_connecting_to_the_checked_address() -> None:
    recorder = _TLSRecorder()
    backend = CheckedBackend(resolver=Answers(["10.1.2.3"]), backend=recorder)
    async with httpx.AsyncClient(transport=PerOriginTransport(network_backend=backend)) as http:
        assert (await http.get("https://elektrad.example/version")).json() == {}
    assert recorder.connected == ["10.1.2.3"]
    assert recorder.server_names == ["elektrad.example"]


async def test_a_unix_socket_is_refused() -> None:
    with pytest.raises(httpcore.ConnectError, match="TCP only"):
        await CheckedBackend().connect_unix_socket("/run/elektrad.sock")
