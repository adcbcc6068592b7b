"""Elektra key names: parsing, validation, canonical and legacy spelling.

A key name is a namespace and a sequence of *parts*::

    user:/app/server\\/1/#_10     namespace "user", parts ("app", "server/1", "#_10")
    user/app/port                 the same model, in the pre-0.9 ("legacy") spelling
    /app/port                     a cascading name (no namespace)

Rules, as in Elektra 0.9 (``doc/KEYNAMES.md`` upstream):

* parts are separated by ``/``; repeated and trailing slashes are ignored;
* ``\\/`` is a slash and ``\\\\`` a backslash inside a part; any other
  backslash escape is invalid, except these, each forming a whole part:
  ``\\.`` and ``\\..`` (the literal parts "." and ".."), ``\\%`` (the literal
  part "%") and a leading ``\\#`` (a literal ``#`` that is not an array part);
* ``.`` is dropped and ``..`` removes the previous part (never above the
  namespace root); ``%`` alone is the empty part;
* array parts are ``#`` followed by n underscores and n+1 digits (``#0``,
  ``#_10``, ``#__100``); the short form ``#10`` is accepted and made canonical;
  leading zeros and a wrong number of underscores are invalid.

A :class:`KeyName` holds the *unescaped* parts, so two spellings of one key
compare equal, and ``str(name)`` is the canonical spelling.

elektrad and clusterd both use this module: it is the shared model of Elektra
key names, and each daemon turns :class:`InvalidKeyName` into its own API's
error where it handles a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

__all__ = ["CASCADE_ORDER", "NAMESPACES", "InvalidKeyName", "KeyName", "Spelling"]

#: The namespaces elektrad stores, in Elektra's order (the sort order of names).
NAMESPACES = ("spec", "dir", "user", "system", "default")
#: The order in which a cascading name is looked up.
CASCADE_ORDER = ("spec", "dir", "user", "system", "default")
_NS_RANK = {ns: rank for rank, ns in enumerate(("", *NAMESPACES))}

_ARRAY_LIKE = re.compile(r"#(_*)([0-9]+)")


class InvalidKeyName(ValueError):
    """Not an Elektra key name; the message says why."""


class Spelling(Enum):
    """How a client wrote a name; elektrad answers in the same spelling."""

    CANONICAL = "canonical"  # user:/app/port
    LEGACY = "legacy"  # user/app/port


@dataclass(frozen=True, slots=True)
class KeyName:
    """A parsed key name. ``namespace`` is ``""`` for a cascading name."""

    namespace: str
    parts: tuple[str, ...] = ()

    # -- construction -----------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> KeyName:
        """Parse either spelling; raise :class:`InvalidKeyName` if invalid."""
        return cls.parse_spelled(text)[0]

    @classmethod
    def parse_spelled(cls, text: str) -> tuple[KeyName, Spelling]:
        """Parse either spelling and tell which one ``text`` used."""
        if not text:
            raise InvalidKeyName("invalid key name '': the name is empty")
        if text.startswith("/"):
            return cls("", _parse_parts(text, text)), Spelling.CANONICAL
        head, sep, rest = text.partition("/")
        if head.endswith(":"):
            namespace, spelling = head[:-1], Spelling.CANONICAL
            if not sep:
                raise InvalidKeyName(f"invalid key name {text!r}: expected '/' after '{head}'")
        else:
            namespace, spelling = head, Spelling.LEGACY
        if namespace not in NAMESPACES:
            raise InvalidKeyName(
                f"invalid key name {text!r}: {namespace!r} is not a namespace "
                f"(use one of {', '.join(n + ':/' for n in NAMESPACES)} or a cascading '/...')"
            )
        return cls(namespace, _parse_parts(rest, text)), spelling

    # -- properties -------------------------------------------------------

    @property
    def is_cascading(self) -> bool:
        return self.namespace == ""

    @property
    def base_name(self) -> str:
        """The last part, unescaped (``""`` for a namespace root)."""
        return self.parts[-1] if self.parts else ""

    @property
    def parent(self) -> KeyName | None:
        return KeyName(self.namespace, self.parts[:-1]) if self.parts else None

    def child(self, *parts: str) -> KeyName:
        return KeyName(self.namespace, self.parts + parts)

    def in_namespace(self, namespace: str) -> KeyName:
        return KeyName(namespace, self.parts)

    def is_below_or_same(self, other: KeyName) -> bool:
        """True if ``self`` is ``other`` or one of its descendants."""
        n = len(other.parts)
        return (
            self.namespace == other.namespace
            and len(self.parts) >= n
            and self.parts[:n] == other.parts
        )

    def relative_to(self, ancestor: KeyName) -> tuple[str, ...]:
        """The parts of ``self`` below ``ancestor`` (which must contain it)."""
        return self.parts[len(ancestor.parts) :]

    # -- spelling ---------------------------------------------------------

    def __str__(self) -> str:
        return self.spell(Spelling.CANONICAL)

    def spell(self, spelling: Spelling) -> str:
        """The name escaped, in the given spelling."""
        rest = "/".join(map(escape_part, self.parts))
        if self.is_cascading:
            return "/" + rest
        if spelling is Spelling.LEGACY:
            return f"{self.namespace}/{rest}" if rest else self.namespace
        return f"{self.namespace}:/{rest}"

    # -- ordering: Elektra's order, in which a subtree is contiguous -------

    def sort_key(self) -> tuple[int, tuple[str, ...]]:
        return (_NS_RANK[self.namespace], self.parts)

    def __lt__(self, other: KeyName) -> bool:
        return self.sort_key() < other.sort_key()


#: Parts escaped whole, whatever else they contain (see escape_part).
_SPECIAL_PARTS = frozenset(("", "%", ".", ".."))


def escape_part(part: str) -> str:
    """Escape one unescaped part so that parsing gives it back unchanged."""
    # Fast path, for most parts (views spell thousands per request): a part with
    # no backslash or slash that is neither special nor "#..." (array-like) is
    # spelled as it is. Plain substring tests are much cheaper than the rest.
    if part[:1] != "#" and "\\" not in part and "/" not in part and part not in _SPECIAL_PARTS:
        return part
    if part == "":
        return "%"
    if part in ("%", ".", ".."):
        return "\\" + part
    escaped = part.replace("\\", "\\\\").replace("/", "\\/")
    match = _ARRAY_LIKE.fullmatch(part)
    if match and _canonical_array(match) != part:
        # "#10" as a literal part: unescaped it would be read as array "#_10".
        escaped = "\\" + escaped
    return escaped


def _canonical_array(match: re.Match[str]) -> str | None:
    """The canonical form of an array-like part, or None if it is invalid."""
    underscores, digits = match.group(1), match.group(2)
    if len(digits) > 1 and digits[0] == "0":
        return None
    if underscores and len(underscores) != len(digits) - 1:
        return None
    return "#" + "_" * (len(digits) - 1) + digits


def _parse_parts(rest: str, text: str) -> tuple[str, ...]:
    parts: list[str] = []
    for raw in _split(rest, text):
        if raw in ("", "."):
            continue
        if raw == "..":
            if not parts:
                raise InvalidKeyName(f"invalid key name {text!r}: '..' goes above the root")
            parts.pop()
        elif raw == "%":
            parts.append("")
        elif raw in ("\\%", "\\.", "\\.."):
            parts.append(raw[1:])
        elif raw.startswith("#") and (match := _ARRAY_LIKE.fullmatch(raw)):
            canonical = _canonical_array(match)
            if canonical is None:
                raise InvalidKeyName(
                    f"invalid key name {text!r}: {raw!r} is not an array part "
                    "(write #0..#9, #_10..#_99, #__100..., or escape it as \\#)"
                )
            parts.append(canonical)
        elif raw.startswith("\\#"):
            parts.append("#" + _unescape(raw[2:], text, raw))
        else:
            parts.append(_unescape(raw, text, raw))
    return tuple(parts)


def _split(rest: str, text: str) -> list[str]:
    """Split at slashes that are not escaped, keeping escapes in the pieces."""
    pieces: list[str] = []
    start = i = 0
    while i < len(rest):
        c = rest[i]
        if c == "\\":
            if i + 1 == len(rest):
                raise InvalidKeyName(f"invalid key name {text!r}: it ends with a lone backslash")
            i += 2
            continue
        if c == "/":
            pieces.append(rest[start:i])
            start = i + 1
        i += 1
    pieces.append(rest[start:])
    return pieces


def _unescape(raw: str, text: str, piece: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            nxt = raw[i + 1]  # _split guarantees a character follows
            if nxt not in "\\/":
                raise InvalidKeyName(
                    f"invalid key name {text!r}: invalid escape '\\{nxt}' in {piece!r} "
                    "(only \\\\ and \\/ inside a part; \\. \\.. \\% and \\# as a whole part)"
                )
            out.append(nxt)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)
