"""Validation of a key's value by Elektra's ``check/*`` metadata.

elektrad checks what Elektra's plugins ``type``, ``enum``, ``range`` and
``validation`` check, in that order, and refuses the first broken rule::

    check/type = long            user:/app/port: "abc" is not a long (check/type)
    check/enum/#0 = low ...      "huge" is not one of "low", "high" (check/enum)
    check/range = 1-10,20        a number within one of the ranges (inclusive)
    check/validation = ^[a-z]+$  searched, unanchored, like regexec (on RE2)

Enum values are the array ``check/enum/#0``, ``check/enum/#1``, ... (whatever
``check/type`` is); ``check/enum`` itself is either the last index (``#3``, as
Elektra writes it, ignored here) or the enum plugin's list ``'a', 'b'``.
``check/enum/delimiter`` (type plugin) or ``check/enum/multi`` (enum plugin)
allows several values joined by that character.
``check/validation/ignorecase`` and ``check/validation/invert`` act when
present (whatever their value, as in Elektra); ``check/validation/match`` is
``LINE``, ``WORD`` or ``ANY``. Other ``check/*`` keys belong to plugins
elektrad does not run: they are kept, not enforced.

``check/validation`` runs on RE2 (:mod:`elektra_web.patterns`): linear time
in the value whatever the pattern, POSIX classes like ``[[:digit:]]`` as in
Elektra; a pattern RE2 cannot run (backreferences, lookaround) is refused
as malformed metadata, when it is set and on every later write of a key
that still carries it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from ..patterns import compile_pattern, pattern_refusal
from .exceptions import ValidationError

__all__ = ["TYPES", "validate", "validate_meta"]

_INTEGERS = {
    "short": (-(2**15), 2**15 - 1),
    "unsigned_short": (0, 2**16 - 1),
    "long": (-(2**31), 2**31 - 1),  # kdb_long_t is 32 bits
    "unsigned_long": (0, 2**32 - 1),
    "long_long": (-(2**63), 2**63 - 1),
    "unsigned_long_long": (0, 2**64 - 1),
}
_FLOATS = {"float": 3.4028234663852886e38, "double": sys.float_info.max, "long_double": None}
_CHARS = ("char", "wchar", "octet")
_TEXTS = ("any", "string", "wstring", "enum")  # enum is checked by check/enum/#
TYPES = frozenset({*_INTEGERS, *_FLOATS, *_CHARS, *_TEXTS, "boolean"})
_BOOLEANS = frozenset(
    {"1", "0", "true", "false", "yes", "no", "on", "off"}
    | {"enable", "disable", "enabled", "disabled"}
)

_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_DECIMAL = re.compile(rf"[+-]?{_NUMBER}")
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,24})")
_RANGE = re.compile(rf"\s*(-?{_NUMBER})\s*(?:-\s*(-?{_NUMBER})\s*)?")
_ARRAY_INDEX = re.compile(r"#(_*)(0|[1-9][0-9]*)")
_ENUM_LIST = re.compile(r"\s*'[^']*'\s*(?:,\s*'[^']*'\s*)*")
_MATCH_MODES = ("LINE", "WORD", "ANY")
_KNOWN_SUBKEYS = {
    "check/enum/delimiter",
    "check/enum/multi",
    "check/enum/normalize",
    "check/validation/message",
    "check/validation/ignorecase",
    "check/validation/invert",
    "check/validation/match",
    "check/validation/type",
}


def validate(value: str, meta: Mapping[str, str], name: str) -> None:
    """Raise :class:`ValidationError` unless ``value`` keeps every check/* rule."""
    checks = {k: v for k, v in meta.items() if k.startswith("check/")}
    for key, text in checks.items():
        try:
            validate_meta(key, text)
        except ValidationError as exc:
            raise ValidationError(f"{name}: {exc.message}") from None
    if ("check/boolean/true" in checks) != ("check/boolean/false" in checks):
        raise ValidationError(f"{name}: check/boolean/true and check/boolean/false go together")

    def refuse(what: str, rule: str) -> ValidationError:
        return ValidationError(f"{name}: {_show(value)} {what} ({rule})")

    kind = checks.get("check/type")
    if kind is not None and not _has_type(value, kind, checks):
        raise refuse(f"is not {'an' if kind[0] in 'aeiou' else 'a'} {kind}", "check/type")

    allowed = _enum_values(checks)
    if allowed is not None or kind == "enum":
        allowed = allowed or []
        sep = checks.get("check/enum/delimiter") or checks.get("check/enum/multi")
        pieces = [p for p in value.split(sep) if p] if sep else []
        if any(p not in allowed for p in pieces or [value]):
            listed = ", ".join(_show(a) for a in allowed) or "nothing (no check/enum/# values)"
            raise refuse(f"is not one of {listed}", "check/enum")

    if "check/range" in checks:
        number = _number(value)
        if number is None:
            raise refuse("is not a number", "check/range")
        if not any(lo <= number <= hi for lo, hi in _ranges(checks["check/range"])):
            raise refuse(f"is not within {checks['check/range']}", "check/range")

    if "check/validation" in checks and not _matches(value, checks):
        message = checks.get("check/validation/message")
        if message:
            raise ValidationError(f"{name}: {message} (check/validation)")
        verb = "matches" if "check/validation/invert" in checks else "does not match"
        raise refuse(f"{verb} {checks['check/validation']}", "check/validation")


def validate_meta(meta_key: str, meta_value: str) -> None:
    """Raise :class:`ValidationError` if a check/* entry itself is malformed."""
    if meta_key == "check/type":
        if meta_value not in TYPES:
            known = ", ".join(sorted(TYPES))
            raise _malformed(meta_key, meta_value, f"is not a type (use one of {known})")
    elif meta_key == "check/enum":
        if not _is_array_index(meta_value) and not _ENUM_LIST.fullmatch(meta_value):
            what = "is neither the last index (like #3) nor a list like 'a', 'b'"
            raise _malformed(meta_key, meta_value, what)
    elif meta_key in ("check/enum/delimiter", "check/enum/multi"):
        if len(meta_value) != 1:
            raise _malformed(meta_key, meta_value, "is not a single character")
    elif meta_key.startswith("check/enum/") and meta_key not in _KNOWN_SUBKEYS:
        if not _is_array_index(meta_key.removeprefix("check/enum/")):
            raise ValidationError(
                f"{meta_key} is not an enum value: write check/enum/#0, ..., check/enum/#9, "
                "check/enum/#_10, ... (array index with one '_' per digit after the first)"
            )
    elif meta_key == "check/range":
        _ranges(meta_value)
    elif meta_key == "check/validation":
        refused = pattern_refusal(meta_value)  # the message clusterd gives too
        if refused is not None:
            raise ValidationError(refused)
    elif meta_key == "check/validation/match":
        if meta_value.upper() not in _MATCH_MODES:
            raise _malformed(meta_key, meta_value, "is not LINE, WORD or ANY")
    elif meta_key.startswith("check/validation/") and meta_key not in _KNOWN_SUBKEYS:
        raise ValidationError(f"{meta_key} is not a setting of check/validation")


def _has_type(value: str, kind: str, checks: Mapping[str, str]) -> bool:
    if kind in _INTEGERS:
        # Elektra converts back and compares, so "+5", "05" and "-0" are refused;
        # the length cap in _INTEGER keeps int() within its digit limit.
        lo, hi = _INTEGERS[kind]
        return bool(_INTEGER.fullmatch(value)) and value != "-0" and lo <= int(value) <= hi
    if kind in _FLOATS:
        limit = _FLOATS[kind]
        return bool(_DECIMAL.fullmatch(value)) and (limit is None or abs(float(value)) <= limit)
    if kind in _CHARS:
        return len(value) == 1
    if kind == "boolean":
        if "check/boolean/true" in checks:
            pair = (checks["check/boolean/true"], checks.get("check/boolean/false", ""))
            return value in ("1", "0") or value.lower() in (p.lower() for p in pair)
        return value.lower() in _BOOLEANS
    return True


def _enum_values(checks: Mapping[str, str]) -> list[str] | None:
    values = [v for k, v in checks.items() if _is_array_index(k.removeprefix("check/enum/"))]
    listed = checks.get("check/enum", "")
    if _ENUM_LIST.fullmatch(listed):
        values += re.findall(r"'([^']*)'", listed)
    return values or None


def _ranges(text: str) -> list[tuple[Decimal, Decimal]]:
    ranges = []
    for item in text.split(","):
        match = _RANGE.fullmatch(item)
        lo = _number(match[1]) if match else None
        hi = _number(match[2] or match[1]) if match else None
        if lo is None or hi is None:
            what = "is not a range like 1-10, -5-5, 0.5-2.5, -10--1, 7 or 1-3,7-9"
            raise _malformed("check/range", text, what)
        ranges.append((min(lo, hi), max(lo, hi)))  # the range plugin swaps them too
    return ranges


def _matches(value: str, checks: Mapping[str, str]) -> bool:
    ignorecase = "check/validation/ignorecase" in checks
    regex = compile_pattern(checks["check/validation"], ignorecase=ignorecase)
    mode = checks.get("check/validation/match", "ANY").upper()
    # Elektra wraps the pattern in ^...$ for LINE and WORD; fullmatch on each
    # line or word does that without re-parsing the pattern.
    if mode == "LINE":
        found = any(regex.fullmatch(line) for line in value.split("\n"))
    elif mode == "WORD":
        found = any(regex.fullmatch(word) for word in re.split("[ \t\n]+", value) if word)
    else:
        found = regex.search(value) is not None
    return found != ("check/validation/invert" in checks)


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text) if _DECIMAL.fullmatch(text) else None
    except InvalidOperation:  # an exponent beyond what Decimal can hold
        return None


def _is_array_index(text: str) -> bool:
    match = _ARRAY_INDEX.fullmatch(text)
    return match is not None and len(match[1]) == len(match[2]) - 1


def _malformed(meta_key: str, meta_value: str, what: str) -> ValidationError:
    return ValidationError(f"{meta_key}: {_show(meta_value)} {what}")


def _show(text: str, limit: int = 60) -> str:
    """``text`` quoted (newlines and quotes escaped), shortened if long."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)
