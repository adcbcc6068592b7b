"""Reading configuration: live from elektrads (instances) or from the database
(clusters). One :class:`Reads` per GraphQL request holds the batching loader
and caches, so a request makes at most one elektrad call per instance and
subtree however many keys it asks for."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..connector.client import canonical_name
from ..connector.exceptions import ConnectorError, InstanceRefused
from ..connector.exceptions import InstanceUnreachable as Unreachable
from ..connector.loaders import KeyLoader
from ..engine.services import Services
from ..engine.topology import locks_of
from ..exceptions import BadInput, InstanceUnreachable
from ..keynames import KeyName
from ..models import Cluster, ClusterKey, Instance
from .auth import Caller, Role
from .names import parse_key
from .refusal import refusal

#: Levels below a key one read of an instance may ask for: an elektrad
#: preloads at most 64 levels, the key's own included.
MAX_DEPTH = 63

__all__ = ["ConfigKeyData", "MountData", "Reads"]


@dataclass(frozen=True)
class MountData:
    """A file mounted into an instance's keys, as its elektrad tells."""

    mount_point: str
    file: str
    format: str
    #: The parser's message while the file does not parse; ``None``: it does.
    error: str | None
    #: The most key parts its keys have below the mount point; ``None``: any.
    max_depth: int | None

    @property
    def broken(self) -> bool:
        return self.error is not None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MountData:
        """From elektrad's description (checked by the connector)."""
        broken = data["status"] == "broken"
        return cls(
            mount_point=canonical_name(data["prefix"]),
            file=data["file"],
            format=data["format"],
            # A broken mount always has a message, if only this one.
            error=(data.get("error") or "the file does not parse") if broken else None,
            max_depth=data.get("maxDepth"),
        )

    def holds(self, path: str) -> bool:
        """Whether the canonical key name ``path`` is this mount's (its mount
        point or below): a prefix of whole parts (a ``/`` inside a part is
        escaped, so the text compares)."""
        point = self.mount_point
        return path == point or path.startswith(point if point.endswith("/") else point + "/")


@dataclass
class ConfigKeyData:
    path: str
    name: str
    exists: bool
    value: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)
    #: For an instance's key: the instance (``Reads.lock_owner`` tells, when
    #: asked, which cluster locks it).
    instance: Instance | None = None
    #: The mount the key is in, when the read asked for it (a broken one's
    #: mount point is shown, not existing, with its error).
    mount: MountData | None = None


