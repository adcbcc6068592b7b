"""Running clusterd under uvicorn, alone or together with a local elektrad."""

from __future__ import annotations

import asyncio
import errno
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

from ..exceptions import CannotListen
from ..logs import quiet_uvicorn, uvicorn_log_config
from .app import ClusterdConfig, create_app
from .shutdown import GracefulServer
from .transport_ws import ClusterdWebSocketProtocol

__all__ = ["WS_PROTOCOL", "check_port_free", "listen", "serve", "up", "uvicorn_config"]

log = logging.getLogger("elektra_web.clusterd")

#: uvicorn's websocket implementation: its websockets-sansio, leaner per
#: connection (``transport_ws``). ``scripts/bench-subscriptions --ws`` compares
#: it with uvicorn's own (websockets-sansio, websockets, wsproto).
WS_PROTOCOL: type[asyncio.Protocol] = ClusterdWebSocketProtocol


def uvicorn_config(
    app: ASGIApp, host: str, port: int, log_level: str, log_format: str = "text"
) -> uvicorn.Config:
    """How clusterd is served (``scripts/bench-graphql`` serves its baseline
    the same way)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=uvicorn_log_config(log_format),
        # A line per request only where the operator asked for everything
        # (debug): writing it costs every request, and most requests are
        # reads, health checks and page loads, which drowned the rest.
        access_log=log_level == "debug",
        lifespan="on",
        timeout_graceful_shutdown=5,
        ws=WS_PROTOCOL,
        # Compression costs a lot of memory per websocket (uvicorn#1862).
        ws_per_message_deflate=False,
        # A GraphQL message is small; a huge one is an attack.
        ws_max_size=1024 * 1024,
    )
    quiet_uvicorn()  # after Config(), which configures uvicorn's loggers
    return config


def serve(
    config: ClusterdConfig,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    log_format: str = "text",
    sockets: list[socket.socket] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit status.

    The port is taken before anything else happens (the database, a first
    token): a port in use is refused at once, with status 1. ``sockets``:
    listening sockets taken already (``up``)."""
    if sockets is None:
        try:
            sockets = [listen(host, port, "--port")]
        except CannotListen as exc:
            log.error("%s", exc)
            return 1
    _raise_file_limit()
    app = create_app(config)
    # Stops as shutdown.py describes: websockets "going away", leases handed over, status 0.
    server = GracefulServer(uvicorn_config(app, host, port, log_level, log_format), app)
    log.info("clusterd: http://%s:%d/graphql", _url_host(host), port)
    try:
        server.run(sockets)
    finally:
        for sock in sockets:
            sock.close()
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
    the elektrad on first start, serve until Ctrl-C, then stop both.

    Both ports are checked first: with either in use (another Elektra Web
    runs), ``up`` says so and returns 1 before it starts anything, creates
    a token or registers an elektrad (which would have been the other
    installation's). The sign-in link is the last thing it prints."""
    if port == elektrad_port:
        print(
            f"elektra-web up: --port and --elektrad-port are both {port}: clusterd and "
            "elektrad need one each",
            file=sys.stderr,
        )
        return 1
    problems: list[str] = []
    sockets: list[socket.socket] = []
    try:
        # Held from now on and handed to uvicorn: nobody can take it in between.
        sockets.append(listen(host, port, "--port"))
    except CannotListen as exc:
        problems.append(str(exc))
    try:
        check_port_free("127.0.0.1", elektrad_port, "--elektrad-port")
    except CannotListen as exc:
        problems.append(str(exc))
    if problems:
        for sock in sockets:
            sock.close()
        for problem in problems:
            print(f"elektra-web up: {problem}", file=sys.stderr)
        print(
            "elektra-web up: nothing was started (is Elektra Web running already?)", file=sys.stderr
        )
        return 1
    try:
        return _up(
            config, host, port, sockets, elektrad_args, elektrad_port,
            log_level=log_level, log_format=log_format,
        )  # fmt: skip
    finally:
        for sock in sockets:
            sock.close()


def _up(
    config: ClusterdConfig,
    host: str,
    port: int,
    sockets: list[socket.socket],
    elektrad_args: Sequence[str],
    elektrad_port: int,
    *,
    log_level: str,
    log_format: str,
) -> int:
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
        first_admin: list[str] = []
        # Kept until clusterd is ready, then printed last (see _announce_when_ready).
        config.on_first_admin = first_admin.append
        # Said once clusterd answers its /readyz, not before: then it is up.
        stopped = threading.Event()
        threading.Thread(
            target=_announce_when_ready,
            args=(f"{_local_url(host, port)}/readyz", url, first_admin, stopped),
            daemon=True,
        ).start()
        try:
            return serve(
                config, host, port, log_level=log_level, log_format=log_format, sockets=sockets
            )
        finally:
            stopped.set()
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()


def listen(host: str, port: int, flag: str) -> socket.socket:
    """A socket bound to ``host``:``port`` as uvicorn binds its own (not yet
    listening: uvicorn does that); :class:`CannotListen` naming ``flag``, the
    option that picks another port, if the port is in use."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As uvicorn: a port whose last connections linger in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(f"port {port} is in use; use {flag} to pick another") from exc
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def check_port_free(host: str, port: int, flag: str) -> None:
    """:class:`CannotListen` (naming ``flag``) unless ``host``:``port`` can be listened on."""
    listen(host, port, flag).close()


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


def _announce_when_ready(
    readyz: str, url: str, first_admin: list[str], stopped: threading.Event
) -> None:
    """Once ``readyz`` answers 200 (unless it stopped), print that Elektra
    Web is up and, last, the first admin's sign-in link if this start made
    one (``first_admin``: its secret), else how to make a token."""
    while not stopped.wait(0.1):
        try:
            if httpx.get(readyz, timeout=1).status_code != 200:
                continue
        except httpx.TransportError:
            continue
        if first_admin:
            # In the fragment, which browsers never send to a server or log.
            sign_in = (
                "  Sign in as the first admin (this link is shown only once):\n"
                f"  {url}#token={first_admin[0]}\n"
            )
        else:
            sign_in = (
                "  Sign in with an API token; 'elektra-web token create --role admin' makes one.\n"
            )
        print(f"\n  Elektra Web is up: {url}\n{sign_in}", flush=True)
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
