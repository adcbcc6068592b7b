"""Stopping clusterd gracefully, on SIGTERM (or Ctrl-C).

uvicorn alone would stop accepting, close websockets with 1012 ("service
restart"), give requests in flight ``timeout_graceful_shutdown`` to finish,
run the lifespan's end, and then raise the signal again, so that the process
died of it (status 143, or a KeyboardInterrupt trace). :class:`GracefulServer`
stops in this order instead:

1. the listening sockets close first: a load balancer's new connections go to
   another replica, and a client sent away below cannot come back here;
2. :func:`going_away`: writes in flight stop waiting for their landings and
   answer with what has landed (the rest is PENDING and goes on, see 4); every
   signed-in websocket is closed with 1001 "going away" and every subscription
   streamed over HTTP ends with an ``UNAVAILABLE`` error, so clients reconnect
   (to another replica);
3. uvicorn's shutdown: idle keep-alive connections close, requests in flight
   finish (a request that arrived before the sockets closed is served; no new
   one is taken);
4. the lifespan stops the engine: the sender's rounds in flight get a moment to
   finish, then this replica's leases (sender, follower) are released and a
   ``Handover`` event tells the other replicas to send and follow at once, not
   after the leases would have run out;
5. the process exits with status 0.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from ..engine.services import Services
from .graphql_http import GOING_AWAY

__all__ = ["CLOSE_GOING_AWAY", "GracefulServer", "going_away"]

log = logging.getLogger("elektra_web.clusterd")

#: The websocket close code of an endpoint that goes away (RFC 6455).
CLOSE_GOING_AWAY = GOING_AWAY


async def going_away(services: Services) -> None:
    """Tell this replica's clients it stops: writes answer now, websockets
    and subscription streams end with "going away"."""
    services.stopping.set()
    closed = await services.sessions.close_all(CLOSE_GOING_AWAY, "clusterd is shutting down")
    if closed:
        log.info("closed %d websocket(s) and stream(s): going away", closed)


class GracefulServer(uvicorn.Server):
    """uvicorn's server, stopping as this module describes, for ``app``
    (clusterd's, whose lifespan puts its services on ``app.state``)."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self._app = app

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        if threading.current_thread() is not threading.main_thread():
            super().run(sockets)
            return

        # uvicorn raises a signal again once it has stopped, to the handler
        # that was there before it: this one, which only asks it to stop (a
        # signal before uvicorn listens stops it too), so the process exits
        # normally after a graceful stop.
        def stop(signum: int, frame: FrameType | None) -> None:
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            super().run(sockets)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in getattr(self, "servers", ()):
            server.close()
        services: Services | None = getattr(self._app.state, "services", None)
        if services is not None:
            try:
                await going_away(services)
            except Exception:  # stopping goes on: uvicorn closes what is left
                log.exception("telling the clients that clusterd stops failed")
        await super().shutdown(sockets)
