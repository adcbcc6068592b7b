"""clusterd's metrics (``GET /metrics``, Prometheus): what its parts observe, and what is
read from the database when Prometheus scrapes.

One :class:`Metrics` per app, with a registry of its own; ``Services.metrics`` holds it,
``None`` when metrics are off (then nothing is observed at all). Observing is cheap on
purpose: a counter or a histogram per request, per delivery recorded, per change of a
feed; everything that needs the database (deliveries by state, instances by status,
drift) is counted at scrape time, with one ``GROUP BY`` query each (:meth:`Metrics.refresh`).

Numbers that come from the database are the same on every replica of one PostgreSQL
database (aggregate them with ``max``, not ``sum``); the others are this process's own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from tortoise.connection import get_connection
from tortoise.functions import Count, Min

from .. import __version__
from ..models import Delivery, DeliveryStatus, Drift, Instance, InstanceStatus
from ..monitoring import LOOP_LAG_BUCKETS, new_registry

__all__ = ["Metrics"]

log = logging.getLogger("elektra_web.clusterd")

#: A GraphQL request over HTTP, from its first byte to its last.
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: A delivery, from its write to its member's confirmation: milliseconds while the
#: member answers, hours while it is offline.
_DELIVERY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600,
)  # fmt: skip
#: A change on a member, from its elektrad's clock to clusterd taking it from the feed.
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
#: Error codes kept as label values; a new one past this many counts as OTHER.
_MAX_CODES = 64
#: Seconds a scrape waits for the database before it answers without its numbers.
_SCRAPE_TIMEOUT = 5.0

OPERATIONS = ("query", "mutation", "subscription", "unknown")
OUTCOMES = ("ok", "field_error", "request_error", "internal_error", "unauthenticated")


@dataclass
class _Snapshot:
    """What the last scrape read from the database."""

    deliveries: dict[str, int] = field(default_factory=dict)
    oldest_pending: float = 0.0
    instances: dict[str, int] = field(default_factory=dict)
    drift: int = 0
    pool: tuple[int, int, int] | None = None  # in use, idle, most
    bus_subscriptions: int = 0
    #: (instance name, seconds) of the instances shown with their own feed lag.
    feed_lags: list[tuple[str, float]] = field(default_factory=list)
    ok: bool = False


class Metrics:
    """clusterd's instruments, in a registry of their own (``registry``).

    ``instance_labels``: how many instances get a feed-lag gauge of their own (the ones
    furthest behind); every other number has no label per instance, so a thousand
    members cost no more series than one.
    """

    def __init__(self, *, instance_labels: int = 0) -> None:
        self.instance_labels = instance_labels
        self.registry = registry = new_registry()
        Gauge(
            "clusterd_build_info", "clusterd's release (the value is 1).", ["version"],
            registry=registry,
        ).labels(__version__).set(1)  # fmt: skip
        self.requests = Counter(
            "clusterd_graphql_requests",
            "GraphQL requests over HTTP, by operation type (query, mutation, subscription, "
            "unknown: none ran) and outcome (ok; field_error: it ran, some fields failed with "
            "a code; request_error: refused before anything ran; internal_error: a bug; "
            "unauthenticated: no valid token).",
            ["operation", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "clusterd_graphql_request_duration_seconds",
            "GraphQL queries and mutations over HTTP, from the request to the end of the "
            "answer, by operation type.",
            ["operation"],
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.errors = Counter(
            "clusterd_graphql_errors",
            "Errors in GraphQL answers, by their extensions.code.",
            ["code"],
            registry=registry,
        )
        self.websockets = Gauge(
            "clusterd_websockets", "Open GraphQL websockets.", registry=registry
        )
        self.subscriptions = Gauge(
            "clusterd_subscriptions",
            "Open GraphQL subscriptions (websockets and HTTP streams).",
            registry=registry,
        )
        self.subscription_events = Counter(
            "clusterd_subscription_events",
            "Events taken by GraphQL subscriptions.",
            registry=registry,
        )
        self.subscriptions_dropped = Counter(
            "clusterd_subscriptions_dropped",
            "GraphQL subscriptions ended for falling too far behind (SUBSCRIBER_TOO_SLOW).",
            registry=registry,
        )
        self.delivery_latency = Histogram(
            "clusterd_delivery_latency_seconds",
            "Deliveries this replica sent that their member applied: from the write that "
            "stored them to the member's answer.",
            buckets=_DELIVERY_BUCKETS,
            registry=registry,
        )
        self.delivery_outcomes = Counter(
            "clusterd_delivery_outcomes",
            "Delivery outcomes this replica recorded: applied, superseded (a newer write "
            "replaced it), failed (the member refused it for good), retried (refused for "
            "now), unreachable (the member did not answer; waits for it).",
            ["outcome"],
            registry=registry,
        )
        self._outcomes = {
            name: self.delivery_outcomes.labels(name)
            for name in ("applied", "superseded", "failed", "retried", "unreachable")
        }
        self.feed_lag = Histogram(
            "clusterd_feed_lag_seconds",
            "Changes taken from the members' change feeds: from the change on the member "
            "(its clock) to clusterd taking it.",
            buckets=_LAG_BUCKETS,
            registry=registry,
        )
        self.loop_lag = Histogram(
            "clusterd_event_loop_lag_seconds",
            "How late clusterd's event loop wakes up from a sleep (every 0.5 s): how long "
            "one step kept every other request waiting.",
            buckets=LOOP_LAG_BUCKETS,
            registry=registry,
        )
        self.scrape_errors = Counter(
            "clusterd_scrape_database_errors",
            "Scrapes whose database queries failed or took over 5 s (their answer lacks "
            "the numbers read from the database).",
            registry=registry,
        )
        # Pre-bound children: a request costs one lookup, not labels() each time.
        self._requests = {
            (op, outcome): self.requests.labels(op, outcome)
            for op in OPERATIONS
            for outcome in OUTCOMES
        }
        # Subscriptions have no latency (a stream lasts as long as its client wants).
        self._latency = {op: self.latency.labels(op) for op in OPERATIONS if op != "subscription"}
        self._codes: dict[str, Any] = {}
        #: instance id -> (name, lag of the last change taken from its feed)
        self._feed_lags: dict[int, tuple[str, float]] = {}
        self._snapshot = _Snapshot()
        registry.register(_Scraped(self))

    # -- observed -------------------------------------------------------------

    def request(
        self, operation: str, outcome: str, seconds: float | None, codes: Iterable[str] = ()
    ) -> None:
        """One GraphQL request over HTTP (``seconds``: None for a stream)."""
        op = operation if operation in OPERATIONS else "unknown"
        self._requests[op, outcome].inc()
        if seconds is not None and op in self._latency:
            self._latency[op].observe(seconds)
        for code in codes:
            counter = self._codes.get(code)
            if counter is None:
                if len(self._codes) >= _MAX_CODES:
                    code = "OTHER"
                counter = self._codes[code] = self.errors.labels(code)
            counter.inc()

    def recorded(
        self,
        applied: Sequence[Delivery],
        answered: Sequence[dt.datetime],
        superseded: int = 0,
        failed: int = 0,
        retried: int = 0,
        unreachable: int = 0,
    ) -> None:
        """A batch of delivery outcomes the sender recorded: ``applied`` deliveries
        and when each one's answer came, and how many had each other outcome."""
        if applied:
            self._outcomes["applied"].inc(len(applied))
            histogram = self.delivery_latency
            for delivery, at in zip(applied, answered, strict=True):
                histogram.observe(max(0.0, (at - delivery.created_at).total_seconds()))
        for name, count in (
            ("superseded", superseded),
            ("failed", failed),
            ("retried", retried),
            ("unreachable", unreachable),
        ):
            if count:
                self._outcomes[name].inc(count)

    def feed_changes(self, instance: Instance, changes: Sequence[Mapping[str, Any]]) -> None:
        """Changes just taken from an instance's feed (each with its ``at``)."""
        if not changes:
            return
        now = time.time()
        worst = 0.0
        for change in changes:
            at = change.get("at")
            if isinstance(at, int | float):
                lag = max(0.0, now - at)  # a member's clock ahead of ours: no lag
                self.feed_lag.observe(lag)
                worst = max(worst, lag)
        if self.instance_labels:
            self._feed_lags[instance.id] = (instance.name, worst)

    # -- read at scrape time ----------------------------------------------------

    async def refresh(self, connection: str, bus_subscriptions: int) -> None:
        """Read what the next exposition shows from the database (``connection``:
        Tortoise's name of it). A database that fails or hangs costs its numbers, not
        the scrape."""
        snapshot = _Snapshot(bus_subscriptions=bus_subscriptions)
        try:
            async with asyncio.timeout(_SCRAPE_TIMEOUT):
                await self._read(snapshot, connection)
            snapshot.ok = True
        except Exception as exc:  # the database's own errors and TimeoutError
            self.scrape_errors.inc()
            log.warning("metrics: reading the database failed: %s", exc or type(exc).__name__)
        self._snapshot = snapshot

    async def _read(self, snapshot: _Snapshot, connection: str) -> None:
        deliveries = Delivery.annotate(n=Count("id")).group_by("status")
        for status, count in await deliveries.values_list("status", "n"):
            snapshot.deliveries[str(status)] = int(count)
        if snapshot.deliveries.get(DeliveryStatus.PENDING):
            pending = Delivery.filter(status=DeliveryStatus.PENDING)
            oldest = await pending.annotate(oldest=Min("created_at")).values_list("oldest")
            if oldest and isinstance(oldest[0][0], dt.datetime):
                age = dt.datetime.now(dt.UTC) - oldest[0][0]
                snapshot.oldest_pending = max(0.0, age.total_seconds())
        instances = Instance.annotate(n=Count("id")).group_by("status")
        for status, count in await instances.values_list("status", "n"):
            snapshot.instances[str(status)] = int(count)
        snapshot.drift = await Drift.all().count()
        snapshot.pool = _pool_use(connection)
        if self.instance_labels and self._feed_lags:
            snapshot.feed_lags = await self._worst_feeds()

    async def _worst_feeds(self) -> list[tuple[str, float]]:
        """The ``instance_labels`` instances furthest behind, by their current names;
        instances removed meanwhile are forgotten."""
        ids = list(self._feed_lags)
        names: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            rows = await Instance.filter(id__in=ids[start : start + 500]).values_list("id", "name")
            names.update((int(i), str(n)) for i, n in rows)
        for gone in set(ids) - set(names):
            del self._feed_lags[gone]
        worst = sorted(self._feed_lags.items(), key=lambda item: -item[1][1])
        return [(names[i], lag) for i, (_, lag) in worst[: self.instance_labels]]

    def collect_scraped(self) -> Iterator[Metric]:
        snapshot = self._snapshot
        if snapshot.ok:
            deliveries = GaugeMetricFamily(
                "clusterd_deliveries",
                "Deliveries in the database by state: pending (not yet applied), applied, "
                "failed (refused for good by the member), superseded (replaced by a newer "
                "write).",
                labels=["state"],
            )
            for status in DeliveryStatus:
                deliveries.add_metric([status.lower()], snapshot.deliveries.get(status, 0))
            yield deliveries
            yield GaugeMetricFamily(
                "clusterd_oldest_pending_delivery_age_seconds",
                "Age of the oldest pending delivery (0: none is pending).",
                value=snapshot.oldest_pending,
            )
            instances = GaugeMetricFamily(
                "clusterd_instances", "Registered instances by status.", labels=["status"]
            )
            for instance_status in InstanceStatus:
                count = snapshot.instances.get(instance_status, 0)
                instances.add_metric([instance_status.lower()], count)
            yield instances
            yield GaugeMetricFamily(
                "clusterd_drift_keys",
                "Keys a cluster sets that differ on a member, with nothing in flight (drift).",
                value=snapshot.drift,
            )
            if snapshot.pool is not None:
                busy, idle, most = snapshot.pool
                pool = GaugeMetricFamily(
                    "clusterd_database_connections",
                    "Connections of the database pool (PostgreSQL), by state.",
                    labels=["state"],
                )
                pool.add_metric(["in_use"], busy)
                pool.add_metric(["idle"], idle)
                yield pool
                yield GaugeMetricFamily(
                    "clusterd_database_connections_max",
                    "The most connections the database pool opens.",
                    value=most,
                )
            if self.instance_labels:
                lags = GaugeMetricFamily(
                    "clusterd_instance_feed_lag_seconds",
                    "Feed lag of the last change taken, for the instances furthest behind "
                    "(at most --metrics-instance-labels of them).",
                    labels=["instance_name"],
                )
                for name, lag in snapshot.feed_lags:
                    lags.add_metric([name], lag)
                yield lags
        yield GaugeMetricFamily(
            "clusterd_event_bus_subscriptions",
            "Subscriptions to this replica's event bus: GraphQL subscriptions (one per "
            "multiplexed group, however many subscribers share it) and clusterd's own "
            "(writes waiting for their deliveries, the sender).",
            value=snapshot.bus_subscriptions,
        )


class _Scraped(Collector):
    """The numbers :meth:`Metrics.refresh` read, in the registry's exposition."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics.collect_scraped()

    def describe(self) -> Iterable[Metric]:
        return ()  # names vary with the database (the pool) and the settings


def _pool_use(connection: str) -> tuple[int, int, int] | None:
    """(in use, idle, most) of an asyncpg pool; None for SQLite, which has one
    connection and no pool."""
    pool = getattr(get_connection(connection), "_pool", None)
    if pool is None or not hasattr(pool, "get_size"):
        return None
    size, idle = int(pool.get_size()), int(pool.get_idle_size())
    return size - idle, idle, int(pool.get_max_size())
