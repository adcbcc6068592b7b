"""Tokens, the signed-in caller and the audit log, and the extension that
writes every mutation to the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, cast

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.scalars import JSON

from .. import models
from ..exceptions import ClusterdError
from ..resolvers import audit
from ..resolvers.auth import Role
from ..resolvers.tokens import role_of
from .context import Info

__all__ = ["AuditEntryType", "Audited", "CreatedToken", "Me", "TokenType"]


@strawberry.type(name="Me", description="Who is signed in.")
class Me:
    name: str
    role: Role
    token_id: strawberry.ID | None


@strawberry.type(name="Token", description="An API token (its secret is never shown again).")
class TokenType:
    id: strawberry.ID
    name: str
    role: Role
    prefix: str = strawberry.field(description="The secret's first characters.")
    created_at: dt.datetime
    created_by: str
    last_used_at: dt.datetime | None = strawberry.field(description="To the minute.")
    revoked_at: dt.datetime | None
    revoked_by: str | None

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
        )


@strawberry.type
class CreatedToken:
    token: TokenType
    secret: str = strawberry.field(
        description="Sign in with this: send it as 'Authorization: Bearer SECRET', or as "
        '{"token": SECRET} in the websocket\'s connection_init. Shown only now.'
    )


@strawberry.type(name="AuditEntry", description="One change asked of clusterd.")
class AuditEntryType:
    id: strawberry.ID
    at: dt.datetime
    actor: str
    action: str = strawberry.field(description='The mutation, e.g. "setKey".')
    arguments: JSON = strawberry.field(description="Secrets left out.")
    outcome: str = strawberry.field(description='"OK" or the error code it was refused with.')
    operation_id: strawberry.ID | None

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
    arguments without secrets, and whether it succeeded or why not."""

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        caller = info.context.caller
        action = info.field_name
        try:
            result = await next_(source, info, **kwargs)
        except ClusterdError as exc:
            await audit.record(caller, action, kwargs, outcome=exc.code)
            raise
        except Exception:
            await audit.record(caller, action, kwargs, outcome="INTERNAL")
            raise
        operation = getattr(result, "operation_id", None)
        await audit.record(caller, action, kwargs, operation_id=str(operation or "") or None)
        return result


def audited_mutation(**options: Any) -> Any:
    """``strawberry.mutation`` whose calls go to the audit log."""
    return strawberry.mutation(extensions=[Audited()], **options)
