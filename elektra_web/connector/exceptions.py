"""Errors of the connector, the part of clusterd that talks to elektrads.

Nothing from httpx leaves the connector: transport errors are translated where
they occur (:mod:`.client`) with ``raise ... from exc``, so callers handle one
small hierarchy and still see the original cause in a debugger or log.

    ConnectorError            anything the connector refuses or cannot do
    ├── InstanceUnreachable   no usable answer: connect error, timeout, 5xx,
    │                         an answer over the size limit, or a response
    │                         that is not the elektrad API (not JSON, wrong
    │                         shape, unexpected status)
    ├── InstanceRefused       the elektrad answered 4xx with {"name", "message"}
    │   │                     (keeps status, name and message)
    │   └── StaleWrite        412 {"name": "Stale"}: a fenced write (X-Fence)
    │                         older than what the key already has
    └── InvalidHost           a URL clusterd may not use for an instance

Messages name the instance URL and the cause in one line, never a traceback
and never the bearer token, because they end up in GraphQL errors.
"""

from __future__ import annotations

__all__ = [
    "ConnectorError",
    "InstanceRefused",
    "InstanceUnreachable",
    "InvalidHost",
    "StaleWrite",
]


class ConnectorError(Exception):
    """Base class of every error the connector raises."""


class InstanceUnreachable(ConnectorError):
    """The elektrad at ``url`` gave no usable answer; ``cause`` says why.

    Retrying later may help (the instance may be down or overloaded), which is
    what separates this from :class:`InstanceRefused`.
    """

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"elektrad at {url} is unreachable: {cause}")
        self.url = url
        self.cause = cause


class InstanceRefused(ConnectorError):
    """The elektrad at ``url`` refused the request with a 4xx and an API error.

    ``name`` is elektrad's error name (``"ValidationError"``, ``"NotFound"``,
    ...) and ``message`` its explanation; both are meant for the user.
    Retrying the same request will be refused again.
    """

    def __init__(self, url: str, status: int, name: str, message: str) -> None:
        super().__init__(f"elektrad at {url} refused the request ({status} {name}): {message}")
        self.url = url
        self.status = status
        self.name = name
        self.message = message


class StaleWrite(InstanceRefused):
    """The elektrad refused a fenced write as stale (412 ``Stale``).

    The client's ``fence`` (``X-Fence: <source>/<revision>``) is older than
    the fence the key was last written with: a newer write from the same
    source has landed already, so this one must not overwrite it. Retrying
    it is pointless; the newer value stands.
    """


class InvalidHost(ConnectorError):
    """``url`` cannot be an instance address; ``reason`` says why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"invalid instance URL {url!r}: {reason}")
        self.url = url
        self.reason = reason
