"""Roles and the check every resolver makes before it acts.

Who the caller is gets decided in one place, ``clusterd.auth.authenticate``;
what a role may do, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..exceptions import Forbidden, Unauthenticated

__all__ = ["ANONYMOUS", "SYSTEM", "Caller", "Role"]


class Role(IntEnum):
    """Roles in increasing power: each may do what the ones below may."""

    VIEWER = 1  # read and subscribe
    EDITOR = 2  # also write configuration
    ADMIN = 3  # also manage instances, clusters and tokens


@dataclass(frozen=True)
class Caller:
    """Who calls: a token's holder, clusterd itself, or nobody yet
    (``role`` None: a websocket before its ``connection_init``)."""

    name: str
    role: Role | None
    #: The token the caller signed in with (None: not a token).
    token_id: int | None = None

    def require(self, role: Role) -> None:
        """Refuse with UNAUTHENTICATED when nobody signed in, with FORBIDDEN
        unless the caller has at least ``role``."""
        if self.role is None:
            raise Unauthenticated("sign in with a token first")
        if self.role < role:
            raise Forbidden(
                f"{self.name} is a {self.role.name.lower()}; this needs {role.name.lower()}"
            )


#: Nobody: what a connection is before it has shown a token.
ANONYMOUS = Caller("anonymous", None)

#: clusterd acting on its own (start-up registration, background work).
SYSTEM = Caller("clusterd", Role.ADMIN)
