"""A real clusterd (uvicorn in a thread) and real elektrads for its tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from elektra_web.clusterd.app import ClusterdConfig, create_app
from elektra_web.clusterd.server import WS_PROTOCOL
from elektra_web.elektrad.app import ElektradConfig
from elektra_web.elektrad.mounts import MountSpec
from elektra_web.engine.services import Settings

from ..elektrad.conftest import serve_in_thread
from ..support import servers
from ..support.clusterd_process import wait_ready

#: Fast timings for tests: short waits, quick retries, frequent health checks.
TEST_SETTINGS = Settings(
    call_timeout=2.0,
    write_wait=3.0,
    health_interval=0.2,
    retry_base=0.1,
    retry_max=0.5,
    follow_wait=2.0,
    follow_supervise_interval=0.2,
    read_margin=0.5,
)


#: The admin token every test clusterd is started with (``admin_token``).
ADMIN_TOKEN = "ewt_admin-token-for-the-tests"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class GraphQLError(AssertionError):
    pass


@dataclass
class Clusterd:
    url: str
    http: httpx.Client
    #: The secret every query is sent with (None: none at all).
    token: str | None = ADMIN_TOKEN

    def as_(self, token: str | None) -> Clusterd:
        """The same clusterd, asked with another token."""
        return Clusterd(self.url, self.http, token)

    def query(self, document: str, **variables: Any) -> dict[str, Any]:
        """Run a GraphQL document; the whole response (data and errors)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post(
            "/graphql", json={"query": document, "variables": variables}, headers=headers
        )
        # 401: no valid token; its body is a GraphQL error (UNAUTHENTICATED).
        assert response.status_code in (200, 401), response.text
        body: dict[str, Any] = response.json()
        return body

    def ok(self, document: str, **variables: Any) -> dict[str, Any]:
        """Run a document that must succeed; its data."""
        body = self.query(document, **variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    def error(self, document: str, **variables: Any) -> dict[str, Any]:
        """Run a document that must fail; its first error."""
        body = self.query(document, **variables)
        assert body.get("errors"), body
        error: dict[str, Any] = body["errors"][0]
        return error


@contextmanager
def serve_clusterd(config: ClusterdConfig) -> Iterator[str]:
    """Serve clusterd in a thread; it knows ``ADMIN_TOKEN`` unless the config
    names another admin token."""
    if config.admin_token is None:
        config.admin_token = ADMIN_TOKEN
    with servers.serve_in_thread(
        create_app(config),
        lifespan="on",
        timeout_graceful_shutdown=5,
        # As clusterd.server runs it: its own websocket protocol, no compression.
        ws=WS_PROTOCOL,
        ws_per_message_deflate=False,
    ) as url:
        yield url


def spawn_clusterd(
    port: int,
    database: str,
    *options: str,
    home: Path | None = None,
    output: IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """``elektra-web clusterd`` as a process that knows ``ADMIN_TOKEN``,
    returned once it answers."""
    command = [
        sys.executable, "-m", "elektra_web", "--log-level", "warning", "clusterd",
        "--port", str(port), "--database", database, *options,
    ]  # fmt: skip
    env = {**os.environ, "ELEKTRA_WEB_ADMIN_TOKEN": ADMIN_TOKEN}
    if home is not None:
        env["HOME"] = str(home)
    process = subprocess.Popen(command, env=env, stdout=output, stderr=output and subprocess.STDOUT)
    return wait_ready(process, port, ADMIN_TOKEN)


class Elektrad:
    """A real elektrad that a test can stop and start again (same port, same
    data), as a machine that goes offline and comes back."""

    def __init__(self, data_dir: Path, mounts: Sequence[str] = ()) -> None:
        self.config = ElektradConfig(
            data_dir=data_dir,
            mounts=[MountSpec.parse(m) for m in mounts],
            watch_interval=0.05,
        )
        self.port = 0
        self._running: ExitStack | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._running is not None

    def start(self) -> None:
        assert self._running is None
        stack = ExitStack()
        url = stack.enter_context(serve_in_thread(self.config, self.port))
        self.port = int(url.rsplit(":", 1)[1])
        self._running = stack

    def stop(self) -> None:
        assert self._running is not None
        self._running.close()
        self._running = None

    def value(self, path: str) -> str | None:
        """The value of a key, read directly from this elektrad."""
        body = httpx.get(f"{self.url}/kdb/{path}").json()
        value: str | None = body.get("value")
        return value


@pytest.fixture
def elektrads(tmp_path: Path) -> Iterator[Callable[..., list[Elektrad]]]:
    """``elektrads(3)``: three real elektrads (``mounts=[...]`` for each)."""
    started: list[Elektrad] = []

    def start(count: int, mounts: Sequence[str] = ()) -> list[Elektrad]:
        new = [Elektrad(tmp_path / f"elektrad-{len(started) + i}", mounts) for i in range(count)]
        started.extend(new)
        return new

    yield start
    for daemon in started:
        if daemon.running:
            daemon.stop()


@pytest.fixture
def clusterd(database_url: str) -> Iterator[Clusterd]:
    config = ClusterdConfig(database_url=database_url, settings=TEST_SETTINGS)
    with (
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        yield Clusterd(url, http)
