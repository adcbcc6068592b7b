"""What both daemons share for monitoring: a Prometheus registry of their own, its text
exposition, the health answers, and the event-loop lag probe.

Each app gets its own :class:`~prometheus_client.CollectorRegistry` (never the
library's global one): the tests serve several daemons from one process, and a
daemon's numbers must be its own. Health answers reveal nothing but the status:
``/healthz`` says ``ok`` while the process serves; ``/readyz`` is 200 or 503 with
the names of its checks and ``ok`` or ``fail`` for each, no details.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Mapping

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

__all__ = [
    "HEALTH_PATHS",
    "LOOP_LAG_BUCKETS",
    "alive",
    "is_loopback",
    "metrics_response",
    "new_registry",
    "readiness",
    "watch_event_loop",
]

#: Answered without a token by both daemons.
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})

#: Event-loop lag: a healthy loop is late by well under a millisecond.
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

_NO_STORE = {"Cache-Control": "no-store"}
#: The text format every Prometheus (and every other scraper) reads; our names and
#: labels need none of version 1.0.0's escaping, so the bytes are the same.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# A ``_created`` series next to every counter and histogram doubles what a scrape
# carries, and Prometheus does not read them from the text format.
disable_created_metrics()  # type: ignore[no-untyped-call]


def new_registry() -> CollectorRegistry:
    """A registry with the process's own metrics (``process_*``: CPU, memory, open
    files; ``python_*``: the interpreter and its garbage collector), which cost
    nothing until scraped."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def metrics_response(registry: CollectorRegistry) -> Response:
    """The registry in Prometheus's text format (version 0.0.4)."""
    return Response(generate_latest(registry), media_type=CONTENT_TYPE, headers=_NO_STORE)


async def alive(request: Request) -> Response:
    """``GET /healthz``: the process serves requests."""
    return PlainTextResponse("ok\n", headers=_NO_STORE)


def readiness(checks: Mapping[str, bool]) -> Response:
    """``GET /readyz``'s answer: 200 if every check passed, else 503; the body names
    each check and says ``ok`` or ``fail``, nothing more."""
    ready = all(checks.values())
    body = {
        "status": "ok" if ready else "fail",
        "checks": {name: "ok" if passed else "fail" for name, passed in checks.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503, headers=_NO_STORE)


def is_loopback(host: str | None) -> bool:
    """Whether a client's address is this machine's (127.0.0.0/8, ::1)."""
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def watch_event_loop(observe: Callable[[float], None], interval: float = 0.5) -> None:
    """Forever: sleep ``interval`` and ``observe`` how much later than asked the
    loop woke up. A loop busy with one long step (a blocking call, a huge
    answer) wakes late, and every request waits that long too."""
    loop = asyncio.get_running_loop()
    while True:
        began = loop.time()
        await asyncio.sleep(interval)
        observe(max(0.0, loop.time() - began - interval))
