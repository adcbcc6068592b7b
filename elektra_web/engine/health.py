"""Health: each instance's status, last sighting and version.

A health check asks every instance's elektrad for ``/version`` at once
(bounded), except those whose change feed answered within the interval: a
followed feed is proof of life, so with a thousand followed instances a check
costs almost nothing. Only what changed is written, in bulk. An instance that
comes back closes its circuit and gets its pending deliveries at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..connector import exceptions as connector_errors
from ..connector.fanout import fan_out
from ..models import Instance, InstanceStatus
from .events import StatusChanged, publish
from .outbox import note_unreachable
from .services import Services

if TYPE_CHECKING:
    from .follower import FeedFollower

__all__ = ["AnotherDaemon", "CredentialsRefused", "check_all", "check_forever", "probe"]

log = logging.getLogger("elektra_web.clusterd.health")

_CHUNK = 500


class CredentialsRefused(Exception):
    """The elektrad refused clusterd's token (``status`` 401 or 403)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class AnotherDaemon(Exception):
    """The address answers with another elektrad's ``instanceId`` than the
    one registered there (a lying member, or another daemon moved in)."""


async def probe(
    services: Services,
    instance: Instance,
    *,
    refuse_credentials: bool = False,
    health_check: bool = False,
) -> dict[str, Any] | None:
    """Ask the instance's elektrad for its version; note status and identity.

    Does not save. Returns the version, or ``None`` if it could not be reached.
    With ``refuse_credentials`` (registering, changing the token), an elektrad
    that refuses clusterd's token raises :class:`CredentialsRefused` rather
    than counting as offline. With ``health_check``, a failed call is raised
    (its reason marks the instance), and an elektrad that reports another
    ``instanceId`` than the registered one raises :class:`AnotherDaemon`: it
    is not the instance, whatever else it says.
    """
    try:
        version = await services.client(instance).version()
    except connector_errors.InstanceRefused as exc:
        if refuse_credentials and exc.status in (401, 403):
            raise CredentialsRefused(exc.status) from exc
        instance.status = InstanceStatus.OFFLINE
        return None
    except connector_errors.ConnectorError:
        instance.status = InstanceStatus.OFFLINE
        if health_check:
            raise  # its reason marks the instance
        return None
    reported = version.get("instanceId")
    if health_check and instance.elektrad_id is not None and reported != instance.elektrad_id:
        instance.status = InstanceStatus.OFFLINE
        shown = repr(reported)[:80]
        raise AnotherDaemon(
            f"{instance.name} answers as another elektrad (instanceId {shown}, "
            f"registered {instance.elektrad_id!r})"
        )
    instance.status = InstanceStatus.ONLINE
    instance.last_seen = dt.datetime.now(dt.UTC)
    if instance.feed_epoch is None:
        # Follow its change feed from this moment on, not from the moment the
        # follower gets to it: a change in between would be lost.
        try:
            position = await services.client(instance).changes(wait=0)
        except connector_errors.ConnectorError:
            pass
        else:
            instance.feed_epoch, instance.feed_revision = position["epoch"], position["revision"]
    elektra = version.get("elektra")
    if isinstance(elektra, dict) and isinstance(elektra.get("version"), str):
        instance.elektra_version = elektra["version"]
    if isinstance(version.get("instanceId"), str):
        instance.elektrad_id = version["instanceId"]
    return version


async def check_all(services: Services, follower: FeedFollower | None = None) -> None:
    """Probe every instance not seen lately; record what changed."""
    interval = services.settings.health_interval
    instances = await Instance.all()
    seen = [
        i
        for i in instances
        if follower is not None
        and i.status is InstanceStatus.ONLINE
        and follower.seen_recently(i.id, interval)
    ]
    seen_ids = {i.id for i in seen}
    asked = [i for i in instances if i.id not in seen_ids]
    before = {i.id: (i.status, i.elektra_version) for i in asked}

    def probe_call(instance: Instance) -> Callable[[], Awaitable[object]]:
        return lambda: probe(services, instance, refuse_credentials=True, health_check=True)

    results = await fan_out(
        {i.id: probe_call(i) for i in asked},
        limit=services.settings.fanout_limit,
        timeout=services.settings.call_timeout + 1,
    )
    now = dt.datetime.now(dt.UTC)
    alive = sorted(seen_ids)
    events: list[StatusChanged] = []
    for instance in asked:
        status, version = before[instance.id]
        back = False
        error = results[instance.id].error
        if error is not None:
            instance.status = InstanceStatus.OFFLINE
        if instance.status is InstanceStatus.ONLINE:
            alive.append(instance.id)
            back = services.breakers.succeeded(instance.id) or status is not InstanceStatus.ONLINE
        elif isinstance(error, CredentialsRefused):
            why = f"{instance.name} refused clusterd's credentials ({error.status})"
            await note_unreachable(services, instance.id, why)
        elif isinstance(error, AnotherDaemon):
            log.warning("%s", error)
            await note_unreachable(services, instance.id, str(error))
        else:
            cause = f": {error}" if error is not None else ""
            why = f"{instance.name} did not answer a health check{cause}"
            await note_unreachable(services, instance.id, why)
        if (instance.status, instance.elektra_version) != (status, version):
            await Instance.filter(id=instance.id).update(
                status=instance.status, elektra_version=instance.elektra_version
            )
        if instance.status is not status:
            events.append(StatusChanged(instance.id, instance.status))
            log.info("instance %s is %s", instance.name, instance.status.value.lower())
        if back and services.sender is not None:
            await services.sender.retry_now(instance.id)
    for start in range(0, len(alive), _CHUNK):
        await Instance.filter(id__in=alive[start : start + _CHUNK]).update(last_seen=now)
    await publish(services, *events)


async def check_forever(services: Services, follower: FeedFollower | None = None) -> None:
    while True:
        try:
            await check_all(services, follower)
        except Exception:
            log.exception("health check failed")
        await asyncio.sleep(services.settings.health_interval)
