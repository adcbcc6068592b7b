"""The exceptions of the API client (the hierarchy is in the package's
docstring) and how GraphQL errors become them."""

from __future__ import annotations

from typing import Any

__all__ = [
    "GRAPHQL_ERROR",
    "ApiError",
    "BadCredentials",
    "ClientError",
    "ConnectionLost",
    "graphql_error",
    "why",
]

#: ``ApiError.code`` of an error without ``extensions.code`` (e.g. a query that
#: does not validate against the schema).
GRAPHQL_ERROR = "GRAPHQL_ERROR"
_CREDENTIAL_CODES = {"UNAUTHENTICATED", "FORBIDDEN"}


class ClientError(Exception):
    """Anything that went wrong talking to clusterd."""


class ApiError(ClientError):
    """clusterd answered with a GraphQL error (the first one, if several)."""

    def __init__(
        self,
        code: str,
        message: str,
        path: list[str | int] | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message
        self.path = path
        #: Every error of the response, as clusterd sent them.
        self.errors = errors or []
        #: What the response had besides the errors (partial results), if anything.
        self.data = data


class ConnectionLost(ClientError):
    """clusterd could not be reached or the connection broke."""

    def __init__(self, message: str, *, close_code: int | None = None) -> None:
        super().__init__(message)
        #: The websocket close code, when there was a websocket.
        self.close_code = close_code


class BadCredentials(ClientError):
    """clusterd refused the caller: ``code`` is UNAUTHENTICATED (no token or a
    wrong one) or FORBIDDEN (a token that may not do this)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message


def graphql_error(errors: Any, data: Any) -> ClientError:
    """The exception for the ``errors`` of a response (its first error) with its ``data``."""
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ClientError(f"malformed GraphQL errors: {errors!r:.200}")
    first: dict[str, Any] = errors[0]
    extensions = first.get("extensions") or {}
    code = str(extensions.get("code") or GRAPHQL_ERROR)
    message = str(first.get("message", ""))
    if code in _CREDENTIAL_CODES:
        return BadCredentials(code, message)
    path = first.get("path")
    return ApiError(
        code,
        message,
        path if isinstance(path, list) else None,
        errors=errors,
        data=data if isinstance(data, dict) else None,
    )


def why(exc: BaseException) -> str:
    """What went wrong, for a message."""
    # httpx's ConnectError and some OSErrors have an empty str().
    return str(exc) or type(exc).__name__
