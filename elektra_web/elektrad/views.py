"""The JSON shapes of ``GET /kdb``: a key with its ``ls``, value and metadata,
and, with ``?preload=N``, its ``children`` N levels deep.

A node that is a mount point has ``mount`` (its file, format and status). A
broken mount's keys are not in a view; its mount point is, as a node that
does not exist (``exists: false``, not in any ``ls``) with that ``mount``, so
that a reader sees which subtree is missing, and why.

The whole subtree is built in one pass over the ordered keys, so a subtree of
n keys costs O(n * N), not one lookup per node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..keynames import KeyName, Spelling, escape_part
from .keyset import Key

__all__ = ["key_view", "root_view"]

Parts = tuple[str, ...]
#: A key as ``_tree`` takes it: its parts below the view's root, its name, the
#: name spelled, and its content (``None``: a broken mount's mount point).
Entry = tuple[Parts, KeyName, str, Key | None]
#: Mount points and what a view shows of their mounts.
Mounts = Mapping[KeyName, dict[str, Any]]


def key_view(
    name: KeyName,
    entries: Iterable[tuple[KeyName, Key | None]],
    spelling: Spelling,
    preload: int,
    mounts: Mounts | None = None,
) -> dict[str, Any]:
    """The view of ``name``; ``entries`` are it and the keys below it, in order
    (``None`` for a broken mount's mount point, see ``KeyDatabase.read``);
    ``mounts`` annotate their mount points."""
    depth = len(name.parts)
    # Every entry's name starts with ``name``: spell that once, up to and with
    # the separator before a child's parts, and only escape each entry's own
    # parts after it. ("_" is a plain part, escaped as itself; it is cut off.)
    spelled_name = name.spell(spelling)
    head = name.child("_").spell(spelling)[:-1]

    def spelled_entries() -> Iterator[Entry]:
        for n, key in entries:
            rel = n.parts[depth:]
            yield rel, n, head + "/".join(map(escape_part, rel)) if rel else spelled_name, key

    return _tree(
        spelled_entries(),
        lambda rel: KeyName(name.namespace, name.parts + rel),
        spelling,
        preload,
        mounts or {},
    )


def root_view(
    entries: Iterable[tuple[KeyName, Key | None]], preload: int, mounts: Mounts | None = None
) -> dict[str, Any]:
    """The view of the whole database (``GET /kdb``) from every key, in order:
    its children are the namespace roots. Names are in the legacy spelling, as
    in the blueprint."""

    def name_at(rel: Parts) -> KeyName | None:
        return KeyName(rel[0], rel[1:]) if rel else None

    return _tree(
        (((n.namespace, *n.parts), n, n.spell(Spelling.LEGACY), key) for n, key in entries),
        name_at,
        Spelling.LEGACY,
        preload,
        mounts or {},
    )


@dataclass(slots=True)
class _Open:
    """A node whose subtree the pass is in: its ``ls`` is not complete yet."""

    node: dict[str, Any]
    start: int  # the index in the spelled names of the first entry below it
    children: list[dict[str, Any]] | None  # None: deeper than preload, no "children"


def _tree(
    entries: Iterable[Entry],
    name_at: Callable[[Parts], KeyName | None],
    spelling: Spelling,
    preload: int,
    mounts: Mounts,
) -> dict[str, Any]:
    # The entries are in order, so each node's subtree is one contiguous run of
    # them. The nodes on the path to the current entry are kept open on a
    # stack; a node is closed when an entry outside its subtree comes, and its
    # ``ls`` is then the slice of ``spelled`` over its run. Each name is spelled
    # once, and reused as the path of its own node. A broken mount point
    # (``key`` None) is a node but no entry of any ``ls``: not spelled there.
    spelled: list[str] = []
    root_name = name_at(())
    root = _node(root_name, root_name.spell(spelling) if root_name else "", mounts)
    stack = [_Open(root, 0, [] if preload > 0 else None)]
    open_rel: Parts = ()  # the parts of the deepest open node, stack[-1]
    for rel, name, spelling_of_name, key in entries:
        i = len(spelled)  # where this entry's run starts in ``spelled``
        if key is not None:
            spelled.append(spelling_of_name)
        depth = min(len(rel), preload)  # the deepest node that lists this entry
        # Close the open nodes that this entry is not below...
        common = 0
        most = min(depth, len(open_rel))
        while common < most and rel[common] == open_rel[common]:
            common += 1
        while len(stack) > common + 1:
            _close(stack.pop(), spelled, i)
        # ...and open those it is below (or is) that are not open yet.
        for d in range(common + 1, depth + 1):
            if d == len(rel):
                node = _node(name, spelling_of_name, mounts)
            else:
                ancestor = name_at(rel[:d])
                node = _node(ancestor, ancestor.spell(spelling) if ancestor else "", mounts)
            parent_children = stack[-1].children
            assert parent_children is not None  # d <= preload: its parent has children
            parent_children.append(node)
            stack.append(_Open(node, i, [] if d < preload else None))
        open_rel = rel[:depth]
        if len(rel) > preload or key is None:
            continue  # deeper than the view: only listed in its ancestors' ls
        target = stack[-1].node
        target["exists"] = True
        if key.value is not None:
            target["value"] = key.value
        target["meta"] = dict(key.meta)
    while stack:
        _close(stack.pop(), spelled, len(spelled))
    return root


def _node(name: KeyName | None, path: str, mounts: Mounts) -> dict[str, Any]:
    # "ls" is filled in by _close; it is set here so that the fields come in
    # the order of the API: exists, name, path, ls, (mount,) value, meta, children.
    node = {"exists": False, "name": name.base_name if name else "", "path": path, "ls": None}
    mount = mounts.get(name) if name is not None and mounts else None
    if mount is not None:
        node["mount"] = mount
    return node


def _close(done: _Open, spelled: list[str], end: int) -> None:
    """Give a node its ``ls`` (the entries ``start:end``) and, last, its children."""
    done.node["ls"] = spelled[done.start : end]
    if done.children is not None:
        done.node["children"] = done.children
