"""The sender: pending deliveries reach their members, in batches.

A kick (a cluster write, a member coming back, the retry ticker) marks
instances as due. The sender takes every due instance that no round of its
own is busy with into one *round*:

1. **claim** them for this replica: one conditional UPDATE of the instances'
   sender lease (of several replicas exactly one sends to an instance at a
   time), then one SELECT of what it got;
2. **load** their pending deliveries in one query, in id order, and drop what
   a later delivery in the same queue replaces (SUPERSEDED, never sent);
3. **send**: instances concurrently (at most ``fanout_limit`` calls at once),
   each instance's deliveries one after another, each fenced with its
   revision. Before each call the sender makes sure its lease still holds; a
   sender that lost it stops;
4. **record** the outcomes in bulk every ``flush_interval`` while the round
   runs (so a slow member does not hold back the landings of fast ones):
   conditional UPDATEs (``WHERE status = 'PENDING'``, never a save of a stale
   row), one ``DeliveriesLanded`` event, drift that a landing settles.

An outcome is one of: applied; SUPERSEDED (a newer revision is there: our
elektrad answered ``Stale``); refused for good (FAILED, with the member's
reason, until the key changes or an editor retries it); refused for now (a
broken mounted file, a conflict: retried with backoff, the member stays
ONLINE); unreachable (the instance's circuit opens, it is OFFLINE, its queue
waits for the backoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tortoise.expressions import F, Q

from ..connector.exceptions import ConnectorError, InstanceRefused, StaleWrite
from ..models import Delivery, DeliveryStatus, Instance, InstanceStatus, OperationKind
from . import calls, drift
from .events import DeliveriesLanded, Kick, Landing, StatusChanged, publish
from .services import Services

__all__ = ["Sender", "coalesce"]

log = logging.getLogger("elektra_web.clusterd.delivery")

_CHUNK = 500
#: Refusals that a later attempt may not get: the member is fine, the key's
#: file is not (yet).
_TRANSIENT = {"MountError", "Conflict"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def coalesce(queue: list[Delivery]) -> tuple[list[Delivery], list[Delivery]]:
    """Split one instance's pending deliveries (in id order) into those to
    send and those a later one in the queue makes pointless: a value set
    again or deleted later, a metadata entry set again or its key deleted."""
    keep: list[Delivery] = []
    dropped: list[Delivery] = []
    later_values: set[str] = set()
    later_deletes: set[str] = set()
    later_meta: set[tuple[str, str | None]] = set()
    for delivery in reversed(queue):
        path = delivery.path
        match delivery.kind:
            case OperationKind.SET:
                pointless = path in later_values
                later_values.add(path)
            case OperationKind.META:
                pointless = (path, delivery.meta_key) in later_meta or path in later_deletes
                later_meta.add((path, delivery.meta_key))
            case OperationKind.DELETE:
                pointless = False  # also removes what a member has below it
                later_values.add(path)
                later_deletes.add(path)
            case _:
                pointless = False
        (dropped if pointless else keep).append(delivery)
    keep.reverse()
    return keep, dropped


class _Lease:
    """A round's claim on its instances. Checked before every call; renewed
    in one query for all of them when a third of it has passed (a long
    round, or this process was paused: then it is usually gone)."""

    def __init__(self, sender: Sender, ids: list[int]) -> None:
        self._sender = sender
        self._held = set(ids)
        self._renewed = time.monotonic()
        self._seconds = sender._settings.follow_lease
        self._lock = asyncio.Lock()

    async def holds(self, instance_id: int) -> bool:
        if time.monotonic() - self._renewed > self._seconds / 3:
            async with self._lock:
                if time.monotonic() - self._renewed > self._seconds / 3:
                    self._held = await self._sender.renew(sorted(self._held))
                    self._renewed = time.monotonic()
        return instance_id in self._held


@dataclass
class _Outcomes:
    """What a round learned and has not recorded yet."""

    applied: list[Delivery] = field(default_factory=list)
    #: When each applied delivery's answer came (drift seen later is real).
    answered: list[dt.datetime] = field(default_factory=list)
    superseded: list[Delivery] = field(default_factory=list)
    failed: list[tuple[Delivery, str]] = field(default_factory=list)
    #: Refused for now: retried after a backoff of their own.
    later: list[tuple[Delivery, str]] = field(default_factory=list)
    #: Instance -> (why, its deliveries of this round that did not go).
    unreachable: dict[int, tuple[str, list[Delivery]]] = field(default_factory=dict)
    #: Instances that answered (whatever they said).
    reached: set[int] = field(default_factory=set)
    #: Instances whose queue of this round is done.
    finished: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(
            self.applied
            or self.superseded
            or self.failed
            or self.later
            or self.unreachable
            or self.reached
            or self.finished
        )

    def apply(self, delivery: Delivery) -> None:
        self.applied.append(delivery)
        self.answered.append(_now())

    def take(self) -> _Outcomes:
        taken = _Outcomes(
            self.applied,
            self.answered,
            self.superseded,
            self.failed,
            self.later,
            self.unreachable,
            self.reached,
            self.finished,
        )
        self.applied, self.answered, self.superseded, self.failed, self.later = [], [], [], [], []
        self.unreachable, self.reached, self.finished = {}, set(), set()
        return taken


class Sender:
    """Sends the pending deliveries of the instances this replica claims."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._settings = services.settings
        self._due: set[int] = set()
        #: Instances a round of this replica is sending to, and which round.
        self._busy: dict[int, object] = {}
        self._wake = asyncio.Event()
        self._calls = asyncio.Semaphore(self._settings.fanout_limit)
        self._rounds: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Resume what a previous run left pending, then keep sending."""
        await Delivery.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=_now())
        self._tasks = [
            asyncio.create_task(self._run()),
            asyncio.create_task(self._tick()),
            asyncio.create_task(self._listen_forever()),
        ]
        await self.kick_due()

    async def stop(self, grace: float = 0.0) -> None:
        """Start no round; give the rounds in flight ``grace`` seconds to
        finish and record what they learned, cancel the rest (what they had
        not recorded stays PENDING: sent again, fenced with the same revision);
        release every sender lease of this replica, so that another one sends
        at once instead of after the lease runs out."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._rounds and grace > 0:
            await asyncio.wait(list(self._rounds), timeout=grace)
        rounds = list(self._rounds)
        for task in rounds:
            task.cancel()
        for task in rounds:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await Instance.filter(sender=self._services.replica_id).update(
                sender=None, sender_until=None
            )

    def kick(self, instance_ids: Iterable[int]) -> None:
        """Send these instances' pending deliveries now (those that are due)."""
        self._due.update(instance_ids)
        self._wake.set()

    async def kick_due(self) -> None:
        """Kick every instance with a delivery due (after its backoff)."""
        due = await (
            Delivery.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=_now())
            .distinct()
            .values_list("instance_id", flat=True)
        )
        self.kick(int(str(i)) for i in due)

    async def retry_now(self, instance_id: int) -> None:
        """The instance is back (or its files were repaired): its pending
        deliveries go now, not after their backoff."""
        await Delivery.filter(instance_id=instance_id, status=DeliveryStatus.PENDING).update(
            next_attempt_at=_now()
        )
        self.kick([instance_id])

    async def _listen_forever(self) -> None:
        """Kicks from other replicas (they found an instance's lease ours)."""
        while True:
            try:
                async with self._services.bus.subscribe({Kick.TOPIC}) as events:
                    async for event in events:
                        kick = Kick.from_data(event.data)
                        if kick.replica != self._services.replica_id:
                            self.kick(kick.instance_ids)
            except Exception:  # e.g. too slow: subscribe again (the ticker covers the gap)
                log.exception("listening for kicks failed")
                await asyncio.sleep(self._settings.retry_tick)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._settings.retry_tick)
            try:
                await self.kick_due()
            except Exception:
                log.exception("looking for due deliveries failed")

    async def _run(self) -> None:
        breakers = self._services.breakers
        while True:
            await self._wake.wait()
            self._wake.clear()
            free = {i for i in self._due if i not in self._busy}
            self._due -= free
            # An open circuit waits: the ticker brings it back when it is due.
            ready = {i for i in free if not breakers.is_open(i)}
            if not ready:
                continue
            token = object()
            for instance_id in ready:
                self._busy[instance_id] = token
            task = asyncio.create_task(self._round(ready, token))
            self._rounds.add(task)
            task.add_done_callback(self._rounds.discard)

    def _free(self, ids: Iterable[int], token: object) -> None:
        """The round ``token`` is done with these instances: a kick that came
        meanwhile starts another round for them."""
        for instance_id in ids:
            if self._busy.get(instance_id) is token:
                del self._busy[instance_id]
        if self._due:
            self._wake.set()

    # -- a round ----------------------------------------------------------------

    async def _round(self, ids: set[int], token: object) -> None:
        claimed: list[int] = []
        released: set[int] = set()
        try:
            claimed = await self._claim(sorted(ids))
            if len(claimed) < len(ids):
                # Another replica sends to the rest now: have it look again
                # (else it would notice only at its next retry tick).
                others = tuple(sorted(ids - set(claimed)))
                await publish(self._services, Kick(self._services.replica_id, others))
            if claimed:
                await self._send(claimed, token, released)
        except Exception:
            log.exception("delivering to %d instances failed", len(ids))
        finally:
            rest = [i for i in claimed if i not in released]
            if rest:
                with contextlib.suppress(Exception):
                    await self._release(rest)
            self._free(ids, token)

    async def _claim(self, ids: list[int]) -> list[int]:
        """The instances of ``ids`` this replica may send to now (their lease
        is free, expired, or already its own)."""
        me = self._services.replica_id
        now = _now()
        until = now + dt.timedelta(seconds=self._settings.follow_lease)
        mine: list[int] = []
        for chunk in _chunks(ids):
            await Instance.filter(
                Q(sender=None) | Q(sender=me) | Q(sender_until__lt=now), id__in=chunk
            ).update(sender=me, sender_until=until)
            got = await Instance.filter(id__in=chunk, sender=me).values_list("id", flat=True)
            mine += [int(str(i)) for i in got]
        return mine

    async def _release(self, ids: list[int]) -> None:
        me = self._services.replica_id
        for chunk in _chunks(ids):
            await Instance.filter(id__in=chunk, sender=me).update(sender=None, sender_until=None)

    async def _send(self, claimed: list[int], token: object, released: set[int]) -> None:
        """Send the claimed instances' queues. Each instance is released (its
        lease, and for this replica's next round) as soon as its queue is
        done: one slow member does not hold back the next write to the others."""
        now = _now()
        instances: dict[int, Instance] = {}
        queues: dict[int, list[Delivery]] = defaultdict(list)
        for chunk in _chunks(claimed):
            instances.update({i.id: i for i in await Instance.filter(id__in=chunk)})
            pending = Delivery.filter(instance_id__in=chunk, status=DeliveryStatus.PENDING)
            for delivery in await pending.order_by("id"):
                queues[delivery.instance_id].append(delivery)
        outcomes = _Outcomes()
        for instance_id, queue in list(queues.items()):
            # All pending ones, due or not: one waiting for its backoff is
            # still replaced by a newer one (never sent after it).
            keep, dropped = coalesce(queue)
            outcomes.superseded += dropped
            queues[instance_id] = [d for d in keep if d.next_attempt_at <= now]
        outcomes.finished.update(i for i in claimed if not queues.get(i) or i not in instances)
        lease = _Lease(self, claimed)
        done = asyncio.Event()
        recorder = asyncio.create_task(self._record_while(outcomes, done, token, released))
        try:
            async with asyncio.TaskGroup() as group:
                for instance_id, queue in queues.items():
                    if queue and instance_id in instances:
                        group.create_task(
                            self._send_queue(instances[instance_id], queue, outcomes, lease)
                        )
        finally:
            done.set()
            await recorder

    async def _send_queue(
        self, instance: Instance, queue: list[Delivery], outcomes: _Outcomes, lease: _Lease
    ) -> None:
        """One instance's deliveries, in order, while the lease holds."""
        try:
            await self._send_each(instance, queue, outcomes, lease)
        finally:
            outcomes.finished.add(instance.id)

    async def _send_each(
        self, instance: Instance, queue: list[Delivery], outcomes: _Outcomes, lease: _Lease
    ) -> None:
        for position, delivery in enumerate(queue):
            if not await lease.holds(instance.id):
                log.warning("lost the lease on %s; another replica sends", instance.name)
                return
            client = self._services.client(
                instance, operation=str(delivery.operation_id), revision=delivery.revision
            )
            try:
                async with self._calls:
                    await calls.apply(
                        client,
                        delivery.kind,
                        delivery.path,
                        value=delivery.value,
                        target=delivery.target,
                        meta_key=delivery.meta_key,
                    )
            except StaleWrite:
                outcomes.reached.add(instance.id)
                outcomes.superseded.append(delivery)
            except InstanceRefused as exc:
                if exc.status in (401, 403):
                    # clusterd's token for it is wrong: not refused, waiting
                    # (PENDING) until an admin fixes the token.
                    why = f"{instance.name} refused clusterd's credentials ({exc.status})"
                    outcomes.unreachable[instance.id] = (why, queue[position:])
                    return
                outcomes.reached.add(instance.id)
                if exc.status == 404 and delivery.kind is not OperationKind.SET:
                    outcomes.apply(delivery)  # deleted already: a retry
                elif exc.name in _TRANSIENT:
                    outcomes.later.append((delivery, f"{instance.name} refused: {exc.message}"))
                else:
                    outcomes.failed.append((delivery, f"{instance.name} refused: {exc.message}"))
            except ConnectorError as exc:
                outcomes.unreachable[instance.id] = (str(exc), queue[position:])
                return
            else:
                outcomes.reached.add(instance.id)
                outcomes.apply(delivery)

    async def renew(self, ids: list[int]) -> set[int]:
        """Extend this replica's lease on ``ids``; those it still holds. A
        lease that ran out is lost even if nobody took it: a sender that was
        paused that long must look again before it sends."""
        me = self._services.replica_id
        now = _now()
        until = now + dt.timedelta(seconds=self._settings.follow_lease)
        held: set[int] = set()
        for chunk in _chunks(ids):
            await Instance.filter(id__in=chunk, sender=me, sender_until__gt=now).update(
                sender_until=until
            )
            got = Instance.filter(id__in=chunk, sender=me, sender_until__gt=now)
            held.update(int(str(i)) for i in await got.values_list("id", flat=True))
        return held

    # -- recording --------------------------------------------------------------

    async def _record_while(
        self, outcomes: _Outcomes, done: asyncio.Event, token: object, released: set[int]
    ) -> None:
        """Record what ``outcomes`` holds every ``flush_interval`` until
        ``done``, and then what came in meanwhile, so that nothing is left."""
        while True:
            finished = done.is_set()
            if not finished:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), self._settings.flush_interval)
            if outcomes:
                taken = outcomes.take()
                try:
                    await self._record(taken)
                    ready = sorted(taken.finished - released)
                    if ready:
                        await self._release(ready)
                        released.update(ready)
                        self._free(ready, token)
                except Exception:
                    log.exception("recording delivery outcomes failed")
            if finished:
                return

    async def _record(self, taken: _Outcomes) -> None:
        services = self._services
        now = _now()
        pending = Delivery.filter(status=DeliveryStatus.PENDING)
        landings: list[Landing] = []
        applied_ids = [d.id for d in taken.applied]
        for chunk in _chunks(applied_ids):
            await pending.filter(id__in=chunk).update(
                status=DeliveryStatus.APPLIED, applied_at=now, last_error=None
            )
        for chunk in _chunks([d.id for d in taken.superseded]):
            await pending.filter(id__in=chunk).update(status=DeliveryStatus.SUPERSEDED)
        by_error: dict[str, list[int]] = defaultdict(list)
        for delivery, error in taken.failed:
            by_error[error].append(delivery.id)
        for error, ids in by_error.items():
            for chunk in _chunks(ids):
                await pending.filter(id__in=chunk).update(
                    status=DeliveryStatus.FAILED, last_error=error
                )
        for delivery, error in taken.later:
            pause = self._backoff(delivery.attempts + 1)
            await pending.filter(id=delivery.id).update(
                attempts=F("attempts") + 1,
                last_error=error,
                next_attempt_at=now + dt.timedelta(seconds=pause),
            )
        landings += [
            Landing(str(d.operation_id), d.instance_id, DeliveryStatus.APPLIED)
            for d in taken.applied
        ]
        landings += [
            Landing(str(d.operation_id), d.instance_id, DeliveryStatus.SUPERSEDED)
            for d in taken.superseded
        ]
        landings += [
            Landing(str(d.operation_id), d.instance_id, DeliveryStatus.FAILED, error)
            for d, error in taken.failed
        ]
        landings += [
            Landing(str(d.operation_id), d.instance_id, DeliveryStatus.PENDING, error)
            for d, error in taken.later
        ]
        if services.metrics is not None:
            services.metrics.recorded(
                taken.applied,
                taken.answered,
                superseded=len(taken.superseded),
                failed=len(taken.failed),
                retried=len(taken.later),
                unreachable=sum(len(left) for _, left in taken.unreachable.values()),
            )
        status_events = await self._record_unreachable(taken, now, landings)
        status_events += await self._record_reached(taken.reached - set(taken.unreachable), now)
        if landings:
            await publish(services, DeliveriesLanded(tuple(landings)))
        await publish(services, *status_events)
        settled = [
            (d.instance_id, d.path, at)
            for d, at in zip(taken.applied, taken.answered, strict=True)
            if d.kind in (OperationKind.SET, OperationKind.DELETE)
        ]
        if settled:
            await drift.settled_by_landings(services, settled)

    async def _record_unreachable(
        self, taken: _Outcomes, now: dt.datetime, landings: list[Landing]
    ) -> list[StatusChanged]:
        breakers = self._services.breakers
        for instance_id, (why, left) in taken.unreachable.items():
            pause = breakers.failed(instance_id, why)
            await Delivery.filter(instance_id=instance_id, status=DeliveryStatus.PENDING).update(
                attempts=F("attempts") + 1,
                last_error=why,
                next_attempt_at=now + dt.timedelta(seconds=pause),
            )
            seen = set()
            for delivery in left:
                if delivery.operation_id not in seen:
                    seen.add(delivery.operation_id)
                    landings.append(
                        Landing(
                            str(delivery.operation_id), instance_id, DeliveryStatus.PENDING, why
                        )
                    )
        return await _set_status(list(taken.unreachable), InstanceStatus.OFFLINE)

    async def _record_reached(self, reached: set[int], now: dt.datetime) -> list[StatusChanged]:
        for instance_id in reached:
            self._services.breakers.succeeded(instance_id)
        return await _set_status(sorted(reached), InstanceStatus.ONLINE, last_seen=now)

    def _backoff(self, attempts: int) -> float:
        base = self._settings.retry_base * 2.0 ** min(attempts - 1, 20)
        return float(min(self._settings.retry_max, base) * random.uniform(0.8, 1.2))


async def _set_status(
    ids: list[int], status: InstanceStatus, last_seen: dt.datetime | None = None
) -> list[StatusChanged]:
    """Set the instances' status where it differs; the changes, as events."""
    if not ids:
        return []
    changed: list[int] = []
    for chunk in _chunks(ids):
        other = (
            await Instance.filter(id__in=chunk).exclude(status=status).values_list("id", flat=True)
        )
        changed += [int(str(i)) for i in other]
    for chunk in _chunks(changed):
        fields: dict[str, object] = {"status": status}
        if last_seen is not None:
            fields["last_seen"] = last_seen
        await Instance.filter(id__in=chunk).update(**fields)
    return [StatusChanged(instance_id, status) for instance_id in changed]
