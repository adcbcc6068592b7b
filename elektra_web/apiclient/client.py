"""Queries and mutations over HTTP, and where clusterd's endpoints are."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx

from .errors import BadCredentials, ClientError, ConnectionLost, graphql_error, why
from .subscription import Subscription

__all__ = ["ClusterdClient", "endpoints", "query_sync"]


def endpoints(url: str) -> tuple[str, str]:
    """The HTTP and websocket URLs of ``/graphql`` below clusterd's base URL
    (``http://host:port``, maybe with a path; ``/graphql`` itself is accepted)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/graphql"):
        path += "/graphql"
    http = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    ws = urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, path, "", ""))
    return http, ws


class ClusterdClient:
    """clusterd's API at base URL ``url``, as ``token`` (sent as a bearer token
    when given). ``http``: an httpx client to use (and not close), e.g. with a
    mock transport; otherwise one is made and closed by ``aclose()``."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        http: httpx.AsyncClient | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.http_url, self.ws_url = endpoints(url)
        self._token = token
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=connect_timeout))
        self._connect_timeout = connect_timeout

    @property
    def has_token(self) -> bool:
        """Whether requests carry a token."""
        return self._token is not None

    async def query(self, document: str, /, **variables: Any) -> dict[str, Any]:
        """Run a query or mutation; its ``data``. Raises ``ApiError`` if the
        response has errors (partial data is on the exception)."""
        try:
            response = await self._http.post(
                self.http_url,
                json={"query": document, "variables": variables},
                headers=self._headers,
            )
        except httpx.TransportError as exc:
            raise ConnectionLost(f"cannot reach clusterd at {self.url}: {why(exc)}") from exc
        return _data(response)

    def subscription(self, document: str, /, **variables: Any) -> Subscription:
        """A subscription, not yet started: ``async with`` it (connects, waits
        for the server's ack, subscribes) and iterate over it."""
        init: dict[str, Any] = {"token": self._token} if self._token else {}
        return Subscription(
            self.ws_url,
            {"query": document, "variables": variables},
            headers=self._headers,
            init_payload=init,
            timeout=self._connect_timeout,
        )

    async def subscribe(
        self, document: str, /, **variables: Any
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The ``data`` of each event of a subscription; ends when the server
        completes it. Stopping the iteration (``break``, or ``aclose()`` of
        the iterator) unsubscribes and closes the websocket."""
        async with self.subscription(document, **variables) as events:
            async for data in events:
                yield data

    async def aclose(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def query_sync(
    url: str, document: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    """``ClusterdClient.query`` for scripts without an event loop."""
    http_url, _ = endpoints(url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(timeout=30.0) as http:
            response = http.post(
                http_url, json={"query": document, "variables": variables}, headers=headers
            )
    except httpx.TransportError as exc:
        raise ConnectionLost(f"cannot reach clusterd at {url}: {why(exc)}") from exc
    return _data(response)


def _data(response: httpx.Response) -> dict[str, Any]:
    """The data of a GraphQL response, or the error it is."""
    status = response.status_code
    if status in (502, 503, 504):
        raise ConnectionLost(f"clusterd is unavailable (HTTP {status})")
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        raise graphql_error(errors, body.get("data"))
    if status in (401, 403):
        code = "UNAUTHENTICATED" if status == 401 else "FORBIDDEN"
        raise BadCredentials(code, f"clusterd refused the request (HTTP {status})")
    if status >= 400 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ClientError(f"not a GraphQL response from {response.url}: HTTP {status}")
    data: dict[str, Any] = body["data"]
    return data
