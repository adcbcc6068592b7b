"""Who may use clusterd (API tokens) and what they did with it (the audit log)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class TokenRole(StrEnum):
    VIEWER = "VIEWER"
    EDITOR = "EDITOR"
    ADMIN = "ADMIN"


class Token(Model):
    """An API token. Only the SHA-256 digest of its secret is stored: the
    secret is shown once, when the token is created. (A digest without salt
    or stretching is enough: the secrets are 256 random bits, not passwords.)
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(TokenRole, max_length=10)
    digest = fields.CharField(max_length=64, unique=True)
    # The secret's first characters, to tell tokens apart in a list.
    prefix = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    created_by = fields.CharField(max_length=200)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_by = fields.CharField(max_length=200, null=True)
    # When it stops signing in (None: never). Set at creation, or by a rotation
    # (the old token's grace period ends).
    expires_at = fields.DatetimeField(null=True)
    # A rotation makes a new token (its own id, so its audit entries and open
    # sockets are told apart from the old secret's) that names the one it replaces.
    rotated_from = fields.IntField(null=True)

    class Meta:
        table = "token"
        ordering = ("id",)


class AuditEntry(Model):
    """One change made through clusterd (or refused): who, what, when."""

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.CharField(max_length=200, db_index=True)
    token_id = fields.IntField(null=True)
    # The mutation (``setKey``) or command (``token create``).
    action = fields.CharField(max_length=100, db_index=True)
    # Its arguments, secrets left out.
    arguments: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    # "OK", or the error code it was refused with.
    outcome = fields.CharField(max_length=50)
    # The operation it started, for writes of configuration.
    operation_id = fields.CharField(max_length=36, null=True)

    class Meta:
        table = "audit_entry"
        ordering = ("-id",)
