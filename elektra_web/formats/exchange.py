"""The export format of a subtree of keys, with metadata, in JSON, TOML and INI.

An export is a flat list of *entries*, one per key, in a fixed order. An
entry's name is the key's name relative to the exported path: its escaped key
parts joined with ``/`` (``""`` is the exported key itself, ``"a/b\\/c"`` the
key ``<path>/a/"b/c"``). Each entry has a value and metadata (name → value);
every one of them is text. This module only encodes and decodes; what the
names mean is the caller's business.

The same entries in the three formats (a key ``<path>`` with value ``"on"`` and
a key ``<path>/port`` with value ``"80"`` and ``check/type = long``):

A key without a value (a container of a mounted JSON or TOML file) has a
``null`` value in JSON and no ``value`` in TOML and INI.

JSON: an object of entries, each ``{"value": ..., "meta": {...}}`` (``meta``
left out when empty)::

    {
      "": {"value": "on"},
      "port": {"value": "80", "meta": {"check/type": "long"}}
    }

TOML: a table per entry, its name always quoted, with ``value`` and a
``meta`` sub-table (left out when empty)::

    [""]
    value = "on"

    ["port"]
    value = "80"

    ["port".meta]
    "check/type" = "long"

INI: a section per entry whose header is the name as a JSON string, an option
``value`` and one option ``meta "<name>"`` per metadata entry; every name and
value is a JSON string (``=`` and ``:`` in names written ``\\u003d``,
``\\u003a``), so that leading spaces, ``;``, ``#``, line breaks and empty
values survive, and any INI reader splits the lines the same way::

    [""]
    value = "on"

    ["port"]
    value = "80"
    meta "check/type" = "long"

Decoding refuses anything else with a :class:`FormatError` that says where
(line and column where the text is malformed; the entry's name where its
shape is wrong). Exports are deterministic: encoding the decoded text of an
export gives the same text again.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import FormatError

__all__ = ["ConfigFormat", "Entries", "Entry", "FormatError", "decode", "encode"]


class ConfigFormat(StrEnum):
    """The formats of an export."""

    JSON = "JSON"
    TOML = "TOML"
    INI = "INI"


@dataclass(frozen=True)
class Entry:
    """One key of an export: its value and metadata."""

    #: ``None``: a key without a value (a container of a mounted file).
    value: str | None
    meta: Mapping[str, str] = field(default_factory=dict)


#: Entries by relative name, in the order they are written.
Entries = dict[str, Entry]


def encode(fmt: ConfigFormat, entries: Entries) -> str:
    """``entries`` as text of ``fmt`` (metadata sorted by name)."""
    match fmt:
        case ConfigFormat.JSON:
            return _encode_json(entries)
        case ConfigFormat.TOML:
            return _encode_toml(entries)
        case ConfigFormat.INI:
            return _encode_ini(entries)
    raise AssertionError(fmt)


def decode(fmt: ConfigFormat, text: str) -> Entries:
    """The entries of ``text``; :class:`FormatError` if it is not an export of ``fmt``."""
    match fmt:
        case ConfigFormat.JSON:
            return _decode_json(text)
        case ConfigFormat.TOML:
            return _decode_toml(text)
        case ConfigFormat.INI:
            return _decode_ini(text)
    raise AssertionError(fmt)


# -- JSON and TOML share the shape of a parsed document -----------------------


def _entries(data: object) -> Entries:
    """Entries from a parsed JSON object or TOML document."""
    if not isinstance(data, dict):
        raise FormatError("an export is an object of entries, one per key")
    entries: Entries = {}
    for name, entry in data.items():
        where = f"entry {name!r}"
        if not isinstance(entry, dict):
            raise FormatError(f'{where}: an entry is an object with "value" and "meta"')
        unknown = sorted(set(entry) - {"value", "meta"})
        if unknown:
            raise FormatError(
                f'{where}: unknown field {unknown[0]!r} (an entry has "value" and "meta"; '
                "a name with dots or slashes must be quoted)"
            )
        value = entry.get("value")
        if value is not None and not isinstance(value, str):
            raise FormatError(f'{where}: "value" must be a string (or left out: no value)')
        meta = entry.get("meta", {})
        if not isinstance(meta, dict):
            raise FormatError(f'{where}: "meta" must be an object of strings')
        for meta_name, meta_value in meta.items():
            if not isinstance(meta_value, str):
                raise FormatError(f"{where}: metadata {meta_name!r} must be a string")
        entries[name] = Entry(value, meta)
    return entries


# -- JSON ---------------------------------------------------------------------


def _encode_json(entries: Entries) -> str:
    data: dict[str, Any] = {}
    for name, entry in entries.items():
        item: dict[str, Any] = {"value": entry.value}  # null: no value
        if entry.meta:
            item["meta"] = dict(sorted(entry.meta.items()))
        data[name] = item
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise FormatError(f"the name {name!r} appears twice in one object")
        result[name] = value
    return result


def _decode_json(text: str) -> Entries:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise FormatError(exc.msg, exc.lineno, exc.colno) from exc
    return _entries(data)


# -- TOML ---------------------------------------------------------------------

# A TOML basic string escapes the quote, the backslash and control characters.
_TOML_ESCAPES = {
    **{code: f"\\u{code:04X}" for code in (*range(0x20), 0x7F)},
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\f"): "\\f",
    ord("\r"): "\\r",
}
_TOML_POSITION = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$", re.DOTALL)


def _toml_string(text: str) -> str:
    return '"' + text.translate(_TOML_ESCAPES) + '"'


def _encode_toml(entries: Entries) -> str:
    out = ["# Elektra Web export: one table per key (its name below the exported path)\n"]
    for name, entry in entries.items():
        quoted = _toml_string(name)
        out.append(f"\n[{quoted}]\n")
        if entry.value is not None:
            out.append(f"value = {_toml_string(entry.value)}\n")
        if entry.meta:
            out.append(f"\n[{quoted}.meta]\n")
            out.extend(
                f"{_toml_string(k)} = {_toml_string(v)}\n" for k, v in sorted(entry.meta.items())
            )
    return "".join(out)


def _decode_toml(text: str) -> Entries:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_POSITION.match(str(exc))
        if found is None:
            raise FormatError(str(exc)) from exc
        raise FormatError(found.group(1), int(found.group(2)), int(found.group(3))) from exc
    return _entries(data)


# -- INI ----------------------------------------------------------------------

_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_SECTION = re.compile(r"\[(.*)\]")
_OPTION = re.compile(rf"(value|meta[ \t]+({_JSON_STRING}))[ \t]*=[ \t]*(.*)")


def _ini_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _ini_name(text: str) -> str:
    # "=" and ":" end an INI option's name: escaped, any INI reader splits
    # the line where this one does.
    return _ini_string(text).replace("=", "\\u003d").replace(":", "\\u003a")


def _encode_ini(entries: Entries) -> str:
    out = ["; Elektra Web export: one section per key (its name below the exported path);\n"]
    out.append("; names and values are JSON strings\n")
    for name, entry in entries.items():
        out.append(f"\n[{_ini_string(name)}]\n")
        if entry.value is not None:
            out.append(f"value = {_ini_string(entry.value)}\n")
        out.extend(
            f"meta {_ini_name(k)} = {_ini_string(v)}\n" for k, v in sorted(entry.meta.items())
        )
    return "".join(out)


def _json_string(text: str, line: int, column: int, what: str) -> str:
    """``text`` (at ``column`` of ``line``) as the JSON string it must be."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        # json's "Unterminated string starting at" is followed by a position.
        reason = exc.msg.removesuffix(" at")
        raise FormatError(f"{what}: {reason}", line, column + exc.colno - 1) from exc
    if not isinstance(value, str):
        raise FormatError(f'{what} must be a JSON string ("...")', line, column)
    return value


