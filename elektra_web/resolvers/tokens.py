"""API tokens: created and revoked by admins, shown once, stored as digests.

A secret looks like ``ewt_`` followed by 43 URL-safe characters (256 random
bits). Whoever holds it acts with the token's role until it is revoked;
revoking also ends the token's open websockets (``Sessions``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from ..events.sessions import Sessions
from ..exceptions import BadInput, NotFound, Unauthenticated
from ..models import Token, TokenRole
from .auth import Caller, Role
from .names import short_name

__all__ = [
    "authenticate_secret",
    "create_token",
    "ensure_token",
    "has_tokens",
    "list_tokens",
    "revoke_token",
]

log = logging.getLogger("elektra_web.clusterd")

PREFIX = "ewt_"
#: How often ``last_used_at`` is written: once a minute is enough to tell
#: stale tokens, and a write per request would cost every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
#: Longer secrets are not ours; refusing them unhashed bounds the work.
MAX_SECRET_LENGTH = 512


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def role_of(token: Token) -> Role:
    return Role[token.role.value]


def caller_of(token: Token) -> Caller:
    return Caller(f"{token.name} (token {token.id})", role_of(token), token_id=token.id)


async def create_token(
    caller: Caller, name: str, role: Role, *, secret: str | None = None
) -> tuple[Token, str]:
    """A new token and its secret (the only time the secret is known)."""
    caller.require(Role.ADMIN)
    name = short_name(name, "a token")
    secret = secret or new_secret()
    if len(secret) < 16 or len(secret) > MAX_SECRET_LENGTH:
        raise BadInput(f"a token's secret must be 16 to {MAX_SECRET_LENGTH} characters")
    try:
        token = await Token.create(
            name=name,
            role=TokenRole(role.name),
            digest=digest(secret),
            prefix=secret[:8],
            created_by=caller.name,
        )
    except IntegrityError as exc:
        raise BadInput("a token with this secret exists already") from exc
    log.info("token %d (%s, %s) created by %s", token.id, name, role.name, caller.name)
    return token, secret


async def list_tokens(caller: Caller) -> list[Token]:
    caller.require(Role.ADMIN)
    return await Token.all()


async def revoke_token(sessions: Sessions | None, caller: Caller, token_id: int | str) -> Token:
    """Revoke a token (again: a no-op) and end its open websockets at once."""
    caller.require(Role.ADMIN)
    try:
        token = await Token.get_or_none(id=int(token_id))
    except ValueError:
        token = None
    if token is None:
        raise NotFound(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = dt.datetime.now(dt.UTC)
        token.revoked_by = caller.name
        await token.save(update_fields=["revoked_at", "revoked_by"])
        log.info("token %d (%s) revoked by %s", token.id, token.name, caller.name)
    if sessions is not None:
        await sessions.end(token.id)
    return token


@dataclass
class _SignedIn:
    """What ``Sessions`` keeps for a token between its requests."""

    caller: Caller
    last_used_at: dt.datetime | None


async def authenticate_secret(secret: str, sessions: Sessions | None = None) -> Caller:
    """The caller a secret signs in, or UNAUTHENTICATED.

    With ``sessions``, a token seen recently signs in without a query: ``Sessions``
    forgets it when it is revoked, at once here and at its next sweep (every
    ``token_sweep_interval``) when revoked by another replica or the command line."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        raise Unauthenticated("not a valid token")
    key = digest(secret)
    now = dt.datetime.now(dt.UTC)
    kept = sessions.recall(key) if sessions is not None else None
    if isinstance(kept, _SignedIn):
        if kept.last_used_at is None or now - kept.last_used_at > LAST_USED_RESOLUTION:
            kept.last_used_at = now
            await _used(kept.caller, now)
        return kept.caller
    # Taken before the query: a revocation meanwhile must not be undone by keeping it.
    epoch = sessions.epoch if sessions is not None else 0
    token = await Token.get_or_none(digest=key)
    if token is None:
        raise Unauthenticated("not a valid token")
    if token.revoked_at is not None:
        raise Unauthenticated("this token was revoked")
    caller = caller_of(token)
    last_used_at = token.last_used_at
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        last_used_at = now
        await _used(caller, now)
    if sessions is not None:
        sessions.remember(key, token.id, _SignedIn(caller, last_used_at), epoch)
    return caller


async def _used(caller: Caller, now: dt.datetime) -> None:
    await Token.filter(id=caller.token_id).update(last_used_at=now)


async def ensure_token(secret: str, name: str, role: Role, created_by: str) -> Token:
    """The token with this secret, created if there is none (what
    ``ELEKTRA_WEB_ADMIN_TOKEN`` does at each start). A revoked one stays
    revoked: revocation must outlive a restart."""
    token = await Token.get_or_none(digest=digest(secret))
    if token is not None:
        if token.revoked_at is not None:
            log.warning("the token %s sets was revoked; it stays revoked", created_by)
        return token
    token, _ = await create_token(Caller(created_by, Role.ADMIN), name, role, secret=secret)
    return token


async def has_tokens() -> bool:
    """Whether any token that is not revoked exists."""
    return await Token.filter(revoked_at=None).exists()
