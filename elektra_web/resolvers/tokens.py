"""API tokens: created and revoked by admins, shown once, stored as digests.

A secret looks like ``ewt_`` followed by 43 URL-safe characters (256 random
bits). Whoever holds it acts with the token's role until it is revoked or
expires; either also ends the token's open websockets (``Sessions``). A
rotation makes a new token (new id and secret, same name and role) and lets
the old one expire after a grace period.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

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
    "rotate_token",
]

log = logging.getLogger("elektra_web.clusterd")

PREFIX = "ewt_"
#: How often ``last_used_at`` is written: once a minute is enough to tell
#: stale tokens, and a write per request would cost every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
#: Longer secrets are not ours; refusing them unhashed bounds the work.
MAX_SECRET_LENGTH = 512
#: The longest expiry or grace period: ten years, beyond which "never" is meant.
MAX_LIFETIME = 10 * 366 * 24 * 3600


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def role_of(token: Token) -> Role:
    return Role[token.role.value]


def caller_of(token: Token) -> Caller:
    return Caller(f"{token.name} (token {token.id})", role_of(token), token_id=token.id)


def _seconds(value: int | None, what: str) -> dt.timedelta | None:
    if value is None:
        return None
    if not 1 <= value <= MAX_LIFETIME:
        raise BadInput(f"{what} must be 1 to {MAX_LIFETIME} seconds")
    return dt.timedelta(seconds=value)


def is_expired(token: Token, now: dt.datetime | None = None) -> bool:
    """Whether a token's expiry has passed (a revoked one may be either)."""
    return token.expires_at is not None and token.expires_at <= (now or dt.datetime.now(dt.UTC))


async def create_token(
    caller: Caller,
    name: str,
    role: Role,
    *,
    secret: str | None = None,
    expires_in: int | None = None,
    rotated_from: int | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[Token, str]:
    """A new token and its secret (the only time the secret is known), valid
    for ``expires_in`` seconds (None: until revoked)."""
    caller.require(Role.ADMIN)
    name = short_name(name, "a token")
    lifetime = _seconds(expires_in, "expiresIn")
    if lifetime is not None:
        expires_at = dt.datetime.now(dt.UTC) + lifetime
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
            expires_at=expires_at,
            rotated_from=rotated_from,
        )
    except IntegrityError as exc:
        raise BadInput("a token with this secret exists already") from exc
    log.info("token %d (%s, %s) created by %s", token.id, name, role.name, caller.name)
    return token, secret


async def _get(token_id: int | str) -> Token:
    try:
        token = await Token.get_or_none(id=int(token_id))
    except ValueError:
        token = None
    if token is None:
        raise NotFound(f"no token with id {token_id}")
    return token


async def rotate_token(
    sessions: Sessions | None, caller: Caller, token_id: int | str, grace_period: int = 0
) -> tuple[Token, Token, str]:
    """A new secret for a token: a new token (same name, role and expiry,
    ``rotated_from`` the old one) and its secret; the old token expires after
    ``grace_period`` seconds (0: at once). Its callers kept by ``Sessions``
    and its open websockets are ended at once with no grace period, else by
    the first sweep after it (every ``token_sweep_interval``). Answers (new
    token, old token, secret)."""
    caller.require(Role.ADMIN)
    if not 0 <= grace_period <= MAX_LIFETIME:
        raise BadInput(f"gracePeriod must be 0 to {MAX_LIFETIME} seconds")
    old = await _get(token_id)
    now = dt.datetime.now(dt.UTC)
    if old.revoked_at is not None or is_expired(old, now):
        raise BadInput(f"token {old.id} is revoked or expired: create a new one instead")
    token, secret = await create_token(
        caller, old.name, role_of(old), expires_at=old.expires_at, rotated_from=old.id
    )
    ends = now + dt.timedelta(seconds=grace_period)
    if old.expires_at is None or ends < old.expires_at:
        old.expires_at = ends
        await old.save(update_fields=["expires_at"])
    log.info(
        "token %d rotated to token %d by %s; the old secret expires %s",
        old.id, token.id, caller.name, old.expires_at.isoformat(timespec="seconds"),
    )  # fmt: skip
    if sessions is not None and grace_period == 0:
        await sessions.end(old.id, "token expired")
    return token, old, secret


async def list_tokens(caller: Caller) -> list[Token]:
    caller.require(Role.ADMIN)
    return await Token.all()


async def revoke_token(sessions: Sessions | None, caller: Caller, token_id: int | str) -> Token:
    """Revoke a token (again: a no-op) and end its open websockets at once."""
    caller.require(Role.ADMIN)
    token = await _get(token_id)
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
    # Checked on each request: a kept caller must not outlive its token's expiry.
    expires_at: dt.datetime | None


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
        if kept.expires_at is not None and kept.expires_at <= now:
            raise Unauthenticated("token expired")
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
    if is_expired(token, now):
        raise Unauthenticated("token expired")
    caller = caller_of(token)
    last_used_at = token.last_used_at
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        last_used_at = now
        await _used(caller, now)
    if sessions is not None:
        sessions.remember(key, token.id, _SignedIn(caller, last_used_at, token.expires_at), epoch)
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
        elif is_expired(token):
            log.warning("the token %s sets has expired; it stays expired", created_by)
        return token
    token, _ = await create_token(Caller(created_by, Role.ADMIN), name, role, secret=secret)
    return token


async def has_tokens() -> bool:
    """Whether any token that is neither revoked nor expired exists."""
    now = dt.datetime.now(dt.UTC)
    return await (
        Token.filter(revoked_at=None).filter(Q(expires_at=None) | Q(expires_at__gt=now)).exists()
    )
