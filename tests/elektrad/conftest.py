"""Real elektrads for the tests: in a thread of this process (fast) or as a
separate process (for signals, kill -9 and the command line)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from elektra_web.elektrad.app import ElektradConfig, create_app
from elektra_web.elektrad.mounts import MountSpec

from ..support import servers


@dataclass
class Elektrad:
    url: str
    data_dir: Path
    http: httpx.Client

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def key(self, name: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(f"/kdb/{url_path(name)}", params=params)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def put(self, name: str, value: str) -> httpx.Response:
        return self.http.put(f"/kdb/{url_path(name)}", content=value.encode())


def url_path(name: str) -> str:
    """A key name in a URL path: '#' and '?' would end the path. (Tests that
    need other escapes write them percent-encoded themselves.)"""
    return name.replace("#", "%23").replace("?", "%3F")


@contextmanager
def serve_in_thread(config: ElektradConfig, port: int = 0) -> Iterator[str]:
    """Serve ``config`` on ``port`` (0: a free one) of 127.0.0.1; yields the base URL."""
    with servers.serve_in_thread(create_app(config), port, lifespan="on") as url:
        yield url


@pytest.fixture
def start_elektrad(tmp_path: Path) -> Iterator[Callable[..., Elektrad]]:
    """Start elektrads: ``start_elektrad(mounts=["user:/app=/x.ini"], token=...)``."""
    stack: list[Any] = []

    def start(
        mounts: list[str] | None = None, data_dir: Path | None = None, **options: Any
    ) -> Elektrad:
        data_dir = data_dir or tmp_path / f"data{len(stack)}"
        config = ElektradConfig(
            data_dir=data_dir,
            mounts=[MountSpec.parse(m) for m in mounts or []],
            watch_interval=options.pop("watch_interval", 0.05),
            **options,
        )
        context = serve_in_thread(config)
        url = context.__enter__()
        http = httpx.Client(base_url=url, timeout=10)
        stack.append((context, http))
        return Elektrad(url, data_dir, http)

    yield start
    for context, http in reversed(stack):
        http.close()
        context.__exit__(None, None, None)


@pytest.fixture
def elektrad(start_elektrad: Callable[..., Elektrad]) -> Elektrad:
    return start_elektrad()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def elektrad_process(
    *args: str, port: int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``python -m elektra_web.elektrad ARGS`` on a free port, once it answers."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "elektra_web.elektrad", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            assert process.stdout is not None
            raise RuntimeError(f"elektrad exited: {process.stdout.read().decode()}")
        try:
            httpx.get(f"{url}/version", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("elektrad did not start in time")
