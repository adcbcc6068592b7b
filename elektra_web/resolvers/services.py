"""What resolvers need for the life of the app: the shared HTTP client to the
elektrads, the delivery queue, the settings."""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from ..connector.client import ElektradClient
from ..connector.hosts import Network, parse_networks
from ..events import EventBus
from ..models import Instance
from .sessions import Sessions

if TYPE_CHECKING:
    from .delivery import DeliveryService


@dataclass(frozen=True)
class Settings:
    #: Seconds for one call to an elektrad.
    call_timeout: float = 5.0
    #: How long a cluster write waits for its deliveries before it reports
    #: the rest as PENDING (they go on in the background).
    write_wait: float = 5.0
    #: Calls to elektrads in flight at once, per fan-out.
    fanout_limit: int = 64
    #: Seconds between health checks of every instance.
    health_interval: float = 10.0
    #: Retry backoff of a delivery that could not reach its instance.
    retry_base: float = 1.0
    retry_max: float = 60.0
    #: Seconds an elektrad may hold a change-feed poll open.
    follow_wait: float = 25.0
    #: Seconds a replica's claim on an instance (following its feed, sending
    #: its deliveries) lasts unless renewed; another replica takes over after.
    follow_lease: float = 15.0
    #: Seconds between looks for instances to follow.
    follow_supervise_interval: float = 5.0
    #: Events a subscriber may have waiting; one that falls further behind is
    #: dropped (with an error), so it never stalls others or eats memory.
    subscriber_queue: int = 1000
    #: Seconds a websocket may take to send connection_init.
    ws_init_timeout: float = 10.0
    max_subscriptions_per_socket: int = 100
    #: Origins (besides clusterd's own) whose pages may open a websocket.
    allowed_origins: tuple[str, ...] = ()
    #: Networks instances may be in (CIDR); empty: anywhere but link-local
    #: and cloud metadata addresses, which are always refused.
    allowed_networks: tuple[str, ...] = ()
    #: Keys one GraphQL request may read from elektrads (a query that fans out
    #: to many instances costs one per instance and field).
    max_reads_per_request: int = 20_000
    #: Seconds between looks for tokens revoked by another replica or the
    #: command line, whose websockets here must close.
    token_sweep_interval: float = 1.0


@dataclass
class Services:
    http: httpx.AsyncClient
    bus: EventBus
    #: For the change feeds' long polls: each holds a connection for up to
    #: ``follow_wait``, so they get their own pool and never starve the calls
    #: of reads and writes (one connection per followed instance).
    feed_http: httpx.AsyncClient | None = None
    settings: Settings = field(default_factory=Settings)
    deliveries: DeliveryService | None = None
    #: Open websockets by token, to end them when their token is revoked.
    sessions: Sessions = field(default_factory=Sessions)
    #: This clusterd process, in leases it holds on instances.
    replica_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: Instances read for events, shared by all subscribers (see live.py).
    recent_instances: dict[int, tuple[float, asyncio.Task[Instance | None]]] = field(
        default_factory=dict
    )

    @functools.cached_property
    def allowed_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.settings.allowed_networks)

    def client(self, instance: Instance, operation: str | None = None) -> ElektradClient:
        """A client for the instance (with its token); writes are tagged with
        ``operation``."""
        return ElektradClient(
            self.http,
            instance.host,
            timeout=self.settings.call_timeout,
            token=instance.token,
            operation=operation,
        )

    def feed_client(self, instance: Instance) -> ElektradClient:
        http = self.feed_http or self.http
        return ElektradClient(
            http, instance.host, timeout=self.settings.call_timeout, token=instance.token
        )

    def client_for_host(self, host: str, token: str | None = None) -> ElektradClient:
        return ElektradClient(self.http, host, timeout=self.settings.call_timeout, token=token)

    @property
    def delivery(self) -> DeliveryService:
        assert self.deliveries is not None, "the delivery service starts with the app"
        return self.deliveries
