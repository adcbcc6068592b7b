"""Errors of clusterd (its GraphQL API), each with the error code clients see.

Resolvers raise these; graphql-core copies ``extensions`` of the original
error into the GraphQL error, so ``extensions.code`` is set here and nowhere
else. Errors of the connector and the ORM are translated where they are
caught (``raise ... from exc``).

    ClusterdError                 (base)
    ├── BadInput                  BAD_INPUT            malformed or contradictory input
    ├── NotFound                  NOT_FOUND            no such instance / cluster
    ├── InstanceExists            INSTANCE_EXISTS      rule 1
    ├── AlreadyInCluster          ALREADY_IN_CLUSTER   rule 2
    ├── KeyLocked                 KEY_LOCKED           rule 3 (extensions.cluster)
    ├── ClusterCycle              CLUSTER_CYCLE        a cluster cannot be its own ancestor
    ├── InvalidKeyName            INVALID_KEY_NAME
    ├── InvalidHost               INVALID_HOST
    ├── ValidationFailed          VALIDATION_FAILED    check/* metadata refused the value
    ├── InstanceUnreachable       INSTANCE_UNREACHABLE
    ├── SubscriberTooSlow         SUBSCRIBER_TOO_SLOW  a subscription fell too far behind
    ├── Unauthenticated           UNAUTHENTICATED
    └── Forbidden                 FORBIDDEN

Any other exception is a bug: the client sees INTERNAL and an
``extensions.errorId`` that the server's log line of the trace carries too.

The command line's own errors (no API code: their message is printed):

    CannotListen                  a daemon's port is in use (``up``, ``clusterd``)
    NoDatabase                    a ``token`` command's database does not exist
    NotADatabase                  an SQLite file that is no SQLite database
"""

from __future__ import annotations

from typing import Any


class ClusterdError(Exception):
    code = "BAD_INPUT"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": self.code, **extensions}


class BadInput(ClusterdError):
    code = "BAD_INPUT"


class NotFound(ClusterdError):
    code = "NOT_FOUND"


class InstanceExists(ClusterdError):
    code = "INSTANCE_EXISTS"


class AlreadyInCluster(ClusterdError):
    code = "ALREADY_IN_CLUSTER"


class KeyLocked(ClusterdError):
    code = "KEY_LOCKED"


class ClusterCycle(ClusterdError):
    code = "CLUSTER_CYCLE"


class InvalidKeyName(ClusterdError):
    code = "INVALID_KEY_NAME"


class InvalidHost(ClusterdError):
    code = "INVALID_HOST"


class ValidationFailed(ClusterdError):
    code = "VALIDATION_FAILED"


class InstanceUnreachable(ClusterdError):
    code = "INSTANCE_UNREACHABLE"


class SubscriberTooSlow(ClusterdError):
    code = "SUBSCRIBER_TOO_SLOW"


class Unauthenticated(ClusterdError):
    code = "UNAUTHENTICATED"


class Forbidden(ClusterdError):
    code = "FORBIDDEN"


class CannotListen(Exception):
    """A daemon cannot listen on its port; the message says which port and
    which option picks another ("port 33334 is in use; use --port ...")."""


class NoDatabase(Exception):
    """A command was pointed at a database that does not exist (it makes
    none: a wrong path or HOME would otherwise get a new, empty one)."""


class NotADatabase(Exception):
    """The SQLite file a command or daemon was pointed at is not an SQLite
    database (another file, or a broken one): nothing is read or written."""
