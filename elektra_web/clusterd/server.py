"""Running clusterd under uvicorn, alone or together with a local elektrad."""

from __future__ import annotations

import logging
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

import httpx
import uvicorn
from starlette.types import ASGIApp

from ..logs import uvicorn_log_config
from .app import ClusterdConfig, create_app
from .shutdown import GracefulServer

__all__ = ["serve", "up", "uvicorn_config"]

log = logging.getLogger("elektra_web.clusterd")


def uvicorn_config(
    app: ASGIApp, host: str, port: int, log_level: str, log_format: str = "text"
) -> uvicorn.Config:
    """How clusterd is served (``scripts/bench-graphql`` serves its baseline
    the same way)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=uvicorn_log_config(log_format),
        # A line per request only where the operator asked for info: writing
        # it costs every request, and "warning" means quiet.
        access_log=log_level in ("debug", "info"),
        lifespan="on",
        timeout_graceful_shutdown=5,
        # Compression costs a lot of memory per websocket (uvicorn#1862).
        ws_per_message_deflate=False,
        # A GraphQL message is small; a huge one is an attack.
        ws_max_size=1024 * 1024,
    )


def serve(
    config: ClusterdConfig,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    log_format: str = "text",
) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit status."""
    _raise_file_limit()
    app = create_app(config)
    # Stops as shutdown.py describes: websockets "going away", leases handed over, status 0.
    server = GracefulServer(uvicorn_config(app, host, port, log_level, log_format), app)
    log.info("clusterd: http://%s:%d/graphql", _url_host(host), port)
    server.run()
    return 0 if server.started else 1


def up(
    config: ClusterdConfig,
    host: str,
    port: int,
    elektrad_args: Sequence[str],
    elektrad_port: int,
    *,
    log_level: str = "info",
    log_format: str = "text",
) -> int:
    """Start this machine's elektrad (a child process) and clusterd, register
    the elektrad on first start, serve until Ctrl-C, then stop both."""
    elektrad_url = f"http://127.0.0.1:{elektrad_port}"
    # The child runs with up's settings only: elektrad's own variables (a
    # token, another host) are for an elektrad started by itself.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ELEKTRA_WEB_ELEKTRAD_") and name != "ELEKTRAD_TOKEN"
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "elektra_web.elektrad", "--log-level", log_level,
         "--log-format", log_format, "--port", str(elektrad_port), *elektrad_args],
        env=env,
    )  # fmt: skip
    try:
        if not _wait_for(elektrad_url + "/readyz", child):
            log.error("elektrad did not get ready (see its messages above)")
            return 1
        config.register = [*config.register, (socket.gethostname(), elektrad_url)]
        url = f"http://{_url_host(host)}:{port}/"

        def first_admin(secret: str) -> None:
            # In the fragment, which browsers never send to a server or log.
            print(
                f"\n  Sign in as the first admin (this link is shown only once):\n"
                f"  {url}#token={secret}\n",
                flush=True,
            )

        config.on_first_admin = first_admin
        # Said once clusterd answers its /readyz, not before: then it is up.
        stopped = threading.Event()
        threading.Thread(
            target=_announce_when_ready,
            args=(f"{_local_url(host, port)}/readyz", url, stopped),
            daemon=True,
        ).start()
        try:
            return serve(config, host, port, log_level=log_level, log_format=log_format)
        finally:
            stopped.set()
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()


def _raise_file_limit() -> None:
    """clusterd holds a socket per followed instance and per subscriber: a
    thousand of each is past the usual soft limit of 1024 open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _wait_for(url: str, child: subprocess.Popen[bytes], seconds: float = 30) -> bool:
    """Whether ``url`` (a /readyz) answers 200 within ``seconds``, while ``child`` runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return False


def _announce_when_ready(readyz: str, url: str, stopped: threading.Event) -> None:
    """Print that Elektra Web is up once ``readyz`` answers 200 (unless it stopped)."""
    while not stopped.wait(0.1):
        try:
            if httpx.get(readyz, timeout=1).status_code != 200:
                continue
        except httpx.TransportError:
            continue
        print(
            f"\n  Elektra Web is up: {url}\n"
            "  Sign in with an API token; 'elektra-web token create --role admin' makes one.\n",
            flush=True,
        )
        return


def _local_url(host: str, port: int) -> str:
    """clusterd's address as seen from this machine."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "localhost"
    return f"[{host}]" if ":" in host else host
