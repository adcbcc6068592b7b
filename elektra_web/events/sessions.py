"""Open websockets by the token that opened them, so that revoking a token
ends them at once, in this process and (by a periodic sweep) in the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Protocol

from ..models import Token

__all__ = ["CLOSE_REVOKED", "Sessions"]

log = logging.getLogger("elektra_web.clusterd")

#: graphql-transport-ws closes a refused connection with 4403 Forbidden.
CLOSE_REVOKED = 4403


class Closable(Protocol):
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Sessions:
    def __init__(self) -> None:
        # Weak: a socket that closed on its own leaves by itself.
        self._open: dict[int, weakref.WeakSet[Closable]] = {}

    def add(self, token_id: int, socket: Closable) -> None:
        self._open.setdefault(token_id, weakref.WeakSet()).add(socket)

    async def end(self, token_id: int) -> None:
        """Close every open websocket of a token."""
        sockets = list(self._open.pop(token_id, ()))
        for socket in sockets:
            # It may have closed meanwhile; closing twice is not an error here.
            with contextlib.suppress(RuntimeError, OSError):
                await socket.close(code=CLOSE_REVOKED, reason="token revoked")
        if sockets:
            log.info("closed %d websocket(s) of revoked token %d", len(sockets), token_id)

    async def sweep(self) -> None:
        """End the sockets of tokens revoked elsewhere (another replica, the
        command line)."""
        ids = [token_id for token_id, sockets in self._open.items() if sockets]
        if not ids:
            return
        revoked = Token.filter(id__in=ids, revoked_at__not_isnull=True)
        for token in await revoked.only("id"):
            await self.end(token.id)

    async def sweep_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:  # a database hiccup must not end the sweeps
                log.exception("sweeping revoked tokens' websockets failed")
