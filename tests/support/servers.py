"""Real servers for tests: any ASGI app under uvicorn, in a thread of the test
process, on a loopback port."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp


@contextmanager
def serve_in_thread(app: ASGIApp, port: int = 0, **options: Any) -> Iterator[str]:
    """Serve ``app`` on ``port`` (0: a free one) of 127.0.0.1 until the block
    ends; yields the base URL. ``options`` go to ``uvicorn.Config``."""
    settings: dict[str, Any] = {
        "log_level": "warning",
        # A long poll or a sleeping handler must not hold up the end of a test.
        "timeout_graceful_shutdown": 0.5,
        **options,
    }
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **settings))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(15)
