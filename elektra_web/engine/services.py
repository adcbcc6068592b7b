"""What clusterd needs for the life of the app: the settings, the shared HTTP
clients to the elektrads, the event bus, the engine's sender and circuit
breakers. Built once in the lifespan; resolvers and the engine take it."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from ..connector.client import MAX_ANSWER, ElektradClient
from ..connector.hosts import Network, parse_networks
from ..events import EventBus
from ..events.sessions import Sessions
from ..models import Instance
from .breaker import Breakers

_REMEMBERED_OPERATIONS = 100_000

if TYPE_CHECKING:
    from .metrics import Metrics
    from .sender import Sender


@dataclass(frozen=True)
class Settings:
    #: Seconds a read of a member must have started before a delivery of the
    #: key landed to prove anything about it: what replicas' clocks (which
    #: stamp landings) may differ by, and a recording's delay.
    read_margin: float = 5.0
    #: Seconds for one call to an elektrad.
    call_timeout: float = 5.0
    #: Bytes of one elektrad answer clusterd reads at most (a whole
    #: database's tree, or a full change-feed page, fits); past it the call
    #: fails, naming the member.
    max_answer: int = MAX_ANSWER
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
    follow_wait: float = 55.0
    #: Seconds a replica's claim on an instance (following its feed, sending
    #: its deliveries) lasts unless renewed; another replica takes over after.
    follow_lease: float = 15.0
    #: Seconds between looks for instances to follow.
    follow_supervise_interval: float = 5.0
    #: Events a subscriber may have waiting; one that falls further behind is
    #: dropped (with an error), so it never stalls others or eats memory.
    subscriber_queue: int = 1000
    #: Websocket subscribers asking the same thing share one execution per
    #: event (see clusterd/multiplex.py); off only to measure what it saves.
    multiplex_subscriptions: bool = True
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
    #: How often the sender looks for deliveries due for a retry.
    retry_tick: float = 1.0
    #: Seconds the sender collects landings before it records them in one go.
    flush_interval: float = 0.02
    #: Record every change of configuration in the history (``engine/history.py``);
    #: off, nothing is recorded (what was is kept, and still pruned): to measure
    #: what recording costs, or where nobody reads it.
    history_enabled: bool = True
    #: History entries older than this many days are pruned (None: kept
    #: whatever their age).
    history_max_age: float | None = 90.0
    #: At most this many history entries are kept, the newest (None: no limit).
    history_max_entries: int | None = None
    #: Settled deliveries (APPLIED, SUPERSEDED) older than this many days are
    #: pruned (None: kept whatever their age); PENDING and FAILED never are.
    delivery_max_age: float | None = 30.0
    #: Seconds between rounds of pruning the history and the deliveries
    #: (``engine/retention.py``).
    history_prune_interval: float = 60.0
    #: Rows of each table one round of pruning deletes at most.
    history_prune_batch: int = 10_000


@dataclass
class Services:
    http: httpx.AsyncClient
    bus: EventBus
    #: For the change feeds' long polls: each holds a connection for up to
    #: ``follow_wait``, so they get their own pool and never starve the calls
    #: of reads and writes (one connection per followed instance).
    feed_http: httpx.AsyncClient | None = None
    settings: Settings = field(default_factory=Settings)
    #: Sends the deliveries (set by the engine when it starts).
    sender: Sender | None = None
    #: Instances known to be unreachable are not waited for (see breaker.py).
    breakers: Breakers = field(default_factory=Breakers)
    #: This database's name in elektrads' fences (``Revision.source``).
    fence_source: str = ""
    #: Operation ids recently seen, and whether they are clusterd's: a change
    #: feed's echo of our own write is recognized without a query.
    operations: OrderedDict[str, bool] = field(default_factory=OrderedDict)
    #: Instances changed through this replica since the engine last read them.
    stale_instances: set[int] = field(default_factory=set)
    #: Open websockets by token, to end them when their token is revoked.
    sessions: Sessions = field(default_factory=Sessions)
    #: This clusterd process, in leases it holds on instances.
    replica_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: Instances read for events, shared by all subscribers (see live.py).
    recent_instances: dict[int, tuple[float, asyncio.Task[Instance | None]]] = field(
        default_factory=dict
    )
    #: What the engine, the subscriptions and the GraphQL endpoint observe for
    #: ``GET /metrics`` (None: metrics are off, nothing is observed).
    metrics: Metrics | None = None
    #: Set when this replica begins to stop (SIGTERM): a write no longer waits
    #: for its landings (what has not landed goes on through another replica).
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @functools.cached_property
    def allowed_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.settings.allowed_networks)

    def client(
        self, instance: Instance, operation: str | None = None, revision: int | None = None
    ) -> ElektradClient:
        """A client for the instance (with its token); writes are tagged with
        ``operation`` and fenced with ``revision``."""
        fence = f"{self.fence_source}/{revision}" if revision and self.fence_source else None
        return ElektradClient(
            self.http,
            instance.host,
            timeout=self.settings.call_timeout,
            token=instance.token,
            operation=operation,
            fence=fence,
            max_answer=self.settings.max_answer,
        )

    def feed_client(self, instance: Instance) -> ElektradClient:
        http = self.feed_http or self.http
        return ElektradClient(
            http,
            instance.host,
            timeout=self.settings.call_timeout,
            token=instance.token,
            max_answer=self.settings.max_answer,
        )

    def client_for_host(self, host: str, token: str | None = None) -> ElektradClient:
        return ElektradClient(
            self.http,
            host,
            timeout=self.settings.call_timeout,
            token=token,
            max_answer=self.settings.max_answer,
        )

    def remember_operation(self, operation_id: str, ours: bool = True) -> None:
        self.operations[operation_id] = ours
        self.operations.move_to_end(operation_id)
        while len(self.operations) > _REMEMBERED_OPERATIONS:
            self.operations.popitem(last=False)

    def instance_changed(self, instance_id: int) -> None:
        """The instance's row changed (cluster, host, token): what the engine
        holds of it is read again before it is used next."""
        self.stale_instances.add(instance_id)

    def kick(self, *instance_ids: int) -> None:
        """Have these instances' pending deliveries sent now."""
        if self.sender is not None:
            self.sender.kick(instance_ids)
