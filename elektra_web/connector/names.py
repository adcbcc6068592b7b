"""Just enough of Elektra's key names for a client of the elektrad API.

The connector shares no code with elektrad (it must work with any daemon that
speaks the API), so the few rules it needs are restated here and pinned by
tests against the real daemon:

* :func:`canonical_name` turns the blueprint's spelling (``user/x``, which
  ``kdbFind`` answers for a plain query) into Elektra's (``user:/x``);
* :func:`parse_name` and :func:`spell_name` let the batching loader tell
  whether one key lies inside another's subtree, and name a key that the
  daemon's answer leaves out, exactly as the daemon would spell it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["NAMESPACES", "ParsedName", "canonical_name", "parse_name", "spell_name"]

#: The namespaces of the API; a name without one (``/app/x``) is cascading.
NAMESPACES = ("spec", "dir", "user", "system", "default")

_ARRAY_LIKE = re.compile(r"#(_*)([0-9]+)")


class ParsedName(NamedTuple):
    """A key name: namespace (``""`` when cascading), unescaped parts, and
    whether it was written in the legacy spelling (the daemon answers in it)."""

    namespace: str
    parts: tuple[str, ...]
    legacy: bool


def canonical_name(name: str) -> str:
    """``user/x`` → ``user:/x``; canonical and cascading names are returned as is.

    Raises :class:`ValueError` for a name that starts with no namespace.
    """
    if name.startswith("/"):
        return name
    head, sep, rest = name.partition("/")
    if head.endswith(":") and head[:-1] in NAMESPACES and sep:
        return name
    if head in NAMESPACES:
        return f"{head}:/{rest}"
    raise ValueError(f"{name!r} is not a key name of the namespaces {', '.join(NAMESPACES)}")


def parse_name(text: str) -> ParsedName | None:
    """The parts of ``text`` as the daemon reads them, or ``None`` if it is
    not a valid key name (the daemon will say why)."""
    if not text:
        return None
    if text.startswith("/"):
        namespace, legacy, rest = "", False, text
    else:
        head, sep, rest = text.partition("/")
        legacy = not head.endswith(":")
        namespace = head if legacy else head[:-1]
        if namespace not in NAMESPACES or (not legacy and not sep):
            return None
    parts: list[str] = []
    for raw in _split(rest):
        if raw is None:
            return None
        if raw in ("", "."):
            continue
        if raw == "..":
            if not parts:
                return None
            parts.pop()
        elif raw == "%":
            parts.append("")
        elif raw in ("\\%", "\\.", "\\.."):
            parts.append(raw[1:])
        elif raw.startswith("#") and (match := _ARRAY_LIKE.fullmatch(raw)):
            canonical = _canonical_array(match)
            if canonical is None:
                return None
            parts.append(canonical)
        else:
            literal = raw.startswith("\\#")
            part = _unescape(raw[2:] if literal else raw)
            if part is None:
                return None
            parts.append("#" + part if literal else part)
    return ParsedName(namespace, tuple(parts), legacy)


def spell_name(name: ParsedName) -> str:
    """``name`` escaped, in the spelling it was written in."""
    rest = "/".join(_escape(p) for p in name.parts)
    if not name.namespace:
        return "/" + rest
    if name.legacy:
        return f"{name.namespace}/{rest}" if rest else name.namespace
    return f"{name.namespace}:/{rest}"


def _split(rest: str) -> list[str | None]:
    """Split at unescaped slashes; a trailing lone backslash gives ``None``."""
    pieces: list[str | None] = []
    start = i = 0
    while i < len(rest):
        if rest[i] == "\\":
            if i + 1 == len(rest):
                return [None]
            i += 2
            continue
        if rest[i] == "/":
            pieces.append(rest[start:i])
            start = i + 1
        i += 1
    pieces.append(rest[start:])
    return pieces


def _unescape(raw: str) -> str | None:
    out: list[str] = []
    chars = iter(raw)
    for c in chars:
        if c == "\\":
            escaped = next(chars, "")
            if escaped not in ("\\", "/"):
                return None
            c = escaped
        out.append(c)
    return "".join(out)


def _escape(part: str) -> str:
    if part == "":
        return "%"
    if part in ("%", ".", ".."):
        return "\\" + part
    escaped = part.replace("\\", "\\\\").replace("/", "\\/")
    match = _ARRAY_LIKE.fullmatch(part)
    if match and _canonical_array(match) != part:
        # A literal "#10" would otherwise be read back as the array part "#_10".
        escaped = "\\" + escaped
    return escaped


def _canonical_array(match: re.Match[str]) -> str | None:
    underscores, digits = match.group(1), match.group(2)
    if len(digits) > 1 and digits[0] == "0":
        return None
    if underscores and len(underscores) != len(digits) - 1:
        return None
    return "#" + "_" * (len(digits) - 1) + digits
