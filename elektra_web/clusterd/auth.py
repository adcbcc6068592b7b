"""Who is calling: decided here and nowhere else.

Every request to ``/graphql`` shows an API token (``resolvers.tokens``):

- over HTTP as ``Authorization: Bearer SECRET``; without a valid one the
  answer is 401 with a GraphQL-shaped error (only the GraphiQL page itself,
  a GET asking for HTML, is served without one);
- over a websocket in the ``connection_init`` payload, as ``{"token":
  SECRET}`` (``{"Authorization": "Bearer SECRET"}`` and the upgrade request's
  header are accepted too, for clients that send those). A socket without a
  valid token is closed with 4403 before any subscription can start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import Scope

from ..exceptions import Unauthenticated
from ..resolvers.auth import Caller
from ..resolvers.tokens import authenticate_secret

__all__ = ["authenticate", "is_ide_page", "secret_from_init", "unauthenticated"]


def _bearer(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    scheme, _, secret = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


async def authenticate(connection: HTTPConnection) -> Caller:
    """The caller of an HTTP request, from its ``Authorization`` header.

    A token that signed in recently signs in again without a query: the app's
    ``Sessions`` (``app.state.services``, set by the lifespan) keeps its caller
    until it is revoked (``events/sessions.py``)."""
    secret = _bearer(connection.headers.get("authorization"))
    if secret is None:
        raise Unauthenticated("send an API token: 'Authorization: Bearer TOKEN'")
    services = getattr(getattr(connection.scope.get("app"), "state", None), "services", None)
    return await authenticate_secret(secret, services.sessions if services else None)


def secret_from_init(params: object, connection: HTTPConnection) -> str | None:
    """The token of a websocket: from its ``connection_init`` payload, else
    from the upgrade request's header."""
    if isinstance(params, Mapping):
        if isinstance(params.get("token"), str):
            token: str = params["token"]
            return token
        for name in ("Authorization", "authorization"):
            if (secret := _bearer(params.get(name))) is not None:
                return secret
    return _bearer(connection.headers.get("authorization"))


def is_ide_page(scope: Scope) -> bool:
    """A browser asking for the GraphiQL page (which runs nothing by itself)."""
    if scope["method"] != "GET" or b"query=" in scope.get("query_string", b""):
        return False
    return "text/html" in Headers(scope=scope).get("accept", "")


def unauthenticated(exc: Unauthenticated) -> JSONResponse:
    body: dict[str, Any] = {"errors": [{"message": exc.message, "extensions": exc.extensions}]}
    return JSONResponse(
        body, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="clusterd"'}
    )
