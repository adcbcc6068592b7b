"""The one place where a change becomes a call to an elektrad: used for a
write to one instance and for every delivery of a cluster write."""

from __future__ import annotations

from ..connector.client import ElektradClient
from ..models import OperationKind

__all__ = ["apply"]


async def apply(
    client: ElektradClient,
    kind: OperationKind,
    path: str,
    *,
    value: str | None = None,
    target: str | None = None,
    meta_key: str | None = None,
) -> None:
    """Make the change on the client's elektrad. SET: ``value``; META:
    ``meta_key`` set to ``value`` (``None`` removes it); MOVE/COPY: to
    ``target``. Raises the connector's errors."""
    match kind:
        case OperationKind.SET:
            await client.set(path, value or "")
        case OperationKind.DELETE:
            await client.delete(path)
        case OperationKind.META:
            assert meta_key is not None
            if value is None:
                await client.delete_meta(path, meta_key)
            else:
                await client.set_meta(path, meta_key, value)
        case OperationKind.MOVE:
            assert target is not None
            await client.move(path, target)
        case OperationKind.COPY:
            assert target is not None
            await client.copy(path, target)
        case OperationKind.MOUNT:
            raise ValueError("MOUNT is a change an instance reports, not a write")
