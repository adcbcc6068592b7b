"""Who is signed in with which token, in this process: the open websockets, and
the callers of recent requests (by the digest of their secret). Revoking a token
ends both at once, in this process and (by a periodic sweep) in the others; the
sweep also ends the tokens that expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
import weakref
from collections import OrderedDict
from typing import Protocol

from ..models import Token

__all__ = ["CLOSE_REVOKED", "Sessions"]

log = logging.getLogger("elektra_web.clusterd")

#: graphql-transport-ws closes a refused connection with 4403 Forbidden.
CLOSE_REVOKED = 4403
#: Tokens whose callers are kept (least recently used out first).
MAX_CALLERS = 1000
#: Seconds a kept caller is trusted without looking at the database: a backstop
#: should a sweep fail; the sweeps forget a revoked token's callers sooner.
CALLER_TTL = 10.0


class Closable(Protocol):
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Sessions:
    def __init__(self, *, max_callers: int = MAX_CALLERS, caller_ttl: float = CALLER_TTL) -> None:
        # Weak: a socket that closed on its own leaves by itself.
        self._open: dict[int, weakref.WeakSet[Closable]] = {}
        # digest -> (token id, caller, when it was looked up): so that a request
        # signs in without a query (resolvers.tokens.authenticate_secret).
        self._callers: OrderedDict[str, tuple[int, object, float]] = OrderedDict()
        self._max_callers = max_callers
        self._caller_ttl = caller_ttl
        # Counts the tokens ended: a caller looked up before an end may be of
        # the token that ended, and is not kept (``remember``).
        self._ends = 0

    def add(self, token_id: int, socket: Closable) -> None:
        self._open.setdefault(token_id, weakref.WeakSet()).add(socket)

    # -- callers of recent requests ------------------------------------------

    @property
    def epoch(self) -> int:
        """Take before looking a token up, give to ``remember`` after."""
        return self._ends

    def recall(self, digest: str) -> object | None:
        """The caller kept for a secret's digest, if any and still fresh."""
        entry = self._callers.get(digest)
        if entry is None:
            return None
        if time.monotonic() - entry[2] > self._caller_ttl:
            del self._callers[digest]
            return None
        self._callers.move_to_end(digest)
        return entry[1]

    def remember(self, digest: str, token_id: int, caller: object, epoch: int) -> None:
        """Keep the caller a token signs in, looked up (valid) since ``epoch``."""
        if epoch != self._ends:
            return  # a token ended meanwhile: perhaps this one, from a stale read
        self._callers[digest] = (token_id, caller, time.monotonic())
        self._callers.move_to_end(digest)
        while len(self._callers) > self._max_callers:
            self._callers.popitem(last=False)

    def _forget(self, token_id: int) -> None:
        self._ends += 1
        for digest in [d for d, entry in self._callers.items() if entry[0] == token_id]:
            del self._callers[digest]

    # -- revocation ----------------------------------------------------------

    async def end(self, token_id: int, reason: str = "token revoked") -> None:
        """Forget a token's callers (its next request is looked up, and refused)
        and close every open websocket of it with 4403 and ``reason``."""
        self._forget(token_id)
        sockets = list(self._open.pop(token_id, ()))
        for socket in sockets:
            # It may have closed meanwhile (closing twice, or its client gone:
            # WebSocketDisconnect), which must not keep the others open.
            with contextlib.suppress(Exception):
                await socket.close(code=CLOSE_REVOKED, reason=reason)
        if sockets:
            log.info("closed %d websocket(s) of token %d (%s)", len(sockets), token_id, reason)

    async def close_all(self, code: int, reason: str) -> int:
        """Close every open websocket and subscription stream (clusterd is
        stopping); how many."""
        sockets = [socket for group in self._open.values() for socket in group]
        self._open.clear()
        for socket in sockets:
            # Its client may be gone already (starlette raises WebSocketDisconnect,
            # uvicorn ClientDisconnected): nothing left to close, go on with the rest.
            with contextlib.suppress(Exception):
                await socket.close(code=code, reason=reason)
        return len(sockets)

    async def sweep(self) -> None:
        """End the tokens revoked (or deleted) elsewhere: by another replica, the
        command line, or in the database itself; and those that expired."""
        ids = {token_id for token_id, sockets in self._open.items() if sockets}
        ids.update(token_id for token_id, _, _ in self._callers.values())
        if not ids:
            return
        now = datetime.datetime.now(datetime.UTC)
        rows = await Token.filter(id__in=ids).values_list("id", "revoked_at", "expires_at")
        found: set[int] = set()
        for token_id, revoked_at, expires_at in rows:
            found.add(token_id)
            if revoked_at is not None:
                await self.end(token_id)
            elif expires_at is not None and expires_at <= now:
                await self.end(token_id, "token expired")
        for token_id in ids.difference(found):
            await self.end(token_id)

    async def sweep_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:  # a database hiccup must not end the sweeps
                log.exception("sweeping revoked tokens failed")
