"""The in-memory index of every key, ordered so that a subtree is one slice.

Reads are answered from here without touching disk; the stores keep it in
step with the files (see ``database.py``).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..keynames import KeyName

__all__ = ["Key", "KeySet"]


@dataclass(frozen=True, slots=True)
class Key:
    """A key's content: a value (``None``: the key has none) and metadata."""

    value: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


class KeySet:
    """A sorted mapping ``KeyName -> Key`` with cheap subtree slices."""

    def __init__(self) -> None:
        self._keys: dict[KeyName, Key] = {}
        self._order: list[tuple[int, tuple[str, ...]]] = []  # sort keys, sorted
        self._names: dict[tuple[int, tuple[str, ...]], KeyName] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, name: object) -> bool:
        return name in self._keys

    def get(self, name: KeyName) -> Key | None:
        return self._keys.get(name)

    def put(self, name: KeyName, key: Key) -> None:
        if name not in self._keys:
            sort_key = name.sort_key()
            insort(self._order, sort_key)
            self._names[sort_key] = name
        self._keys[name] = key

    def remove(self, name: KeyName) -> Key | None:
        key = self._keys.pop(name, None)
        if key is not None:
            sort_key = name.sort_key()
            del self._order[bisect_left(self._order, sort_key)]
            del self._names[sort_key]
        return key

    def items(self) -> Iterator[tuple[KeyName, Key]]:
        """Every key, in order."""
        for sort_key in self._order:
            name = self._names[sort_key]
            yield name, self._keys[name]

    def below(self, root: KeyName) -> Iterator[tuple[KeyName, Key]]:
        """``root`` (if it exists) and every key below it, in order."""
        order = self._order
        i = bisect_left(order, root.sort_key())
        while i < len(order):
            name = self._names[order[i]]
            if not name.is_below_or_same(root):
                break
            yield name, self._keys[name]
            i += 1

    def has_below(self, root: KeyName) -> bool:
        """True if ``root`` or any key below it exists."""
        return next(self.below(root), None) is not None
