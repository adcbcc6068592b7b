"""Following each instance's change feed (``/kdbChanges``, long-poll).

Every change an elektrad reports becomes a ``config`` event: with the
operation id and origin "clusterd" when clusterd made it (its writes carry an
``X-Operation-Id`` that the feed echoes), origin "instance" otherwise (another
client of the elektrad, or a mounted file edited on the machine). Changes of
locked keys from outside are checked for drift.

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
import uuid
from typing import Any

from tortoise.expressions import Q

from ..connector.client import canonical_name
from ..connector.exceptions import ConnectorError
from ..models import Instance, Operation, OperationKind
from . import drift, notify
from .services import Services

__all__ = ["FeedFollower"]

log = logging.getLogger("elektra_web.clusterd.follow")

_OPS = {"set": OperationKind.SET, "delete": OperationKind.DELETE, "meta": OperationKind.META}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FeedFollower:
    """Follows the feeds of the instances this replica holds the lease of."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._settings = services.settings
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._supervisor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        tasks = [t for t in [self._supervisor, *self._tasks.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await Instance.filter(follower=self._services.replica_id).update(
            follower=None, follower_until=None
        )

    async def _supervise(self) -> None:
        while True:
            try:
                await self._claim_and_renew()
            except Exception:
                log.exception("following the instances' change feeds failed")
            await asyncio.sleep(self._settings.follow_supervise_interval)

    async def _claim_and_renew(self) -> None:
        me = self._services.replica_id
        until = _now() + dt.timedelta(seconds=self._settings.follow_lease)
        ids = {int(str(i)) for i in await Instance.all().values_list("id", flat=True)}
        for instance_id in list(self._tasks):
            if instance_id not in ids or self._tasks[instance_id].done():
                self._tasks.pop(instance_id).cancel()
        held = list(self._tasks)
        if held:
            await Instance.filter(id__in=held, follower=me).update(follower_until=until)
        for instance_id in sorted(ids - set(held)):
            # One conditional UPDATE: of several replicas one gets the lease.
            claimed = await Instance.filter(
                Q(follower=None) | Q(follower=me) | Q(follower_until__lt=_now()),
                id=instance_id,
            ).update(follower=me, follower_until=until)
            if claimed:
                self._tasks[instance_id] = asyncio.create_task(self._follow(instance_id))

    async def _follow(self, instance_id: int) -> None:
        failures = 0
        while True:
            instance = await Instance.get_or_none(id=instance_id)
            if instance is None or instance.follower != self._services.replica_id:
                return  # removed, or another replica follows it now
            try:
                batch = await self._services.feed_client(instance).changes(
                    since=instance.feed_revision,
                    wait=self._settings.follow_wait,
                    epoch=instance.feed_epoch,
                )
            except ConnectorError:
                failures += 1
                await asyncio.sleep(min(self._settings.retry_max, 0.5 * 2 ** min(failures, 6)))
                continue
            failures = 0
            await self._take(instance, batch)

    async def _take(self, instance: Instance, batch: dict[str, Any]) -> None:
        if batch["reset"]:
            if instance.feed_revision is not None:
                # The daemon restarted or we fell behind: changes may be lost.
                await drift.reconcile(self._services, instance)
            if instance.feed_revision is not None and batch["epoch"] != instance.feed_epoch:
                # A restarted daemon numbers its changes from 1 again, under a
                # new epoch; the ones it made before this poll (a pending
                # delivery sent the moment it was back) are read next, from
                # its start, rather than skipped.
                await Instance.filter(id=instance.id).update(
                    feed_epoch=batch["epoch"], feed_revision=0
                )
                return
        else:
            for change in batch["changes"]:
                await self._publish(instance, change)
        if (batch["epoch"], batch["revision"]) != (instance.feed_epoch, instance.feed_revision):
            await Instance.filter(id=instance.id).update(
                feed_epoch=batch["epoch"], feed_revision=batch["revision"]
            )

    async def _publish(self, instance: Instance, change: dict[str, Any]) -> None:
        op = _OPS.get(str(change.get("op")))
        key = change.get("key")
        if op is None or not isinstance(key, str):
            return  # a kind of change this clusterd does not know: skip it
        path = canonical_name(key)
        operation = await _our_operation(change.get("operation"))
        await notify.config_changed(
            self._services,
            op=op,
            path=path,
            value=change.get("value"),
            previous=change.get("previous"),
            origin="clusterd" if operation else "instance",
            operation_id=operation,
            instance=instance,
            meta=change.get("meta"),
        )
        if operation is None and op is not OperationKind.META:
            deleted = op is OperationKind.DELETE
            await drift.observe(
                self._services, instance, path, change.get("value"), deleted=deleted
            )


async def _our_operation(tag: object) -> str | None:
    """The operation id if the change was made by (any replica of) clusterd."""
    if not isinstance(tag, str):
        return None
    try:
        operation_id = uuid.UUID(tag)
    except ValueError:
        return None
    return tag if await Operation.exists(id=operation_id) else None
