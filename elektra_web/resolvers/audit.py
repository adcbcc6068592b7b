"""The audit log: every change asked of clusterd, who asked, and how it ended.

Entries are written by the API layer around each mutation (and by the
``elektra-web token`` commands); only admins may read them. Next to the id of
an instance, cluster or token, an entry names it (``with_names``), as it was
named when the change was asked: ``instance_id "2"`` alone told a reader
nothing, and the instance may be gone since.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from ..exceptions import BadInput
from ..models import AuditEntry, Cluster, Instance, Token
from .auth import Caller, Role

__all__ = ["SECRET_FIELDS", "audit_log", "record", "redact", "with_names"]

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


#: Arguments that hold an id: what of, and the key of the name written next to them.
_ID_ARGUMENTS: dict[str, tuple[type[Instance] | type[Cluster] | type[Token], str]] = {
    "instance_id": (Instance, "instance_name"),
    "cluster_id": (Cluster, "cluster_name"),
    "parent_id": (Cluster, "parent_name"),
}
#: What the argument ``id`` of a mutation is the id of (its name: "name").
_ID_OF: dict[str, type[Instance] | type[Cluster] | type[Token]] = {
    "updateInstance": Instance,
    "removeInstance": Instance,
    "updateCluster": Cluster,
    "deleteCluster": Cluster,
    "revokeToken": Token,
    "rotateToken": Token,
}


async def with_names(action: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` as :func:`redact` gives them, with the name of each
    instance, cluster or token they refer to by id next to the id, e.g.
    ``{"instance_id": "2", "instance_name": "web-01"}``, or ``{"id": "2",
    "name": "web-01"}`` for a mutation's argument ``id``. Call it before the
    mutation runs: a removed instance still has its name. An id of nothing
    gets no name."""
    plain = redact(arguments)
    assert isinstance(plain, dict)
    top = {**_ID_ARGUMENTS, "id": (_ID_OF[action], "name")} if action in _ID_OF else _ID_ARGUMENTS
    return await _named(plain, top)


async def _named(
    values: dict[str, Any],
    ids: Mapping[str, tuple[type[Instance] | type[Cluster] | type[Token], str]],
) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for key, value in values.items():
        named[key] = await _named(value, _ID_ARGUMENTS) if isinstance(value, dict) else value
        if key not in ids or not isinstance(value, str | int):
            continue
        model, name_key = ids[key]
        if name_key in values:
            continue
        try:
            number = int(value)
        except ValueError:
            continue  # not an id: the mutation refuses it
        if not 0 < number < 2**63:  # no row has it (and PostgreSQL refuses a larger one)
            continue
        names = await model.filter(id=number).values_list("name", flat=True)
        if names:
            named[name_key] = names[0]
    return named


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
