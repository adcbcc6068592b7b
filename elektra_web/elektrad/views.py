"""The JSON shapes of ``GET /kdb``: a key with its ``ls``, value and metadata,
and, with ``?preload=N``, its ``children`` N levels deep.

The whole subtree is built in one pass over the ordered keys, so a subtree of
n keys costs O(n * N), not one lookup per node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..keynames import KeyName, Spelling
from .keyset import Key

__all__ = ["key_view", "root_view"]

Parts = tuple[str, ...]


def key_view(
    name: KeyName, entries: Iterable[tuple[KeyName, Key]], spelling: Spelling, preload: int
) -> dict[str, Any]:
    """The view of ``name``; ``entries`` are it and the keys below it, in order."""
    depth = len(name.parts)
    return _tree(
        ((n.parts[depth:], n, key) for n, key in entries),
        lambda rel: KeyName(name.namespace, name.parts + rel),
        spelling,
        preload,
    )


def root_view(entries: Iterable[tuple[KeyName, Key]], preload: int) -> dict[str, Any]:
    """The view of the whole database (``GET /kdb``): its children are the
    namespace roots. Names are in the legacy spelling, as in the blueprint."""

    def name_at(rel: Parts) -> KeyName | None:
        return KeyName(rel[0], rel[1:]) if rel else None

    return _tree(
        (((n.namespace, *n.parts), n, key) for n, key in entries),
        name_at,
        Spelling.LEGACY,
        preload,
    )


def _tree(
    entries: Iterable[tuple[Parts, KeyName, Key]],
    name_at: Callable[[Parts], KeyName | None],
    spelling: Spelling,
    preload: int,
) -> dict[str, Any]:
    nodes: dict[Parts, dict[str, Any]] = {}

    def node(rel: Parts) -> dict[str, Any]:
        found = nodes.get(rel)
        if found is None:
            name = name_at(rel)
            found = {
                "exists": False,
                "name": name.base_name if name else "",
                "path": name.spell(spelling) if name else "",
                "ls": [],
            }
            if len(rel) < preload:
                found["children"] = []
            nodes[rel] = found
            if rel:
                node(rel[:-1])["children"].append(found)
        return found

    root = node(())
    for rel, name, key in entries:
        spelled = name.spell(spelling)
        for d in range(min(len(rel), preload) + 1):
            node(rel[:d])["ls"].append(spelled)
        if len(rel) > preload:
            continue  # deeper than the view: only listed in its ancestors' ls
        target = node(rel)
        target["exists"] = True
        if key.value is not None:
            target["value"] = key.value
        target["meta"] = dict(key.meta)
    _order_fields(root)
    return root


def _order_fields(node: dict[str, Any]) -> None:
    """Put ``children`` last, after value and meta, for readable output."""
    children = node.pop("children", None)
    if children is not None:
        for child in children:
            _order_fields(child)
        node["children"] = children
