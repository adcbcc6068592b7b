"""Key names as clusterd accepts them: both spellings in, canonical out."""

from __future__ import annotations

from ..exceptions import InvalidKeyName
from ..keynames import InvalidKeyName as NotAKeyName
from ..keynames import KeyName

__all__ = ["parse_key", "parse_writable_key"]


def parse_key(path: str) -> KeyName:
    try:
        return KeyName.parse(path)
    except NotAKeyName as exc:
        raise InvalidKeyName(str(exc)) from exc


def parse_writable_key(path: str) -> KeyName:
    """A name that a write may target: it needs a namespace, because the lock
    rules and the members' files are per namespace."""
    name = parse_key(path)
    if name.is_cascading:
        raise InvalidKeyName(
            f"{path!r} is a cascading name; a write needs a namespace, like user:{path}"
        )
    return name
