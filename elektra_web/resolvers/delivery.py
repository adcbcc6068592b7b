"""The durable delivery queue of cluster writes (rule 4).

Delivery rows are written in the same transaction as the cluster change. This
service sends them: per instance strictly in id order (so a member that comes
back ends with the latest value), many instances at once (bounded), each call
with a timeout. A delivery the instance refuses (4xx) is FAILED with its
message; one that cannot reach the instance stays PENDING and is retried with
exponential backoff, also after a restart of clusterd.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Iterable

from tortoise.transactions import in_transaction

from ..connector.exceptions import ConnectorError, InstanceRefused
from ..models import Delivery, DeliveryStatus, Instance, InstanceStatus, OperationKind
from . import drift, notify
from .services import Services

__all__ = ["DeliveryService"]

log = logging.getLogger("elektra_web.clusterd.delivery")

_TICK_SECONDS = 1.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DeliveryService:
    """Sends pending deliveries; one drain task per instance at a time."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._settings = services.settings
        self._draining: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._in_flight = asyncio.Semaphore(self._settings.fanout_limit)
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Resume what a previous run left pending, then keep retrying."""
        await Delivery.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=_now())
        await self.kick_due()
        self._ticker = asyncio.create_task(self._tick_forever())

    async def stop(self) -> None:
        tasks = [t for t in [self._ticker, *self._draining.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def kick(self, instance_id: int) -> None:
        """Make sure the instance's queue is being sent."""
        self._again.add(instance_id)
        if instance_id not in self._draining:
            self._draining[instance_id] = asyncio.create_task(self._drain(instance_id))

    async def kick_due(self) -> None:
        due = await (
            Delivery.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=_now())
            .distinct()
            .values_list("instance_id", flat=True)
        )
        for instance_id in due:
            self.kick(int(str(instance_id)))

    async def retry_now(self, instance_id: int) -> None:
        """The instance is back: send its queue now, not after the backoff."""
        await Delivery.filter(instance_id=instance_id, status=DeliveryStatus.PENDING).update(
            next_attempt_at=_now()
        )
        self.kick(instance_id)

    def watch(self, delivery_ids: Iterable[int]) -> list[asyncio.Future[None]]:
        """Futures that resolve when these deliveries are APPLIED or FAILED.

        Call it before kicking, so that none lands unseen; ``forget`` after."""
        loop = asyncio.get_running_loop()
        futures = []
        for delivery_id in delivery_ids:
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(delivery_id, []).append(future)
            futures.append(future)
        return futures

    def forget(self, delivery_ids: Iterable[int]) -> None:
        for delivery_id in delivery_ids:
            self._waiters.pop(delivery_id, None)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(_TICK_SECONDS)
            try:
                await self.kick_due()
            except Exception:
                log.exception("looking for due deliveries failed")

    async def _claim(self, instance_id: int) -> bool:
        """Become the one replica that sends this instance's deliveries for a
        while. The instance row is taken with SKIP LOCKED, so that replicas
        claiming at once do not wait for each other: one wins, the others
        leave it."""
        me = self._services.replica_id
        now = _now()
        async with in_transaction():
            row = await Instance.filter(id=instance_id).select_for_update(skip_locked=True).first()
            if row is None:
                return False  # gone, or another replica is claiming it now
            if row.sender not in (None, me) and row.sender_until and row.sender_until > now:
                return False
            lease = now + dt.timedelta(seconds=self._settings.follow_lease)
            await Instance.filter(id=instance_id).update(sender=me, sender_until=lease)
        return True

    async def _release(self, instance_id: int) -> None:
        me = self._services.replica_id
        await Instance.filter(id=instance_id, sender=me).update(sender=None, sender_until=None)

    async def _drain(self, instance_id: int) -> None:
        try:
            if not await self._claim(instance_id):
                return
            await self._send_queue(instance_id)
        except Exception:
            log.exception("delivering to instance %s failed", instance_id)
        finally:
            # Release before leaving: a drain started in between would find its
            # lease taken away from under it. (A kick meanwhile is picked up by
            # the ticker within a second.)
            with contextlib.suppress(Exception):
                await self._release(instance_id)
            self._draining.pop(instance_id, None)

    async def _send_queue(self, instance_id: int) -> None:
        me = self._services.replica_id
        instance = await Instance.get_or_none(id=instance_id)
        if instance is None:
            return
        lease_seconds = self._settings.follow_lease
        renewed = _now()
        while True:
            self._again.discard(instance_id)
            delivery = await (
                Delivery.filter(instance_id=instance_id, status=DeliveryStatus.PENDING)
                .order_by("id")
                .first()
            )
            if delivery is None or delivery.next_attempt_at > _now():
                if instance_id in self._again:
                    continue  # kicked while we looked: look again
                return
            if (_now() - renewed).total_seconds() > lease_seconds / 3:
                # A long queue: keep the claim (but not a write per delivery).
                renewed = _now()
                until = renewed + dt.timedelta(seconds=lease_seconds)
                await Instance.filter(id=instance_id, sender=me).update(sender_until=until)
            if not await self._attempt(instance, delivery):
                return  # unreachable: the ticker retries after the backoff

    async def _attempt(self, instance: Instance, delivery: Delivery) -> bool:
        """Send one delivery; False if the instance could not be reached."""
        delivery.attempts += 1
        try:
            async with self._in_flight:
                await _send(self._services, instance, delivery)
        except InstanceRefused as exc:
            if exc.status in (401, 403):
                # clusterd's token for it is wrong: the change is not refused,
                # it waits (PENDING) until an admin fixes the token.
                error = f"{instance.name} refused clusterd's credentials ({exc.status})"
                return await self._retry_later(instance, delivery, error)
            if exc.status == 404 and delivery.kind in (OperationKind.DELETE, OperationKind.META):
                delivery.status = DeliveryStatus.APPLIED  # already gone: a retry
            else:
                delivery.status = DeliveryStatus.FAILED
                delivery.last_error = f"{instance.name} refused: {exc.message}"
        except ConnectorError as exc:
            return await self._retry_later(instance, delivery, str(exc))
        else:
            delivery.status = DeliveryStatus.APPLIED
        if delivery.status is DeliveryStatus.APPLIED:
            delivery.applied_at = _now()
            delivery.last_error = None
        await delivery.save()
        for future in self._waiters.pop(delivery.id, []):
            if not future.done():
                future.set_result(None)
        await notify.delivery_landed(self._services, delivery)
        if delivery.status is DeliveryStatus.APPLIED and delivery.kind is OperationKind.SET:
            await drift.resolve(self._services, instance.id, delivery.path)
        return True

    async def _retry_later(self, instance: Instance, delivery: Delivery, error: str) -> bool:
        """Keep the delivery PENDING, retry after a backoff; the instance is
        OFFLINE to clusterd meanwhile."""
        delivery.last_error = error
        delivery.next_attempt_at = _now() + dt.timedelta(seconds=self._backoff(delivery))
        await delivery.save()
        if instance.status is not InstanceStatus.OFFLINE:
            instance.status = InstanceStatus.OFFLINE
            await Instance.filter(id=instance.id).update(status=InstanceStatus.OFFLINE)
            await notify.status_changed(self._services, instance)
        return False

    def _backoff(self, delivery: Delivery) -> float:
        base = self._settings.retry_base * 2.0 ** min(delivery.attempts - 1, 20)
        jitter = random.uniform(0.8, 1.2)  # instances back at once do not retry in step
        return float(min(self._settings.retry_max, base) * jitter)


async def _send(services: Services, instance: Instance, delivery: Delivery) -> None:
    client = services.client(instance, operation=str(delivery.operation_id))
    match delivery.kind:
        case OperationKind.SET:
            await client.set(delivery.path, delivery.value or "")
        case OperationKind.DELETE:
            await client.delete(delivery.path)
        case OperationKind.META if delivery.value is None:
            assert delivery.meta_key is not None
            await client.delete_meta(delivery.path, delivery.meta_key)
        case OperationKind.META:
            assert delivery.meta_key is not None and delivery.value is not None
            await client.set_meta(delivery.path, delivery.meta_key, delivery.value)
        case OperationKind.MOVE:
            assert delivery.target is not None
            await client.move(delivery.path, delivery.target)
        case OperationKind.COPY:
            assert delivery.target is not None
            await client.copy(delivery.path, delivery.target)
