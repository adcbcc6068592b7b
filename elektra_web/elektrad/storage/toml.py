"""TOML files, edited in place with ``tomlkit``.

Tables (``[x]``, inline, dotted-key and implicit super tables), arrays and
arrays of tables are containers; everything else is a leaf whose value is its
TOML text (``0x1F``, ``1.50``, ``1979-05-27T07:32:00Z``), strings being the
string itself. New containers follow their parent: a table below a table
(``[a.b]``, implicit parents left unwritten), an inline table inside an array
or inline table, a ``[[x]]`` table in an array of tables; new arrays are
inline (``[...]``). Which layout a new key gets beside dotted keys is
tomlkit's choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import (
    AoT,
    Array,
    Bool,
    Date,
    DateTime,
    Float,
    InlineTable,
    Integer,
    Item,
    String,
    Table,
    Time,
)

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

__all__ = ["TomlFormat"]

_Keys = Mapping[Parts, str | None]
# Whether the keys after an edit (second) are what the edit should give from
# the keys before it (first).
_Check = Callable[[_Keys, _Keys], bool]

# Leaves whose type a new value keeps when it is valid TOML text of that type.
_TYPED = (Integer, Float, DateTime, Date, Time)


class _Misplaced(UnsupportedKey):
    """tomlkit refused a change, or wrote it so that it reads back wrong."""


def _after_set(parts: Parts, value: str | None) -> _Check:
    def check(old: _Keys, new: _Keys) -> bool:
        created = {parts[:depth]: None for depth in range(len(parts))}
        kept = created | {key: text for key, text in old.items() if key != parts}
        others = {key: text for key, text in new.items() if key != parts}
        return others == kept and parts in new and (new[parts] is None) == (value is None)

    return check


def _after_delete(parts: Parts, in_array: bool) -> _Check:
    depth, removed = len(parts) - 1, array_index(parts[-1]) if in_array else None

    def check(old: _Keys, new: _Keys) -> bool:
        kept: dict[Parts, str | None] = {}
        for key, text in old.items():
            if key[: len(parts)] == parts:
                continue
            sibling = len(key) > depth and key[:depth] == parts[:depth]
            index = array_index(key[depth]) if sibling else None
            if removed is not None and index is not None and index > removed:
                key = (*key[:depth], array_part(index - 1), *key[depth + 1 :])  # moves down
            kept[key] = text
        # A table that only existed through dotted keys (x.y.z = 1) goes with
        # the last of them.
        chain = {key for key in kept if key == parts[: len(key)]}
        emptied = {key for key in chain if all(k in chain for k in kept if k[: len(key)] == key)}
        same = all(key in kept and kept[key] == text for key, text in new.items())
        return same and kept.keys() - new.keys() <= emptied

    return check


def _read(text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        message = str(exc).rsplit(" at line ", 1)[0]
        raise FormatError(f"{message} (column {exc.col})", exc.line) from exc
    except TOMLKitError as exc:
        # A key twice in one table ("a = 1" twice below [server]) is no
        # ParseError but KeyAlreadyPresent.
        raise FormatError(str(exc)) from exc


def _is_container(node: Any) -> bool:
    return isinstance(node, MutableMapping | Array | AoT)


def _leaf_text(node: Any) -> str:
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, String):
        return str(node)
    assert isinstance(node, Item)
    return node.as_string()


def _leaf(old: Any, value: str) -> Item:
    """The item for ``value``; it keeps the type of the ``old`` leaf when it can."""
    if isinstance(old, bool | Bool) and value in ("true", "false"):
        return tomlkit.item(value == "true")
    if isinstance(old, _TYPED):
        try:
            new = tomlkit.value(value)
        except (TOMLKitError, ValueError):
            new = None
        # Comparing the text refuses anything but the bare value (spaces, comments).
        if isinstance(new, Item) and new.as_string() == value:
            if isinstance(new, type(old)):
                return new
            if isinstance(old, Float) and isinstance(new, Integer) and abs(new) < 2**53:
                return tomlkit.item(float(new))
    return tomlkit.string(value)


def _new_container(parent: Any, rest: Parts, inline: bool) -> Item:
    """An empty container below ``parent``; ``rest`` are the parts still to come below it."""
    if rest and array_index(rest[0]) is not None:
        return tomlkit.array()
    if isinstance(parent, MutableMapping) and not isinstance(parent, InlineTable) and not inline:
        # A table only there to hold deeper tables needs no [header] of its own.
        return tomlkit.table(is_super_table=bool(rest))
    if isinstance(parent, AoT):
        return tomlkit.table()
    return tomlkit.inline_table()


class TomlDocument(Document):
    """A TOML file; tables and arrays are containers, everything else a leaf."""

    def __init__(self, text: str) -> None:
        self._doc = _read(text)

    def keys(self) -> Mapping[Parts, str | None]:
        result: dict[Parts, str | None] = {}

        def visit(node: Any, parts: Parts) -> None:
            if isinstance(node, MutableMapping):
                result[parts] = None
                for name in node:
                    visit(node[name], (*parts, name))
            elif isinstance(node, Array | AoT):
                result[parts] = None
                for index, element in enumerate(node):
                    visit(element, (*parts, array_part(index)))
            else:
                result[parts] = _leaf_text(node)

        visit(self._doc, ())
        return result

    def set(self, parts: Parts, value: str | None) -> None:
        try:
            self._edit(parts, lambda: self._set(parts, value, False), _after_set(parts, value))
        except _Misplaced:
            # tomlkit misplaces or refuses a [table] below dotted keys (a.b = 1);
            # an inline table (a.c = {...}) lands where it belongs.
            self._edit(parts, lambda: self._set(parts, value, True), _after_set(parts, value))

    def _set(self, parts: Parts, value: str | None, inline: bool) -> None:
        parent: Any = None
        node: Any = self._doc
        for depth, part in enumerate(parts):
            found, child = self._child(node, parts, depth)
            if not found:
                rest = parts[depth + 1 :]
                if rest or value is None:
                    new = _new_container(node, rest, inline)
                else:
                    new = tomlkit.string(value)
                self._add(node, part, new, parts)
                if rest:
                    self._set(parts, value, inline)
                if (
                    isinstance(new, Table)
                    and isinstance(node, AoT)
                    and not self._is_last(parts[:depth])
                ):
                    # Keep the blank line that parted the array from what follows it.
                    new.add(tomlkit.nl())
                return
            parent, node = node, child
        if _is_container(node):
            if value is not None:
                raise UnsupportedKey(f"{describe(parts)} is a TOML table or array, it has no value")
        elif value is None:
            raise UnsupportedKey(f"{describe(parts)}: a TOML key always has a value")
        elif _leaf_text(node) != value:
            new = _leaf(node, value)
            if isinstance(parent, MutableMapping):
                parent[parts[-1]] = new
            else:
                parent[array_index(parts[-1])] = new

    def _is_last(self, parts: Parts) -> bool:
        """Whether nothing is written after the tables at ``parts``."""
        node: Any = self._doc
        for part in parts:
            if not isinstance(node, MutableMapping) or list(node)[-1] != part:
                return False
            node = node[part]
        return True

    def _child(self, node: Any, parts: Parts, depth: int) -> tuple[bool, Any]:
        """Whether ``parts[depth]`` exists below ``node``, and its node.

        Raises :class:`UnsupportedKey` if it is missing and cannot be added.
        """
        part, parent = parts[depth], describe(parts[:depth])
        if isinstance(node, MutableMapping):
            return (True, node[part]) if part in node else (False, None)
        if not _is_container(node):
            raise UnsupportedKey(f"{describe(parts)}: {parent} is a TOML value, not a table")
        index, size = array_index(part), len(node)
        if index is None:
            raise UnsupportedKey(
                f"{describe(parts)}: {parent} is an array, its elements are #0 ... #9,"
                " #_10 ... #_99, #__100 ..."
            )
        if index < size:
            return True, node[index]
        if index > size:
            raise UnsupportedKey(
                f"{describe(parts)}: {parent} has {size} elements, the next is {array_part(size)}"
            )
        return False, None

    def _add(self, node: Any, part: str, new: Item, parts: Parts) -> None:
        if isinstance(node, MutableMapping):
            node[part] = new
        elif isinstance(node, AoT):
            if not isinstance(new, Table):
                raise UnsupportedKey(f"{describe(parts)}: an array of tables holds only tables")
            if not node.as_string().endswith("\n\n"):
                new.trivia.indent = "\n"  # a blank line before [[...]], as tomlkit's own tables
            node.append(new)
        else:
            node.append(new)

    def delete(self, parts: Parts) -> None:
        if not parts:
            self._doc = tomlkit.document()
            return
        in_array = isinstance(self._find(parts[:-1]), Array | AoT)
        self._edit(parts, lambda: self._delete(parts), _after_delete(parts, in_array))

    def _delete(self, parts: Parts) -> None:
        node, last = self._find(parts[:-1]), parts[-1]
        if isinstance(node, MutableMapping) and last in node:
            del node[last]
        elif isinstance(node, Array | AoT):
            index = array_index(last)
            if index is not None and index < len(node):
                del node[index]

    def _find(self, parts: Parts) -> Any:
        """The node at ``parts``, or ``None`` if there is none."""
        node: Any = self._doc
        for part in parts:
            if isinstance(node, MutableMapping):
                node = node.get(part)
            elif isinstance(node, Array | AoT):
                index = array_index(part)
                node = node[index] if index is not None and index < len(node) else None
            else:
                return None
        return node

    def _edit(self, parts: Parts, change: Callable[[], None], check: _Check) -> None:
        """Run ``change``; undo it if it fails or its text reads back wrong."""
        saved, old = self._doc.as_string(), self.keys()
        try:
            change()
            self._doc = _read(self._doc.as_string())
            if not check(old, self.keys()):
                raise _Misplaced(f"{describe(parts)}: tomlkit cannot write this key in this file")
        except (FormatError, TOMLKitError) as exc:
            self._doc = _read(saved)
            message = f"{describe(parts)}: tomlkit cannot make this change: {exc}"
            raise _Misplaced(message) from exc
        except BaseException:
            self._doc = _read(saved)
            raise

    def dump(self) -> str:
        return self._doc.as_string()


class TomlFormat(FileFormat):
    """TOML files (``.toml``), edited with tomlkit to keep their comments and layout."""

    name = "toml"
    suffixes = (".toml",)

    def parse(self, text: str) -> TomlDocument:
        return TomlDocument(text)
