"""Health checks: each instance's status, last sighting and version."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..connector.fanout import fan_out
from ..models import Instance, InstanceStatus
from . import notify
from .instances import probe
from .services import Services

__all__ = ["check_all", "check_forever"]

log = logging.getLogger("elektra_web.clusterd.health")


async def check_all(services: Services) -> None:
    """Probe every instance at once (bounded); a member that comes back gets
    its pending deliveries right away."""
    instances = await Instance.all()
    before = {i.id: i.status for i in instances}
    by_id = {i.id: i for i in instances}

    def probe_call(instance: Instance) -> Callable[[], Awaitable[object]]:
        return lambda: probe(services, instance)

    results = await fan_out(
        {i.id: probe_call(i) for i in instances},
        limit=services.settings.fanout_limit,
        timeout=services.settings.call_timeout + 1,
    )
    for instance_id, instance in by_id.items():
        if not results[instance_id].ok:
            instance.status = InstanceStatus.OFFLINE
        await Instance.filter(id=instance_id).update(
            status=instance.status,
            last_seen=instance.last_seen,
            elektra_version=instance.elektra_version,
        )
        if instance.status is not before[instance_id]:
            await notify.status_changed(services, instance)
            if instance.status is InstanceStatus.ONLINE:
                log.info("instance %s is online", instance.name)
                await services.delivery.retry_now(instance_id)


async def check_forever(services: Services) -> None:
    while True:
        try:
            await check_all(services)
        except Exception:
            log.exception("health check failed")
        await asyncio.sleep(services.settings.health_interval)