def _decode_ini(text: str) -> Entries:
    entries: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    current_name = ""
    # Only "\n" ends a line: str.splitlines() would also split at U+2028 and
    # others, which a JSON string holds unescaped.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(" \t\r")
        column = len(raw) - len(raw.lstrip(" \t")) + 1
        if not line or line[0] in ";#":
            continue
        section = _SECTION.fullmatch(line)
        if section is not None:
            current_name = _json_string(section.group(1), number, column + 1, "a section name")
            if current_name in entries:
                raise FormatError(f"section [{section.group(1)}] appears twice", number, column)
            current = entries[current_name] = {"meta": {}}
            continue
        option = _OPTION.fullmatch(line)
        if option is None:
            raise FormatError(
                'expected a ["name"] section, a value = "..." or a meta "name" = "..." line',
                number,
                column,
            )
        if current is None:
            raise FormatError('expected a ["name"] section before its options', number, column)
        value = _json_string(option.group(3), number, column + option.start(3), "a value")
        if option.group(2) is None:
            if "value" in current:
                raise FormatError(
                    f"section [{_ini_string(current_name)}] has two values", number, column
                )
            current["value"] = value
            continue
        meta_name = _json_string(option.group(2), number, column + option.start(2), "a name")
        if meta_name in current["meta"]:
            raise FormatError(f"metadata {meta_name!r} appears twice", number, column)
        current["meta"][meta_name] = value
    return {name: Entry(e.get("value"), e["meta"]) for name, e in entries.items()}
