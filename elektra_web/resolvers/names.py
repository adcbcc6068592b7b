"""Key names as clusterd accepts them: both spellings in, canonical out."""

from __future__ import annotations

from ..exceptions import BadInput, InvalidKeyName
from ..keynames import InvalidKeyName as NotAKeyName
from ..keynames import KeyName

__all__ = ["MAX_NAME", "MAX_PATH", "parse_key", "parse_writable_key", "short_name"]

#: The longest key name clusterd stores (the database's column).
MAX_PATH = 1000
#: The longest name of an instance, a cluster, a token or a metadata key.
MAX_NAME = 200


def parse_key(path: str) -> KeyName:
    if len(path) > MAX_PATH:
        raise InvalidKeyName(f"a key name may have at most {MAX_PATH} characters")
    try:
        name = KeyName.parse(path)
    except NotAKeyName as exc:
        raise InvalidKeyName(str(exc)) from exc
    if len(str(name)) > MAX_PATH:
        raise InvalidKeyName(f"a key name may have at most {MAX_PATH} characters")
    return name


def short_name(value: str | None, what: str) -> str:
    """A name of at most ``MAX_NAME`` characters, stripped, not empty."""
    if not value or not value.strip():
        raise BadInput(f"{what} needs a name")
    if len(value.strip()) > MAX_NAME:
        raise BadInput(f"the name of {what} may have at most {MAX_NAME} characters")
    return value.strip()


def parse_writable_key(path: str) -> KeyName:
    """A name that a write may target: it needs a namespace, because the lock
    rules and the members' files are per namespace."""
    name = parse_key(path)
    if name.is_cascading:
        raise InvalidKeyName(
            f"{path!r} is a cascading name; a write needs a namespace, like user:{path}"
        )
    return name
