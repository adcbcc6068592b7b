"""Following each instance's change feed (``/kdbChanges``, long-poll).

Every change an elektrad reports becomes a :class:`~.events.ConfigChanged`:
with the operation id and origin "clusterd" when clusterd made it (its writes
carry an ``X-Operation-Id`` that the feed echoes), origin "instance" otherwise
(another client of the elektrad, or a mounted file edited on the machine).

The echo of clusterd's own writes is the common case (a cluster write to a
thousand members comes back as a thousand echoes), so it is cheap: it is
recognized without a query (operations this replica made are remembered),
and it confirms its delivery, publishes its event and advances the feed
position in bulk with the other echoes of the same moment (:class:`_Sink`).
A change from outside is handled at once and in order: first what the sink
holds is recorded (so a delivery that landed before it is known to have),
then it is checked for drift, and deliveries the instance refused for now
(a broken file, which this change may have repaired) are retried.

The position in each feed (epoch and revision) is stored with the instance,
so that following resumes where it stopped, after a reconnect or a restart. Of
several clusterd replicas exactly one follows an instance: it holds a lease
(a conditional UPDATE of ``instance.follower``) and renews it while it follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from ..connector.client import canonical_name
from ..connector.exceptions import ConnectorError, InstanceUnreachable
from ..models import Delivery, DeliveryStatus, Instance, Operation, OperationKind
from . import drift
from .events import ConfigChanged, DeliveriesLanded, Landing, publish
from .services import Services
from .topology import chain_ids

__all__ = ["FeedFollower"]

log = logging.getLogger("elektra_web.clusterd.follow")

_OPS = {
    "set": OperationKind.SET,
    "delete": OperationKind.DELETE,
    "meta": OperationKind.META,
    # A mounted file broke (value: the parser's message) or parses again
    # (value: null): published as is, so that pages show or clear the error.
    "mount": OperationKind.MOUNT,
}
_CHUNK = 500
#: Seconds a cluster's chain (its ancestors) is reused for the events of its members.
_CHAIN_SECONDS = 1.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: Outside changes remembered for their echo (see ``FeedFollower._outside``).
_MAX_OUTSIDE = 10_000


@dataclass(frozen=True, slots=True)
class _Change:
    op: OperationKind
    path: str
    value: str | None
    previous: str | None
    meta: str | None
    tag: str | None  # the X-Operation-Id it was made with


class FeedFollower:
    """Follows the feeds of the instances this replica holds the lease of."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._settings = services.settings
        self._tasks: dict[int, asyncio.Task[None]] = {}
        #: The instances as last read (each supervision), shared by the tasks.
        self._instances: dict[int, Instance] = {}
        #: (host, epoch, revision) taken so far, ahead of what is stored.
        self._positions: dict[int, tuple[str, str, int]] = {}
        #: When each instance's feed last answered (time.monotonic()); an
        #: instance whose daemon restarted is probed anyway (its version).
        self.last_answer: dict[int, float] = {}
        self._restarted: set[int] = set()
        #: (instance, path) of outside changes seen: an echo of ours that
        #: follows one in the feed settles the drift it may have recorded
        #: (the member holds our value again), whatever the clocks say.
        self._outside: set[tuple[int, str]] = set()
        self._sink = _Sink(services, self._positions)
        self._supervisor: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()

    async def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise())
        self._sink.start()

    async def stop(self) -> None:
        tasks = [t for t in [self._supervisor, *self._tasks.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._sink.stop()
        with contextlib.suppress(Exception):
            await Instance.filter(follower=self._services.replica_id).update(
                follower=None, follower_until=None
            )

    def wake(self) -> None:
        """Look for instances to follow now (another replica released its
        leases), not at the next supervision."""
        self._woken.set()

    def seen_recently(self, instance_id: int, seconds: float) -> bool:
        """Whether the instance's feed answered within ``seconds``."""
        if instance_id in self._restarted:
            self._restarted.discard(instance_id)
            return False
        answered = self.last_answer.get(instance_id)
        return answered is not None and time.monotonic() - answered < seconds

    async def _supervise(self) -> None:
        while True:
            try:
                await self._claim_and_renew()
            except Exception:
                log.exception("following the instances' change feeds failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._settings.follow_supervise_interval)
            self._woken.clear()

    async def _claim_and_renew(self) -> None:
        me = self._services.replica_id
        now = _now()
        until = now + dt.timedelta(seconds=self._settings.follow_lease)
        instances = {i.id: i for i in await Instance.all()}
        self._instances = instances
        for instance_id in list(self._tasks):
            if instance_id not in instances or self._tasks[instance_id].done():
                self._tasks.pop(instance_id).cancel()
                self._positions.pop(instance_id, None)
        held = sorted(self._tasks)
        wanted = sorted(set(instances) - set(held))
        for start in range(0, len(held), _CHUNK):
            await Instance.filter(id__in=held[start : start + _CHUNK], follower=me).update(
                follower_until=until
            )
        for start in range(0, len(wanted), _CHUNK):
            # One conditional UPDATE: of several replicas one gets each lease.
            await Instance.filter(
                Q(follower=None) | Q(follower=me) | Q(follower_until__lt=now),
                id__in=wanted[start : start + _CHUNK],
            ).update(follower=me, follower_until=until)
        mine = {
            int(str(i)) for i in await Instance.filter(follower=me).values_list("id", flat=True)
        }
        for instance_id in held:
            if instance_id not in mine:  # another replica took over (we were paused)
                self._tasks.pop(instance_id).cancel()
                self._positions.pop(instance_id, None)
        for instance_id in wanted:
            if instance_id in mine:
                self._tasks[instance_id] = asyncio.create_task(self._follow(instance_id))

    async def _follow(self, instance_id: int) -> None:
        failures = 0
        while True:
            instance = await self._current(instance_id)
            if instance is None:
                return
            host, epoch, revision = self._position(instance)
            sent_at = time.monotonic()
            try:
                # At most FEED_PAGE changes a page (the client's default): a
                # member far ahead is followed page by page.
                batch = await self._services.feed_client(instance).changes(
                    since=revision, wait=self._settings.follow_wait, epoch=epoch
                )
            except ConnectorError as exc:
                failures += 1
                if isinstance(exc, InstanceUnreachable) and "not an elektrad API" in str(exc):
                    # A page that is not one (too long, revisions going
                    # back): nothing of it is taken, and the member is marked
                    # with the reason (its reads fail with it, its deliveries
                    # wait with it) until it answers well again.
                    reason = f"{instance.name}'s change feed gave no usable page: {exc}"
                    log.warning("%s", reason)
                    self._services.breakers.failed(instance_id, reason)
                await asyncio.sleep(min(self._settings.retry_max, 0.5 * 2 ** min(failures, 6)))
                continue
            failures = 0
            self.last_answer[instance_id] = time.monotonic()
            breakers = self._services.breakers
            if breakers.succeeded(instance_id, sent_at) and self._services.sender:
                # It answers again: what waits for it goes now.
                await self._services.sender.retry_now(instance_id)
            if batch.get("dropped"):
                # Changes with a malformed key or value (the client left them
                # out: never stored, never published); the rest is taken.
                reason = (
                    f"{instance.name}'s change feed sent malformed changes, dropped: "
                    + "; ".join(batch["dropped"])
                )
                log.warning("%s", reason)
                breakers.failed(instance_id, reason)
            # Changed while the poll was out (it joined a cluster)? Its changes
            # are told with its cluster as it is now.
            instance = await self._current(instance_id)
            if instance is None:
                return
            try:
                await self._take(instance, host, epoch, revision, batch)
            except Exception:
                log.exception("taking the changes of %s failed", instance.name)
                await asyncio.sleep(self._settings.retry_max)
            else:
                if self._services.metrics is not None:
                    self._services.metrics.feed_changes(instance, batch.get("changes") or ())

    async def _current(self, instance_id: int) -> Instance | None:
        """The instance as last read; read again if this replica changed it."""
        if instance_id in self._services.stale_instances:
            self._services.stale_instances.discard(instance_id)
            fresh = await Instance.get_or_none(id=instance_id)
            if fresh is None:
                return None
            self._instances[instance_id] = fresh
        return self._instances.get(instance_id)

    def _position(self, instance: Instance) -> tuple[str, Any, Any]:
        known = self._positions.get(instance.id)
        if known is not None and known[0] == instance.host:
            return known
        return instance.host, instance.feed_epoch, instance.feed_revision

    async def _take(
        self,
        instance: Instance,
        host: str,
        epoch: str | None,
        revision: int | None,
        batch: dict[str, Any],
    ) -> None:
        new_epoch, new_revision = batch["epoch"], batch["revision"]
        if batch["reset"]:
            if revision is not None and new_epoch != epoch:
                # A restarted daemon numbers its changes from 1 again, under a
                # new epoch; the ones it made before this poll (a pending
                # delivery sent the moment it was back) are read next, from
                # its start, rather than skipped.
                new_revision = 0
                self._restarted.add(instance.id)
                # What changed while it was down (a file edited, keys restored
                # from a backup) is in no entry of the new feed.
                await self._sink.flush()
                await drift.reconcile(self._services, instance)
            elif revision is not None:
                # We fell behind the daemon's history: changes may be lost.
                await self._sink.flush()
                await drift.reconcile(self._services, instance)
        else:
            await self._changes(instance, batch["changes"])
        if (new_epoch, new_revision) != (epoch, revision):
            self._sink.position(instance.id, host, new_epoch, new_revision)

    async def _changes(self, instance: Instance, raw: list[dict[str, Any]]) -> None:
        changes = [c for c in map(_parse, raw) if c is not None]
        ours = await self._ours([c.tag for c in changes if c.tag])
        if any(c.tag not in ours for c in changes):
            # A change from outside is checked against the instance's cluster
            # as it is now (another replica may have moved it meanwhile).
            fresh = await Instance.get_or_none(id=instance.id)
            if fresh is None:
                return
            instance = self._instances[instance.id] = fresh
        cluster_ids = await self._sink.chain(instance.cluster_id)
        outside = False
        for change in changes:
            operation = change.tag if change.tag in ours else None
            event = ConfigChanged(
                op=change.op,
                path=change.path,
                origin="clusterd" if operation else "instance",
                value=change.value,
                previous=change.previous,
                meta=change.meta,
                operation_id=operation,
                instance_id=instance.id,
                cluster_id=instance.cluster_id,
                cluster_ids=cluster_ids,
            )
            if operation is not None:
                self._sink.echo(instance.id, operation, change, event)
                if (instance.id, change.path) in self._outside:
                    self._outside.discard((instance.id, change.path))
                    await drift.settled(self._services, [(instance.id, change.path)])
                continue
            # In order: what landed before this change is recorded first.
            await self._sink.flush()
            await publish(self._services, event)
            if change.op not in (OperationKind.META, OperationKind.MOUNT):
                deleted = change.op is OperationKind.DELETE
                await drift.observe(
                    self._services, instance, change.path, change.value, deleted=deleted
                )
                if len(self._outside) > _MAX_OUTSIDE:
                    self._outside.clear()  # a bound: only a race's window needs them
                self._outside.add((instance.id, change.path))
            outside = True
        if outside and self._services.sender is not None:
            # Maybe a broken file was repaired: what it refused goes again now.
            waiting = await Delivery.filter(
                instance_id=instance.id, status=DeliveryStatus.PENDING
            ).exists()
            if waiting:
                await self._services.sender.retry_now(instance.id)

    async def _ours(self, tags: list[str]) -> set[str]:
        """The tags that name operations of (any replica of) clusterd."""
        known = self._services.operations
        ours = {t for t in tags if known.get(t)}
        unknown: set[uuid.UUID] = set()
        for tag in set(tags) - ours:
            if tag in known:
                continue  # known not to be ours
            with contextlib.suppress(ValueError):
                unknown.add(uuid.UUID(tag))
        if unknown:
            found = {
                str(i) for i in await Operation.filter(id__in=unknown).values_list("id", flat=True)
            }
            for operation_id in unknown:
                self._services.remember_operation(str(operation_id), str(operation_id) in found)
            ours |= found
        return ours


def _parse(change: dict[str, Any]) -> _Change | None:
    op = _OPS.get(str(change.get("op")))
    key = change.get("key")
    if op is None or not isinstance(key, str):
        return None  # a kind of change this clusterd does not know: skip it
    try:
        path = canonical_name(key)
    except ValueError:
        return None

    def text(name: str) -> str | None:
        value = change.get(name)
        return value if isinstance(value, str) else None

    return _Change(op, path, text("value"), text("previous"), text("meta"), text("operation"))


_Echo = tuple[str, OperationKind, str, str | None]


class _Sink:
    """What the followers confirm in bulk: echoes (their deliveries are
    APPLIED, their events published) and feed positions, recorded every
    ``flush_interval`` and whenever an outside change needs them first."""

    def __init__(self, services: Services, positions: dict[int, tuple[str, str, int]]) -> None:
        self._services = services
        self._positions = positions
        #: (operation, kind, path, metadata name) -> instances that echoed it.
        self._echoes: dict[_Echo, list[int]] = defaultdict(list)
        self._events: list[ConfigChanged] = []
        self._moved: dict[int, tuple[str, int]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._chains: OrderedDict[int, tuple[float, tuple[int, ...]]] = OrderedDict()

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()

    def echo(self, instance_id: int, operation: str, change: _Change, event: ConfigChanged) -> None:
        self._echoes[operation, change.op, change.path, change.meta].append(instance_id)
        self._events.append(event)

    def position(self, instance_id: int, host: str, epoch: str, revision: int) -> None:
        self._positions[instance_id] = (host, epoch, revision)
        self._moved[instance_id] = (epoch, revision)

    async def chain(self, cluster_id: int | None) -> tuple[int, ...]:
        """The cluster and its ancestors, reused for a second."""
        if cluster_id is None:
            return ()
        cached = self._chains.get(cluster_id)
        now = time.monotonic()
        if cached is None or now - cached[0] > _CHAIN_SECONDS:
            cached = self._chains[cluster_id] = (now, tuple(await chain_ids(cluster_id)))
            if len(self._chains) > 1000:
                self._chains.popitem(last=False)
        return cached[1]

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._services.settings.flush_interval)
            try:
                await self.flush()
            except Exception:
                log.exception("recording the change feeds' echoes failed")

    async def flush(self) -> None:
        """Record what is held: deliveries, then events, then positions (a
        position is stored only after what came before it)."""
        async with self._lock:
            echoes, self._echoes = self._echoes, defaultdict(list)
            events, self._events = self._events, []
            moved, self._moved = self._moved, {}
            now = _now()
            landings: list[Landing] = []
            for (operation, op, path, meta), instance_ids in echoes.items():
                # A delete's echo may be of a key below the one deleted: only
                # an exact match confirms (the sender's answer does the rest).
                filters: dict[str, Any] = {"operation_id": operation, "kind": op, "path": path}
                if op is OperationKind.META:
                    filters["meta_key"] = meta
                for start in range(0, len(instance_ids), _CHUNK):
                    pending = Delivery.filter(
                        instance_id__in=instance_ids[start : start + _CHUNK],
                        status=DeliveryStatus.PENDING,
                        **filters,
                    )
                    # Usually none: the sender recorded the answer already.
                    found = await pending.values_list("id", "instance_id")
                    if not found:
                        continue
                    await Delivery.filter(
                        id__in=[row[0] for row in found], status=DeliveryStatus.PENDING
                    ).update(status=DeliveryStatus.APPLIED, applied_at=now, last_error=None)
                    landings += [
                        Landing(operation, int(row[1]), DeliveryStatus.APPLIED) for row in found
                    ]
            if landings:
                # Confirmed by their echo (their answer was lost or is late).
                await publish(self._services, DeliveriesLanded(tuple(landings)))
            await publish(self._services, *events)
            if moved:
                rows = []
                for instance_id, (epoch, revision) in moved.items():
                    row = Instance(id=instance_id, feed_epoch=epoch, feed_revision=revision)
                    row._saved_in_db = True
                    rows.append(row)
                await Instance.bulk_update(
                    rows, fields=["feed_epoch", "feed_revision"], batch_size=_CHUNK
                )