class Reads:
    """Per-request read state: create one per GraphQL request."""

    def __init__(self, services: Services, caller: Caller, *, max_reads: int | None = None) -> None:
        """``max_reads``: the most keys one request reads (by default the
        setting ``max_reads_per_request``, which guards against a query that
        asks too much; clusterd's own reads, such as a dry run's, set it)."""
        self.services = services
        self.caller = caller
        self._max_reads = max_reads
        self._tokens: dict[str, str | None] = {}
        self._locks: dict[int, dict[str, Cluster]] = {}
        self._reads = 0
        self._cluster_keys: dict[int, dict[KeyName, ClusterKey]] = {}
        self._mounts: dict[int, asyncio.Task[list[MountData]]] = {}

    @cached_property
    def loader(self) -> KeyLoader:
        """Batches reads by host; the instance a host belongs to, read before
        each load, gives the token to send. Made when first used: most
        requests read no keys."""
        services, settings = self.services, self.services.settings
        return KeyLoader(
            lambda host: services.client_for_host(str(host), self._tokens.get(str(host))),
            limit=settings.fanout_limit,
            timeout=settings.call_timeout,
        )

    # -- instances ------------------------------------------------------------

    async def instance_key(
        self, instance: Instance, path: str, *, with_mounts: bool = False
    ) -> ConfigKeyData:
        """The key at ``path``; ``with_mounts``: with the mount it is in."""
        self.caller.require(Role.VIEWER)
        name = parse_key(path)
        node, mounts = await self._load_with_mounts(instance, name, 1, with_mounts)
        return _instance_key(instance, node, mounts)

    async def instance_keys(
        self, instance: Instance, path: str, depth: int, *, with_mounts: bool = False
    ) -> list[ConfigKeyData]:
        """The key at ``path`` and the existing keys below it, ``depth``
        levels; ``with_mounts``: each with the mount it is in."""
        self.caller.require(Role.VIEWER)
        name = parse_key(path)
        if depth > MAX_DEPTH:
            raise BadInput(f"depth must be at most {MAX_DEPTH}, not {depth}")
        depth = max(depth, 0)
        root, mounts = await self._load_with_mounts(instance, name, depth + 1, with_mounts)
        return [_instance_key(instance, n, mounts) for n in _flatten(root, depth)]

    async def _load_with_mounts(
        self, instance: Instance, name: KeyName, depth: int, with_mounts: bool
    ) -> tuple[dict[str, Any], list[MountData]]:
        # The mounts are asked along with the keys (once per request), and
        # each key is given its mount here: not one lookup per key, which
        # doubled the time of a read of 10,000 keys.
        if not with_mounts:
            return await self._load(instance, name, depth), []
        node, mounts = await asyncio.gather(
            self._load(instance, name, depth), self.instance_mounts(instance)
        )
        return node, mounts

    async def instance_find(self, instance: Instance, query: str) -> list[str]:
        self.caller.require(Role.VIEWER)
        self._fail_fast(instance)
        try:
            names = await self.services.client(instance).find(query)
        except InstanceRefused as exc:
            raise refusal(instance, exc) from exc
        except ConnectorError as exc:
            raise self._unreachable(instance, exc) from exc
        self.services.breakers.succeeded(instance.id)
        return [canonical_name(n) for n in names]

    async def instance_mounts(self, instance: Instance) -> list[MountData]:
        """The instance's mounted files, asked once per request however many
        keys want to know theirs."""
        self.caller.require(Role.VIEWER)
        if instance.id not in self._mounts:
            self._mounts[instance.id] = asyncio.ensure_future(self._ask_mounts(instance))
        return await asyncio.shield(self._mounts[instance.id])

    async def _ask_mounts(self, instance: Instance) -> list[MountData]:
        self._fail_fast(instance)
        try:
            found = await self.services.client(instance).mounts()
        except InstanceRefused as exc:
            raise refusal(instance, exc) from exc
        except ConnectorError as exc:
            raise self._unreachable(instance, exc) from exc
        self.services.breakers.succeeded(instance.id)
        mounts = [MountData.from_json(m) for m in found]
        return sorted(mounts, key=lambda m: KeyName.parse(m.mount_point).sort_key())

    async def lock_owner(self, instance: Instance, path: str) -> Cluster | None:
        if instance.id not in self._locks:
            self._locks[instance.id] = await locks_of(instance)
        return self._locks[instance.id].get(path)

    async def _load(self, instance: Instance, name: KeyName, depth: int) -> dict[str, Any]:
        self._reads += 1
        limit = self._max_reads or self.services.settings.max_reads_per_request
        if self._reads > limit:
            raise BadInput(
                f"this request reads more than {limit} keys from instances; "
                "ask for fewer instances or keys at once"
            )
        self._fail_fast(instance)
        try:
            self._tokens[instance.host] = instance.token
            node: dict[str, Any] = await self.loader.load((instance.host, str(name), depth))
        except InstanceRefused as exc:
            raise refusal(instance, exc) from exc
        except (Unreachable, ConnectorError) as exc:
            raise self._unreachable(instance, exc) from exc
        self.services.breakers.succeeded(instance.id)
        return node

    def _fail_fast(self, instance: Instance) -> None:
        """An instance whose last call failed is not asked until a probe (a
        delivery, a health check, its change feed) got an answer: the read
        fails at once."""
        breakers = self.services.breakers
        if breakers.is_tripped(instance.id):
            raise InstanceUnreachable(
                f"{instance.name} is unreachable: {breakers.reason(instance.id)}"
            )

    def _unreachable(self, instance: Instance, exc: Exception) -> InstanceUnreachable:
        self.services.breakers.failed(instance.id, str(exc))
        return InstanceUnreachable(f"{instance.name} is unreachable: {exc}")

    # -- clusters -------------------------------------------------------------

    async def cluster_key(self, cluster: Cluster, path: str) -> ConfigKeyData:
        self.caller.require(Role.VIEWER)
        return _cluster_view(await self._keys_of(cluster), parse_key(path))

    async def cluster_keys(self, cluster: Cluster, path: str, depth: int) -> list[ConfigKeyData]:
        self.caller.require(Role.VIEWER)
        keys = await self._keys_of(cluster)
        root = parse_key(path)
        found = [_cluster_view(keys, root)]
        for name in sorted(keys):
            below = name != root and name.is_below_or_same(root)
            if below and len(name.relative_to(root)) <= max(depth, 0):
                found.append(_cluster_view(keys, name))
        return found

    async def _keys_of(self, cluster: Cluster) -> dict[KeyName, ClusterKey]:
        if cluster.id not in self._cluster_keys:
            rows = await ClusterKey.filter(cluster_id=cluster.id)
            self._cluster_keys[cluster.id] = {KeyName.parse(k.path): k for k in rows}
        return self._cluster_keys[cluster.id]


def _instance_key(
    instance: Instance, node: dict[str, Any], mounts: list[MountData]
) -> ConfigKeyData:
    path = canonical_name(node["path"])
    told = node.get("mount")
    if isinstance(told, dict):  # a mount point: as the read told it
        mount: MountData | None = MountData.from_json(told)
    else:
        mount = next((m for m in mounts if m.holds(path)), None)
    return ConfigKeyData(
        mount=mount,
        path=path,
        name=node.get("name", ""),
        exists=bool(node.get("exists")),
        value=node.get("value"),
        meta=dict(node.get("meta") or {}),
        children=[canonical_name(c["path"]) for c in node.get("children", [])],
        instance=instance,
    )


def _flatten(root: dict[str, Any], depth: int) -> list[dict[str, Any]]:
    found = [root]

    def walk(node: dict[str, Any], level: int) -> None:
        for child in node.get("children", []):
            if level + 1 > depth:
                return
            # A broken mount's mount point too: the reader learns which
            # subtree is missing, and why, in the same answer.
            if child.get("exists") or _broken_mount_point(child):
                found.append(child)
            walk(child, level + 1)

    walk(root, 0)
    return found


def _broken_mount_point(node: dict[str, Any]) -> bool:
    mount = node.get("mount")
    return isinstance(mount, dict) and mount.get("status") == "broken"


def _cluster_view(keys: dict[KeyName, ClusterKey], name: KeyName) -> ConfigKeyData:
    key = keys.get(name)
    children: list[str] = []
    for other in sorted(keys):
        if other != name and other.is_below_or_same(name):
            child = str(name.child(other.relative_to(name)[0]))
            if not children or children[-1] != child:
                children.append(child)
    return ConfigKeyData(
        path=str(name),
        name=name.base_name,
        exists=key is not None,
        value=key.value if key else None,
        meta=dict(key.meta) if key else {},
        children=children,
    )
