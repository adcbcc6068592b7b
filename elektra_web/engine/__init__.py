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
- :mod:`.history`: every published change of configuration, recorded;
  :mod:`.retention`: the history and settled deliveries, pruned as the
  retention settings say;
- :mod:`.events`: the typed events it publishes; :mod:`.calls`: a change as
  an elektrad call; :mod:`.topology`: clusters, members, locked keys.

Imports run one way: resolvers → engine → models, connector, events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..models import Delivery, DeliveryStatus, Instance, InstanceStatus
from .events import Handover, publish
from .follower import FeedFollower
from .health import check_forever
from .outbox import ensure_source
from .retention import prune_forever
from .sender import Sender
from .services import Services, Settings

__all__ = ["Engine", "Services", "Settings"]

log = logging.getLogger("elektra_web.clusterd")

#: Seconds the sender's rounds in flight get to finish when the engine stops:
#: a call that is answered now is recorded, not sent again by another replica.
ROUND_GRACE = 1.0


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
        self._handovers: asyncio.Task[None] | None = None
        self._pruning: asyncio.Task[None] | None = None

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
        self._handovers = asyncio.create_task(self._take_handovers())
        self._pruning = asyncio.create_task(prune_forever(services))

    async def stop(self) -> None:
        """Stop, and hand over: this replica's leases are released and the
        other replicas told, so that they send and follow at once."""
        services = self.services
        services.stopping.set()
        for task in (self._health, self._handovers, self._pruning):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.follower is not None:
            await self.follower.stop()
        await self.sender.stop(grace=ROUND_GRACE)
        try:
            pending = Delivery.filter(status=DeliveryStatus.PENDING).distinct()
            ids = {int(str(i)) for i in await pending.values_list("instance_id", flat=True)}
            await publish(services, Handover(services.replica_id, tuple(sorted(ids))))
        except Exception:  # the others take over when the leases run out
            log.exception("could not hand over to the other replicas")

    async def _take_handovers(self) -> None:
        """Another replica stopped: send what it left and follow its feeds now."""
        services = self.services
        while True:
            try:
                async with services.bus.subscribe({Handover.TOPIC}) as events:
                    async for event in events:
                        handover = Handover.from_data(event.data)
                        if handover.replica == services.replica_id:
                            continue
                        log.info("replica %s stopped; taking over", handover.replica)
                        self.sender.kick(handover.instance_ids)
                        if self.follower is not None:
                            self.follower.wake()
            except Exception:  # e.g. too slow: subscribe again (the leases cover the gap)
                log.exception("listening for handovers failed")
                await asyncio.sleep(services.settings.retry_tick)
