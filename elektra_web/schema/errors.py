"""What a GraphQL error is, decided in one place: the client's mistake (its
real message and a code, never logged as a fault), a refusal of clusterd's
(``ClusterdError``, its own code), or a bug (masked as INTERNAL, logged with
a trace).

Codes of the client's mistakes, in the order a request meets them::

    GRAPHQL_PARSE_FAILED          the document is not GraphQL
    OPERATION_RESOLUTION_FAILURE  no operation, several without operationName,
                                  or an unknown operationName
    GRAPHQL_VALIDATION_FAILED     the document does not fit the schema
    BAD_USER_INPUT                a variable is missing or of the wrong type,
                                  an unknown enum value or input field
    BAD_INPUT, LIMITS, ...        clusterd's own checks (``exceptions.py``)

These are request errors: nothing ran, and the answer has no ``data``
(``clusterd/graphql_http.py`` picks the status). The names are Apollo
Server's, which many clients already know.
"""

from __future__ import annotations

import logging
import uuid

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext

from ..exceptions import ClusterdError

__all__ = [
    "BAD_USER_INPUT",
    "INTERNAL",
    "OPERATION_RESOLUTION_FAILURE",
    "PARSE_FAILED",
    "VALIDATION_FAILED",
    "after_parse",
    "after_validate",
    "classify",
    "is_request_error",
    "process",
]

log = logging.getLogger("elektra_web.clusterd")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL"

#: strawberry's own errors of operation selection: an unknown operationName,
#: no operation at all, or an operation the transport does not run.
_SELECTION = (CannotGetOperationTypeError, InvalidOperationTypeError)


def _code(error: GraphQLError) -> str | None:
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else None


def _tag(error: GraphQLError, code: str) -> None:
    if _code(error) is None:
        error.extensions = {**(error.extensions or {}), "code": code}


def classify(errors: list[GraphQLError], *, parsed: bool) -> None:
    """Give each error of the client's making its code (in place).

    An error without a ``path`` arose before any field ran: a parse error
    (the document did not parse), or an error of graphql-core's preparation
    (a variable's coercion), which points at the document (``nodes``) or has
    no cause of its own. An error without a path, without nodes and with a
    foreign cause is an exception of the server's, and stays a bug.
    """
    for error in errors:
        if _code(error) is not None or error.path is not None:
            continue
        if isinstance(error.original_error, _SELECTION):
            _tag(error, OPERATION_RESOLUTION_FAILURE)
        elif not parsed:
            _tag(error, PARSE_FAILED)
        elif error.nodes or error.original_error is None:
            _tag(error, BAD_USER_INPUT)


def is_request_error(error: GraphQLError) -> bool:
    """Whether the error stopped the request before anything ran (no data)."""
    return error.path is None and _code(error) != INTERNAL


def _several_unnamed(document: DocumentNode, asked: str | None) -> GraphQLError | None:
    """GraphQL's GetOperation(): several operations need a name. (No
    operation, or an unknown name, strawberry refuses itself.)"""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if asked is None and len(operations) > 1:
        return GraphQLError(
            "The document has several operations: send operationName to pick one.",
            extensions={"code": OPERATION_RESOLUTION_FAILURE},
        )
    return None


def after_parse(context: ExecutionContext) -> None:
    """Codes for a parse error; and GetOperation's error for a document of
    several operations sent without operationName (set as the answer:
    validation then does not run)."""
    for parse_error in context.pre_execution_errors or ():
        _tag(parse_error, PARSE_FAILED)
    if context.graphql_document is None or context.pre_execution_errors:
        return
    # The name the client sent: strawberry's ``operation_name`` falls back
    # to the first operation's, which would run it instead of failing.
    asked: str | None = getattr(context, "_provided_operation_name", None)
    error = _several_unnamed(context.graphql_document, asked)
    if error is not None:
        context.pre_execution_errors = [error]


def after_validate(context: ExecutionContext) -> None:
    """Codes for validation errors (the limits' have their own)."""
    for error in context.pre_execution_errors or ():
        _tag(error, VALIDATION_FAILED)


def _unexpected(error: GraphQLError) -> bool:
    return (
        _code(error) is None
        and error.original_error is not None
        and not isinstance(error.original_error, ClusterdError)
    )


def process(errors: list[GraphQLError], *, parsed: bool) -> None:
    """Every error of an answer, in place, before it is sent: client errors
    get their code (``classify``), bugs are logged and masked."""
    classify(errors, parsed=parsed)
    for n, error in enumerate(errors):
        if _unexpected(error):
            errors[n] = _masked(error)


def _masked(error: GraphQLError) -> GraphQLError:
    """An unexpected error (a bug, not a refusal) as "Internal error" with an
    id, the original logged with the same id: the client sees no trace, the
    operator finds the trace from the id."""
    error_id = uuid.uuid4().hex[:12]
    log.error(
        "unexpected error %s in %s: %s",
        error_id,
        ".".join(map(str, error.path or ())) or "the request",
        error.message,
        exc_info=error.original_error,
    )
    return GraphQLError(
        f"Internal error (id {error_id}); the server's log has the details.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": INTERNAL, "errorId": error_id},
    )
