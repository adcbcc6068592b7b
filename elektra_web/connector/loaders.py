"""Per-request batching of key reads: at most one elektrad call per instance
and subtree, however many keys one GraphQL query touches.

A query such as ``instances { keys(path: "user:/app") { children { value } } }``
resolves many keys independently; each resolver calls :meth:`KeyLoader.load`
and the loader, once per event-loop tick, turns the whole batch into as few
``GET /kdb/{root}?preload=D`` calls as it can: a requested key that lies inside
another requested key's subtree (same instance and spelling) is cut out of
that subtree's answer, with ``D`` deep enough for both. One loader lives for
one GraphQL request only (create it in ``get_context``), so nothing it caches
outlives the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from ..keynames import InvalidKeyName, KeyName, Spelling
from .client import ElektradClient
from .exceptions import InstanceUnreachable
from .fanout import fan_out

__all__ = ["KeyLoader", "LoadKey", "Node"]

#: ``(instance, path, depth)``: the key at ``path`` with ``children`` ``depth``
#: levels deep, as ``GET /kdb/{path}?preload={depth}`` answers it.
LoadKey = tuple[Hashable, str, int]
#: A key view as elektrad answers it (``exists``, ``name``, ``path``, ``ls``,
#: ``value``, ``meta``, ``children``). Shared between loads: treat as read-only.
Node = dict[str, Any]


#: A requested name as the daemon reads it, and the spelling it answers in.
_Parsed = tuple[KeyName, Spelling]


@dataclass(eq=False)
class _Member:
    index: int  # position in the batch
    name: _Parsed | None  # None: not cut from a bigger subtree
    rel: tuple[str, ...]  # parts below the fetch's root
    depth: int


@dataclass(eq=False)
class _Fetch:
    instance: Hashable
    path: str
    depth: int
    members: list[_Member] = field(default_factory=list)


class KeyLoader(DataLoader[LoadKey, Node]):
    """A DataLoader of key views; ``client_for(instance)`` gives each instance's client.

    ``load((instance, path, depth))`` resolves to the node of ``path``, with
    ``children`` to ``depth``, exactly as elektrad would answer a request for
    it alone (a key absent from a fetched subtree gets elektrad's
    ``exists: false`` node). A failed call fails only the loads it serves, with
    the connector's exception; other instances and subtrees are unaffected.
    Calls run concurrently, at most ``limit`` at a time, each bounded by
    ``timeout`` seconds; ``max_preload`` is the deepest ``preload`` the daemons
    accept (a request that would need more gets a call of its own).
    """

    def __init__(
        self,
        client_for: Callable[[Hashable], ElektradClient],
        *,
        limit: int = 32,
        timeout: float = 30.0,
        max_preload: int = 64,
    ) -> None:
        super().__init__(self._load_batch)
        self.client_for = client_for
        self.limit = limit
        self.timeout = timeout
        self.max_preload = max_preload

    async def _load_batch(self, keys: list[LoadKey]) -> list[Node | BaseException]:
        fetches = self._plan(keys)
        clients: dict[Hashable, ElektradClient | Exception] = {}
        for fetch in fetches:
            if fetch.instance not in clients:
                try:
                    clients[fetch.instance] = self.client_for(fetch.instance)
                except Exception as exc:  # an unknown instance fails its own loads only
                    clients[fetch.instance] = exc

        def call(fetch: _Fetch) -> Callable[[], Awaitable[Node]]:
            async def get() -> Node:
                client = clients[fetch.instance]
                if isinstance(client, Exception):
                    raise client
                return await client.get(fetch.path, preload=fetch.depth)

            return get

        results = await fan_out(
            {i: call(f) for i, f in enumerate(fetches)}, limit=self.limit, timeout=self.timeout
        )
        answers: list[Node | BaseException] = [RuntimeError("not loaded") for _ in range(len(keys))]
        for i, fetch in enumerate(fetches):
            result = results[i]
            error = result.error
            if isinstance(error, TimeoutError):
                client = clients[fetch.instance]
                url = client.base_url if isinstance(client, ElektradClient) else str(client)
                error = InstanceUnreachable(url, f"no answer within {self.timeout:g}s")
            for member in fetch.members:
                answers[member.index] = (
                    error if error is not None else _cut(result.value or {}, member)
                )
        return answers

    def _plan(self, keys: list[LoadKey]) -> list[_Fetch]:
        """Group the loads into fetches: ancestors first, so a key joins the
        topmost requested ancestor whose subtree can reach it."""
        fetches: list[_Fetch] = []
        roots: dict[tuple[Hashable, str, Spelling, tuple[str, ...]], _Fetch] = {}
        alone: dict[tuple[Hashable, str, int | None], _Fetch] = {}
        parsed = [(i, key, _parse(key[1])) for i, key in enumerate(keys)]
        parsed.sort(key=lambda item: len(item[2][0].parts) if item[2] else 0)
        for index, (instance, path, depth), spelled in parsed:
            depth_ok = 0 <= depth <= self.max_preload
            if spelled is None or not depth_ok:
                # The root, or a request the daemon will refuse: requests of
                # the same path share a call, nothing else joins it.
                alone_key = (instance, path, None if depth_ok else depth)
                fetch = alone.get(alone_key)
                if fetch is None:
                    fetch = alone[alone_key] = _Fetch(instance, path, depth)
                    fetches.append(fetch)
                fetch.depth = max(fetch.depth, depth)
                fetch.members.append(_Member(index, None, (), depth))
                continue
            name, spelling = spelled
            for cut in range(len(name.parts) + 1):
                fetch = roots.get((instance, name.namespace, spelling, name.parts[:cut]))
                need = len(name.parts) - cut + depth
                if fetch is not None and need <= self.max_preload:
                    fetch.depth = max(fetch.depth, need)
                    fetch.members.append(_Member(index, spelled, name.parts[cut:], depth))
                    break
            else:
                fetch = _Fetch(instance, path, depth, [_Member(index, spelled, (), depth)])
                roots[instance, name.namespace, spelling, name.parts] = fetch
                fetches.append(fetch)
        return fetches


def _parse(path: str) -> _Parsed | None:
    """``path`` as the daemon reads it, or ``None`` if it is not a key name
    (the daemon will refuse it and say why; such a load gets a call of its own)."""
    try:
        return KeyName.parse_spelled(path)
    except InvalidKeyName:
        return None


def _cut(root: Node, member: _Member) -> Node:
    """The node of ``member`` inside ``root``, trimmed to its depth."""
    node: Node | None = root
    for part in member.rel:
        assert node is not None
        node = next((c for c in node.get("children", ()) if c.get("name") == part), None)
        if node is None:
            # Not in the subtree: nothing exists at or below it.
            assert member.name is not None
            name, spelling = member.name
            missing: Node = {
                "exists": False,
                "name": name.base_name,
                "path": name.spell(spelling),
                "ls": [],
            }
            if member.depth > 0:
                missing["children"] = []
            return missing
    assert node is not None
    return _trim(node, member.depth)


def _trim(node: Node, depth: int) -> Node:
    trimmed = {k: v for k, v in node.items() if k != "children"}
    if depth > 0:
        trimmed["children"] = [_trim(c, depth - 1) for c in node.get("children", ())]
    return trimmed
