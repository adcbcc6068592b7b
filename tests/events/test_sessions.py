"""The callers ``Sessions`` keeps between requests (no database: ``end`` and
the bookkeeping only; the sweep is tested through clusterd in test_auth.py)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.websockets import WebSocketDisconnect

from elektra_web.events.sessions import Sessions

pytestmark = pytest.mark.anyio


async def test_ending_a_token_forgets_its_callers_and_no_one_else() -> None:
    sessions = Sessions()
    sessions.remember("a1", 1, "caller 1", sessions.epoch)
    sessions.remember("a2", 1, "caller 1 again", sessions.epoch)
    sessions.remember("b", 2, "caller 2", sessions.epoch)
    await sessions.end(1)
    assert (sessions.recall("a1"), sessions.recall("a2")) == (None, None)
    assert sessions.recall("b") == "caller 2"


async def test_a_lookup_that_began_before_an_end_is_not_kept() -> None:
    """A request that read the token before it was revoked must not keep it:
    the next request would be let in until the next sweep."""
    sessions = Sessions()
    epoch = sessions.epoch  # the lookup starts ...
    await sessions.end(1)  # ... the token is revoked meanwhile ...
    sessions.remember("a", 1, "caller 1", epoch)  # ... and the stale read comes back
    assert sessions.recall("a") is None
    sessions.remember("a", 1, "caller 1", sessions.epoch)
    assert sessions.recall("a") == "caller 1"


async def test_callers_are_bounded_and_expire() -> None:
    sessions = Sessions(max_callers=3, caller_ttl=0.2)
    for n in range(5):
        sessions.remember(f"d{n}", n, f"caller {n}", sessions.epoch)
    assert [sessions.recall(f"d{n}") for n in range(5)] == [
        None, None, "caller 2", "caller 3", "caller 4"
    ]  # fmt: skip
    await asyncio.sleep(0.25)
    assert sessions.recall("d4") is None


class Socket:
    """A websocket that records how it was closed. The first of ``peers`` to
    be closed finds its client gone (whichever order the sockets are closed in)."""

    def __init__(self, peers: list[Socket]) -> None:
        self.peers = peers
        self.closed: tuple[int, str | None] | None = None
        self.gone = False
        peers.append(self)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        if not any(p.gone or p.closed for p in self.peers):
            self.gone = True
            raise WebSocketDisconnect(code=1006)  # what starlette raises then
        self.closed = (code, reason)


async def test_closing_all_sockets_goes_on_past_one_whose_client_is_gone() -> None:
    sessions = Sessions()
    sockets: list[Socket] = []
    for token in range(3):
        sessions.add(token % 2, Socket(sockets))
    assert await sessions.close_all(1001, "going away") == 3
    assert sorted(str(s.closed) for s in sockets) == [
        "(1001, 'going away')", "(1001, 'going away')", "None"
    ]  # fmt: skip
    assert await sessions.close_all(1001, "going away") == 0  # forgotten once closed


async def test_ending_a_token_closes_its_sockets_past_one_whose_client_is_gone() -> None:
    sessions = Sessions()
    sockets: list[Socket] = []
    for _ in range(2):
        sessions.add(1, Socket(sockets))
    await sessions.end(1)
    assert [s.closed for s in sockets if not s.gone] == [(4403, "token revoked")]


async def test_ending_an_expired_token_says_so() -> None:
    """The sweep ends an expired token with its own reason (clients tell the
    user why they were signed out)."""
    sessions = Sessions()
    sockets: list[Socket] = []
    for _ in range(2):
        sessions.add(7, Socket(sockets))
    sessions.remember("e", 7, "caller 7", sessions.epoch)
    await sessions.end(7, "token expired")
    assert [s.closed for s in sockets if not s.gone] == [(4403, "token expired")]
    assert sessions.recall("e") is None
