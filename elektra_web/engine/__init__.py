"""The convergence engine: every member comes to hold its cluster's config,
and what clusterd shows about it is true.

- :mod:`.outbox`: a cluster write takes the next revision and stores one
  delivery per member and step, in the write's transaction; ``settle`` waits
  for the landings (from any replica, through the event bus);
- :mod:`.sender`: claims instances, sends their deliveries in order, fenced
  with their revision, and records outcomes in bulk;
- :mod:`.follower`: follows each member's change feed; our own writes'
  echoes are confirmed in bulk, outside changes checked for drift;
- :mod:`.drift`: a difference with nothing in flight;
- :mod:`.health` and :mod:`.breaker`: who answers, and who is not waited for;
- :mod:`.events`: the typed events it publishes; :mod:`.calls`: a change as
  an elektrad call; :mod:`.topology`: clusters, members, locked keys.

Imports run one way: resolvers → engine → models, connector, events.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..models import Instance, InstanceStatus
from .follower import FeedFollower
from .health import check_forever
from .outbox import ensure_source
from .sender import Sender
from .services import Services, Settings

__all__ = ["Engine", "Services", "Settings"]


class Engine:
    """Starts and stops the engine's parts for the app's lifespan."""

    def __init__(
        self, services: Services, *, follow_feeds: bool = True, health_checks: bool = True
    ) -> None:
        self.services = services
        self.sender = Sender(services)
        self.follower = FeedFollower(services) if follow_feeds else None
        self._health_checks = health_checks
        self._health: asyncio.Task[None] | None = None

    async def start(self) -> None:
        services = self.services
        settings = services.settings
        services.fence_source = await ensure_source()
        services.breakers.configure(settings.retry_base, settings.retry_max)
        offline = await Instance.filter(status=InstanceStatus.OFFLINE).values_list("id", flat=True)
        for instance_id in offline:
            # Known to be down before this start: not waited for until it answers.
            services.breakers.failed(int(str(instance_id)), "offline when clusterd started")
        services.sender = self.sender
        await self.sender.start()
        if self.follower is not None:
            await self.follower.start()
        if self._health_checks:
            self._health = asyncio.create_task(check_forever(services, self.follower))

    async def stop(self) -> None:
        if self._health is not None:
            self._health.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health
        if self.follower is not None:
            await self.follower.stop()
        await self.sender.stop()
