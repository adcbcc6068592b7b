"""Tokens, the signed-in caller and the audit log, and the extension that
writes every mutation to the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.scalars import JSON

from .. import models
from ..exceptions import ClusterdError
from ..resolvers import audit
from ..resolvers.tokens import is_expired, role_of
from .context import Info
from .enums import Role

__all__ = ["AuditEntryType", "Audited", "CreatedToken", "Me", "RotatedToken", "TokenType"]


@strawberry.type(name="Me", description="Who is signed in: the holder of the request's token.")
class Me:
    name: str = strawberry.field(
        description="The token's name and id, e.g. \"alice (token 2)\": the audit log's actor."
    )
    role: Role = strawberry.field(description="What the token may do.")
    token_id: strawberry.ID | None = strawberry.field(
        description="The id of the token (see tokens). Null only for clusterd acting on its "
        "own, never over the API."
    )


@strawberry.type(
    name="Token",
    description="An API token: whoever sends its secret acts with its role until it is "
    "revoked or expires. Its secret is never shown again after createToken or rotateToken.",
)
class TokenType:
    id: strawberry.ID = strawberry.field(description="Its id, for revokeToken.")
    name: str = strawberry.field(description='Whose or what for, e.g. "alice" or "deploy bot".')
    role: Role = strawberry.field(description="What its holder may do.")
    prefix: str = strawberry.field(
        description='The secret\'s first 8 characters (e.g. "ewt_Ab3x"), to tell tokens apart.'
    )
    created_at: dt.datetime = strawberry.field(description="When it was created.")
    created_by: str = strawberry.field(
        description='Who created it: an actor as in the audit log, e.g. "admin (token 1)".'
    )
    last_used_at: dt.datetime | None = strawberry.field(
        description="When it last signed a request in, to the minute; null if never."
    )
    revoked_at: dt.datetime | None = strawberry.field(
        description="When it was revoked; null while it is valid."
    )
    revoked_by: str | None = strawberry.field(description="Who revoked it; null while it is valid.")
    expires_at: dt.datetime | None = strawberry.field(
        description='When it stops signing in (refused as UNAUTHENTICATED, "token expired"; '
        "its open websockets closed with 4403 within a second); null: never. Set by "
        "createToken's expiresIn, or by rotateToken (the end of the old secret's grace period)."
    )
    expired: bool = strawberry.field(description="Whether expiresAt has passed.")
    rotated_from: strawberry.ID | None = strawberry.field(
        description="The token this one replaced (rotateToken); null for a token created as such."
    )

    @classmethod
    def from_model(cls, model: models.Token) -> TokenType:
        return cls(
            id=strawberry.ID(str(model.id)),
            name=model.name,
            role=role_of(model),
            prefix=model.prefix,
            created_at=model.created_at,
            created_by=model.created_by,
            last_used_at=model.last_used_at,
            revoked_at=model.revoked_at,
            revoked_by=model.revoked_by,
            expires_at=model.expires_at,
            expired=is_expired(model),
            rotated_from=(
                strawberry.ID(str(model.rotated_from)) if model.rotated_from is not None else None
            ),
        )


@strawberry.type(description="A new token and, this once, its secret.")
class CreatedToken:
    token: TokenType = strawberry.field(description="The new token.")
    secret: str = strawberry.field(
        description="Sign in with this: send it as 'Authorization: Bearer SECRET', or as "
        '{"token": SECRET} in the websocket\'s connection_init. Shown only now.'
    )


@strawberry.type(description="A rotated token: its replacement and, this once, its secret.")
class RotatedToken:
    token: TokenType = strawberry.field(
        description="The new token: same name, role and expiry, a new id and secret."
    )
    previous: TokenType = strawberry.field(
        description="The token rotated: its expiresAt is the end of the grace period."
    )
    secret: str = strawberry.field(
        description="The new secret, used as createToken's. Shown only now."
    )


@strawberry.type(
    name="AuditEntry",
    description="One change asked of clusterd: a mutation, or an `elektra-web token` command.",
)
class AuditEntryType:
    id: strawberry.ID = strawberry.field(
        description="Grows with each entry: pass the last one seen as auditLog's before."
    )
    at: dt.datetime = strawberry.field(description="When it was asked.")
    actor: str = strawberry.field(
        description='Who asked: a token\'s name and id, e.g. "alice (token 2)" (as Me.name), '
        'or "user@host (command line)".'
    )
    action: str = strawberry.field(
        description='The mutation, e.g. "setKey", or the command, e.g. "token create".'
    )
    arguments: JSON = strawberry.field(
        description="Its arguments as a JSON object (Python field names, e.g. instance_id); "
        'secrets (token, secret, password) replaced by "***". Next to the id of an instance, '
        'cluster or token, its name then, e.g. {"instance_id": "2", "instance_name": "web-01"} '
        '(for an argument id: "name").'
    )
    outcome: str = strawberry.field(
        description='"OK", or the error code it was refused with (e.g. "FORBIDDEN"), or "INTERNAL".'
    )
    operation_id: strawberry.ID | None = strawberry.field(
        description="For a write that succeeded: its WriteResult.operationId; else null."
    )

    @classmethod
    def from_model(cls, model: models.AuditEntry) -> AuditEntryType:
        return cls(
            id=strawberry.ID(str(model.id)),
            at=model.at,
            actor=model.actor,
            action=model.action,
            arguments=cast(JSON, model.arguments),
            outcome=model.outcome,
            operation_id=strawberry.ID(model.operation_id) if model.operation_id else None,
        )


class Audited(FieldExtension):
    """Writes each call of a mutation to the audit log: who, which, the
    arguments without secrets, and whether it succeeded or why not.
    ``abridged``: arguments written as what the function makes of them (a
    10 MiB import is written as its size and digest, not in full)."""

    def __init__(self, abridged: Mapping[str, Callable[[Any], Any]] | None = None) -> None:
        super().__init__()
        self.abridged = dict(abridged or {})

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        caller = info.context.caller
        action = info.field_name
        shown = {
            k: self.abridged[k](v) if k in self.abridged else v
            for k, v in kwargs.items()
            if not (k in _QUIET and v is False)
        }
        # Named now, before the mutation: what it removes or renames keeps
        # the name it had.
        arguments = await audit.with_names(action, shown)
        try:
            result = await next_(source, info, **kwargs)
        except ClusterdError as exc:
            await audit.record(caller, action, arguments, outcome=exc.code)
            raise
        except Exception:
            await audit.record(caller, action, arguments, outcome="INTERNAL")
            raise
        operation = getattr(result, "operation_id", None)
        await audit.record(caller, action, arguments, operation_id=str(operation or "") or None)
        return result


#: Flags the audit log names only when they are set (a write's dryRun and
#: force): every write would otherwise carry them.
_QUIET = frozenset({"dry_run", "force"})


def audited_mutation(
    *, abridged: Mapping[str, Callable[[Any], Any]] | None = None, **options: Any
) -> Any:
    """``strawberry.mutation`` whose calls go to the audit log (``abridged``:
    see :class:`Audited`)."""
    return strawberry.mutation(extensions=[Audited(abridged)], **options)
