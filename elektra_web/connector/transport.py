"""An httpx transport with one small connection pool per origin.

httpcore's pool looks at every pooled connection on each request
(encode/httpx#3215): with a thousand instances in one shared pool, every call
costs O(thousand). :class:`PerOriginTransport` keeps one
:class:`httpx.AsyncHTTPTransport` per origin (scheme, host, port) instead, each
with a few connections, so a request only looks at its own origin's. Origins
get their pool on first use; beyond ``max_origins`` the least recently used
idle one is closed, so an ever-changing set of hosts cannot grow it without
bound.

Like every transport it sends exactly one request: it never follows redirects
(a 3xx is the answer), which is what clusterd wants (an elektrad never
redirects; following would be an SSRF risk). Given a ``network_backend``
(clusterd passes :class:`~.hosts.CheckedBackend`), every connection its pools
open goes through it.
"""

from __future__ import annotations

import contextlib
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

import httpcore
import httpx

__all__ = ["DEFAULT_ORIGIN_LIMITS", "PerOriginTransport"]

#: Per origin: a few keep-alive connections (one elektrad rarely has more than
#: a few calls in flight from one clusterd), more if that many are busy at once.
DEFAULT_ORIGIN_LIMITS = httpx.Limits(
    max_connections=64, max_keepalive_connections=4, keepalive_expiry=3.0
)

_Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


class PerOriginTransport(httpx.AsyncBaseTransport):
    """Sends each request through its origin's own :class:`httpx.AsyncHTTPTransport`.

    ``limits`` apply to each origin's pool (not to the total); ``verify`` is
    one TLS context shared by all pools (built once: a context per origin
    would load the CA bundle a thousand times). At most ``max_origins`` idle
    pools are kept; a pool with a request in flight (until its response is
    closed) is never closed, so the bound may be exceeded while they are busy.
    ``network_backend`` opens every connection (httpcore's own by default).
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits = DEFAULT_ORIGIN_LIMITS,
        max_origins: int = 10_000,
        verify: ssl.SSLContext | bool = True,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        if max_origins < 1:
            raise ValueError(f"max_origins must be at least 1, not {max_origins}")
        self.limits = limits
        self.max_origins = max_origins
        self._ssl_context = (
            verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        )
        # Least recently used first.
        self._pools: OrderedDict[_Origin, httpx.AsyncHTTPTransport] = OrderedDict()
        self._busy: dict[_Origin, int] = {}
        self._network_backend = network_backend
        self._closed = False

    @property
    def origins(self) -> list[_Origin]:
        """The origins that have a pool now, least recently used first."""
        return list(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        origin = _origin_of(request.url)
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = self._new_pool()
        self._pools.move_to_end(origin)
        self._busy[origin] = self._busy.get(origin, 0) + 1
        try:
            await self._evict()
            response = await pool.handle_async_request(request)
        except BaseException:
            self._release(origin)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Tracked(response.stream, lambda: self._release(origin))
        return response

    def _new_pool(self) -> httpx.AsyncHTTPTransport:
        pool = httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=self.limits)
        if self._network_backend is not None:
            # httpx takes no network backend: the connection pool it has just
            # made (unused, nothing to close), made again with ours.
            pool._pool = httpcore.AsyncConnectionPool(
                ssl_context=self._ssl_context,
                max_connections=self.limits.max_connections,
                max_keepalive_connections=self.limits.max_keepalive_connections,
                keepalive_expiry=self.limits.keepalive_expiry,
                network_backend=self._network_backend,
            )
        return pool

    async def aclose(self) -> None:
        """Close every pool (and their connections); no request may follow."""
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        for pool in pools:
            await pool.aclose()

    def _release(self, origin: _Origin) -> None:
        left = self._busy[origin] - 1
        if left:
            self._busy[origin] = left
        else:
            del self._busy[origin]

    async def _evict(self) -> None:
        """Close least recently used idle pools while there are too many."""
        while len(self._pools) > self.max_origins:
            idle = next((o for o in self._pools if o not in self._busy), None)
            if idle is None:
                return  # all busy: close some later, once they are idle
            # Out of the map before awaiting, so no request picks it up; a
            # failure to close another origin's pool is not this request's.
            with contextlib.suppress(Exception):
                await self._pools.pop(idle).aclose()


def _origin_of(url: httpx.URL) -> _Origin:
    port = url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme, 0)
    return url.scheme, url.host, port


class _Tracked(httpx.AsyncByteStream):
    """A response body that calls ``done`` once when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._stream = stream
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()
