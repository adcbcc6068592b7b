"""JSON files, edited in place by splicing their text.

The document is its text plus a tree of where every value sits in it. An edit
replaces, inserts or removes only the text of the value it touches and parses
the result again, so everything else (number spelling like ``1.10``, escapes,
spacing, key order) stays byte for byte. An inserted member copies the layout
of its siblings; in an empty container, the layout of the nearest enclosing
container with members (one line, or its indentation step; two spaces if none).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .base import (
    Document,
    FileFormat,
    FormatError,
    Parts,
    UnsupportedKey,
    array_index,
    array_part,
    describe,
)

__all__ = ["JsonFormat"]

_SPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_CONTAINERS = ("object", "array")
_DEFAULT_INDENT = "  "


@dataclass
class _Node:
    """A value at ``text[start:end]``; ``kind`` is a JSON type, or true/false/null."""

    kind: str
    start: int
    end: int = 0
    value: str | None = None
    members: list[_Member] = field(default_factory=list)


@dataclass
class _Member:
    """An object member or array element; its text starts at ``start`` (the key in objects)."""

    name: str
    start: int
    node: _Node


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


class _Reader:
    """Finds the values of text that ``json.loads`` accepted."""

    def __init__(self, text: str) -> None:
        self.text = text

    def match(self, pattern: re.Pattern[str], pos: int) -> re.Match[str]:
        found = pattern.match(self.text, pos)
        if found is None:
            raise FormatError("not a JSON value", _line(self.text, pos))
        return found

    def value(self, pos: int) -> _Node:
        char = self.text[pos]
        if char in "{[":
            return self.container(pos)
        if char == '"':
            end, text = self.string(pos)
            return _Node("string", pos, end, text)
        for literal in ("true", "false", "null"):
            if self.text.startswith(literal, pos):
                value = None if literal == "null" else literal
                return _Node(literal, pos, pos + len(literal), value)
        # json.loads takes NaN and Infinity, which are not JSON.
        number = self.match(_NUMBER, pos).group()
        return _Node("number", pos, pos + len(number), number)

    def string(self, pos: int) -> tuple[int, str]:
        """The end and the value of the string at ``pos``."""
        end = self.match(_STRING, pos).end()
        value: str = json.loads(self.text[pos:end])
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # "\ud800" alone is no character: no key or value can hold it.
            message = "a string has an unpaired surrogate escape (\\ud800-\\udfff)"
            raise FormatError(message, _line(self.text, pos)) from None
        return end, value

    def container(self, start: int) -> _Node:
        text = self.text
        node = _Node("object" if text[start] == "{" else "array", start)
        names: set[str] = set()
        pos = self.match(_SPACE, start + 1).end()
        while text[pos] not in "}]":
            member_start = pos
            if node.kind == "object":
                key_end, name = self.string(pos)
                # json.loads keeps the last one; which one a key would address is unclear.
                if name in names:
                    raise FormatError(f"duplicate key {name!r}", _line(text, pos))
                names.add(name)
                pos = self.match(_SPACE, self.match(_SPACE, key_end).end() + 1).end()
            else:
                name = array_part(len(node.members))
            child = self.value(pos)
            node.members.append(_Member(name, member_start, child))
            pos = self.match(_SPACE, child.end).end()
            if text[pos] == ",":
                pos = self.match(_SPACE, pos + 1).end()
        node.end = pos + 1
        return node


def _read(text: str) -> _Node:
    try:
        json.loads(text, parse_int=str, parse_float=str)
        reader = _Reader(text)
        return reader.value(reader.match(_SPACE, 0).end())
    except json.JSONDecodeError as exc:
        raise FormatError(exc.msg, exc.lineno) from exc
    except RecursionError as exc:
        raise FormatError("nested too deeply") from exc


def _leaf_text(node: _Node, value: str | None) -> str:
    if value is None:
        return "null"
    if node.kind == "number" and _NUMBER.fullmatch(value):
        return value
    if node.kind in ("true", "false") and value in ("true", "false"):
        return value
    return json.dumps(value, ensure_ascii=False)


class JsonDocument(Document):
    """A JSON file; objects and arrays are containers, everything else a leaf."""

    def __init__(self, text: str) -> None:
        self._original = text
        self._text = text if text.strip() else "{}\n"
        self._root = _read(self._text)
        self._changed = False

    def keys(self) -> Mapping[Parts, str | None]:
        result: dict[Parts, str | None] = {}

        def visit(node: _Node, parts: Parts) -> None:
            result[parts] = node.value
            for member in node.members:
                visit(member.node, (*parts, member.name))

        visit(self._root, ())
        return result

    def set(self, parts: Parts, value: str | None) -> None:
        saved = self._text, self._root, self._changed
        try:
            self._set(parts, value)
        except UnsupportedKey:
            # Missing parents may have been created before the key was refused.
            self._text, self._root, self._changed = saved
            raise

    def _set(self, parts: Parts, value: str | None) -> None:
        chain = [self._root]
        for depth, part in enumerate(parts):
            member = self._child(chain[-1], parts, depth)
            if member is None:
                rest = parts[depth + 1 :]
                if rest:
                    new = "{}" if array_index(rest[0]) is None else "[]"
                else:
                    new = "{}" if value is None else json.dumps(value, ensure_ascii=False)
                self._insert(chain, part, new)
                if rest:
                    self._set(parts, value)
                return
            chain.append(member.node)
        node = chain[-1]
        if node.kind in _CONTAINERS:
            if value is not None:
                raise UnsupportedKey(f"{describe(parts)} is a JSON {node.kind}, it has no value")
        elif node.value != value:
            self._splice(node.start, node.end, _leaf_text(node, value))

    def _child(self, node: _Node, parts: Parts, depth: int) -> _Member | None:
        """The member at ``parts[depth]``, or ``None`` if it may be added."""
        part, parent = parts[depth], describe(parts[:depth])
        if node.kind not in _CONTAINERS:
            raise UnsupportedKey(f"{describe(parts)}: {parent} is a JSON value, not a container")
        for member in node.members:
            if member.name == part:
                return member
        if node.kind == "array":
            index, size = array_index(part), len(node.members)
            if index is None:
                raise UnsupportedKey(
                    f"{describe(parts)}: {parent} is an array, its elements are #0 ... #9,"
                    " #_10 ... #_99, #__100 ..."
                )
            if index != size:
                raise UnsupportedKey(
                    f"{describe(parts)}: {parent} has {size} elements, the next is"
                    f" {array_part(size)}"
                )
        return None

    def delete(self, parts: Parts) -> None:
        if not parts:
            self._splice(self._root.start, self._root.end, "{}")
            return
        node = self._root
        for part in parts[:-1]:
            child = next((m.node for m in node.members if m.name == part), None)
            if child is None:
                return
            node = child
        members = node.members
        found = [i for i, member in enumerate(members) if member.name == parts[-1]]
        if not found:
            return
        i = found[0]
        if len(members) == 1:
            self._splice(node.start + 1, node.end - 1, "")
        elif i + 1 < len(members):
            # The next member moves to this one's place, taking its separator.
            self._splice(members[i].start, members[i + 1].start, "")
        else:
            self._splice(members[i - 1].node.end, members[i].node.end, "")

    def dump(self) -> str:
        return self._text if self._changed else self._original

    def _splice(self, start: int, end: int, new: str) -> None:
        self._text = self._text[:start] + new + self._text[end:]
        self._root = _read(self._text)
        self._changed = True

    def _insert(self, chain: list[_Node], name: str, value: str) -> None:
        """Add a member to ``chain[-1]``, laid out like its siblings or its nearest
        ancestor with members (the chain runs from the root)."""
        text, node = self._text, chain[-1]
        entry = value
        if node.kind == "object":
            objects = [n for n in chain if n.kind == "object" and n.members]
            colon = self._colon(objects[-1].members[-1]) if objects else ": "
            entry = json.dumps(name, ensure_ascii=False) + colon + value
        if node.members:
            last = node.members[-1]
            lead = last.start
            while text[lead - 1] in " \t\n\r":
                lead -= 1
            self._splice(last.node.end, last.node.end, "," + text[lead : last.start] + entry)
            return
        indent = _DEFAULT_INDENT
        filled = [n for n in chain if n.members]
        if filled:
            first = text[filled[-1].start + 1 : filled[-1].members[0].start]
            if "\n" not in first:
                self._splice(node.start + 1, node.end - 1, entry)
                return
            own = first.rsplit("\n", 1)[1]
            indent = own.removeprefix(self._indent_at(filled[-1].start)) or indent
        outer = self._indent_at(node.start)
        self._splice(node.start + 1, node.end - 1, f"\n{outer}{indent}{entry}\n{outer}")

    def _colon(self, member: _Member) -> str:
        """The text between the key of ``member`` and its value, like ``": "``."""
        key_end = _STRING.match(self._text, member.start)
        assert key_end is not None
        return self._text[key_end.end() : member.node.start]

    def _indent_at(self, pos: int) -> str:
        start = self._text.rfind("\n", 0, pos) + 1
        line = self._text[start:pos]
        return line[: len(line) - len(line.lstrip(" \t"))]


class JsonFormat(FileFormat):
    """JSON files (``.json``); numbers and layout are kept as written."""

    name = "json"
    suffixes = (".json",)

    def parse(self, text: str) -> JsonDocument:
        return JsonDocument(text)
