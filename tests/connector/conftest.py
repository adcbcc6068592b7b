"""Real servers for the connector tests: elektrads (the in-thread helper of the
elektrad tests), tiny misbehaving HTTP servers, and a transport that counts."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp

from elektra_web.elektrad.app import ElektradConfig
from tests.elektrad.conftest import serve_in_thread
from tests.support import servers


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def start_elektrad(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start real elektrads on loopback: ``start_elektrad(token=...)`` gives a base URL."""
    with ExitStack() as stack:
        count = 0

        def start(**options: object) -> str:
            nonlocal count
            count += 1
            config = ElektradConfig(data_dir=tmp_path / f"kdb{count}", **options)  # type: ignore[arg-type]
            return stack.enter_context(serve_in_thread(config))

        yield start


@pytest.fixture
def elektrad_url(start_elektrad: Callable[..., str]) -> str:
    return start_elektrad()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real transport that notes every request it sends (and sends it)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)


@contextmanager
def serve_app(app: ASGIApp) -> Iterator[str]:
    """Serve any ASGI ``app`` on a free loopback port in a thread; yields its URL."""
    # A handler still sleeping for a timed-out client must not hold up the exit.
    with servers.serve_in_thread(app, lifespan="off", timeout_graceful_shutdown=1) as url:
        yield url


def closed_port_url() -> str:
    """The URL of a loopback port that nothing listens on (just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
