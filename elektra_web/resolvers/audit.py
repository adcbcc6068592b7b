"""The audit log: every change asked of clusterd, who asked, and how it ended.

Entries are written by the API layer around each mutation (and by the
``elektra-web token`` commands); only admins may read them.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from ..exceptions import BadInput
from ..models import AuditEntry
from .auth import Caller, Role

__all__ = ["SECRET_FIELDS", "audit_log", "record", "redact"]

#: Argument names whose values are never written down.
SECRET_FIELDS = frozenset({"token", "secret", "password"})

MAX_PAGE = 1000


def redact(value: Any) -> Any:
    """``value`` as plain JSON, with secrets replaced by ``"***"``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {
            str(k): "***" if str(k) in SECRET_FIELDS and v is not None else redact(v)
            for k, v in value.items()
            if not _unset(v)
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _unset(value: Any) -> bool:
    # strawberry.UNSET, without importing the API layer here.
    return type(value).__name__ == "UnsetType"


async def record(
    caller: Caller,
    action: str,
    arguments: Mapping[str, Any],
    outcome: str = "OK",
    operation_id: str | None = None,
) -> AuditEntry:
    return await AuditEntry.create(
        actor=caller.name,
        token_id=caller.token_id,
        action=action,
        arguments=redact(arguments),
        outcome=outcome,
        operation_id=operation_id,
    )


async def audit_log(
    caller: Caller,
    *,
    first: int = 100,
    before: int | str | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[AuditEntry]:
    """The newest entries first; ``before`` (an entry id) pages back."""
    caller.require(Role.ADMIN)
    if not 1 <= first <= MAX_PAGE:
        raise BadInput(f"first must be 1 to {MAX_PAGE}")
    query = AuditEntry.all()
    if before is not None:
        try:
            query = query.filter(id__lt=int(before))
        except ValueError as exc:
            raise BadInput(f"before: not an audit entry id: {before!r}") from exc
    for column, value in (("actor", actor), ("action", action)):
        if value is None:
            continue
        if len(value) > AuditEntry._meta.fields_map[column].max_length:  # type: ignore[attr-defined]
            return []  # longer than any entry's: none can match
        query = query.filter(**{column: value})
    return await query.limit(first)
