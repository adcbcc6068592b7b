"""clusterd's ASGI app: GraphQL at /graphql (``graphql_app.py``), GraphiQL, the web client,
and the lifespan that owns the database, the HTTP client to the elektrads, the
delivery queue and the health checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from tortoise import Tortoise

from ..client import client_routes
from ..connector.hosts import CheckedBackend, Resolver, parse_networks
from ..connector.transport import PerOriginTransport
from ..connector.urls import normalize_host
from ..engine import Engine
from ..engine.metrics import Metrics
from ..engine.services import Services, Settings
from ..events import bus_for
from ..exceptions import ClusterdError
from ..models import Instance
from ..resolvers.auth import SYSTEM, Role
from ..resolvers.instances import InstanceInput, add_instance, update_instance
from ..resolvers.tokens import create_token, ensure_token, has_tokens
from .collector import quiet_gc
from .database import migrate, tortoise_config
from .graphiql import graphiql_routes
from .graphql_app import GraphQLApp
from .monitoring import Monitor, ObservedGraphQL

__all__ = ["ClusterdConfig", "create_app"]

log = logging.getLogger("elektra_web.clusterd")

#: Seconds an idle connection to an elektrad is kept.
_KEEPALIVE = 3.0


@dataclass
class ClusterdConfig:
    database_url: str
    settings: Settings = field(default_factory=Settings)
    #: (name, URL) of elektrads to register at start-up unless registered
    #: already: what ``elektra-web up`` uses for the local machine.
    register: Sequence[tuple[str, str]] = ()
    #: Run the periodic health checks (tests turn them off to drive them).
    health_checks: bool = True
    #: Follow the instances' change feeds (a test that counts calls turns it off).
    follow_feeds: bool = True
    #: The transport of the HTTP client to the elektrads (a seam for tests).
    transport: httpx.AsyncBaseTransport | None = None
    #: Resolves instances' host names on every connection to them (a seam for
    #: tests; the system's resolver by default).
    resolver: Resolver | None = None
    #: An admin token's secret, created at start unless it exists: what
    #: ``ELEKTRA_WEB_ADMIN_TOKEN`` sets, for automation.
    admin_token: str | None = None
    #: Called with a new admin token's secret when the database has no token
    #: at all: how ``elektra-web up`` signs in its first user.
    on_first_admin: Callable[[str], None] | None = None
    #: Serve ``GET /metrics`` (Prometheus) to holders of an API token.
    metrics: bool = False
    #: Instances that get a metric of their own (the feed lag of the ones
    #: furthest behind); 0: no metric has a label per instance.
    metrics_instance_labels: int = 0
    #: Freeze what start-up built and raise the collector's thresholds (see
    #: collector.py): for a daemon process, not for tests that share one.
    quiet_gc: bool = False


def create_app(config: ClusterdConfig) -> Starlette:
    services_ref: dict[str, Services] = {}
    metrics = Metrics(instance_labels=config.metrics_instance_labels) if config.metrics else None
    monitor = Monitor(config.database_url, metrics, services_ref)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await migrate(config.database_url)
        await Tortoise.init(
            config=tortoise_config(config.database_url), _enable_global_fallback=True
        )
        # Every connection to an elektrad resolves its name, checks each
        # address against the SSRF rules and connects to a checked one: a name
        # that resolves elsewhere after registration (DNS rebinding) is never
        # called with its token.
        checked = CheckedBackend(
            parse_networks(config.settings.allowed_networks), resolver=config.resolver
        )
        # A small pool per instance: one pool of a thousand instances costs
        # O(thousand) per request (encode/httpx#3215). A call needs a
        # connection per origin only while in flight; fan_out bounds how many.
        http = httpx.AsyncClient(
            transport=config.transport
            or PerOriginTransport(
                limits=httpx.Limits(
                    max_connections=config.settings.fanout_limit * 2,
                    max_keepalive_connections=4,
                    # Below the daemons' own idle timeout (uvicorn's 5 s): a
                    # connection they are closing is never reused.
                    keepalive_expiry=_KEEPALIVE,
                ),
                network_backend=checked,
            ),
            timeout=config.settings.call_timeout,
            follow_redirects=False,  # an elektrad never redirects; following is an SSRF risk
        )
        feed_http = httpx.AsyncClient(
            # One long poll per followed instance: a connection or two each.
            transport=PerOriginTransport(
                limits=httpx.Limits(
                    max_connections=None, max_keepalive_connections=2, keepalive_expiry=_KEEPALIVE
                ),
                network_backend=checked,
            ),
            timeout=config.settings.call_timeout,
            follow_redirects=False,
        )
        bus = bus_for(config.database_url, maxsize=config.settings.subscriber_queue)
        await bus.start()
        services = Services(
            http, bus, settings=config.settings, feed_http=feed_http, metrics=metrics
        )
        engine = Engine(
            services, follow_feeds=config.follow_feeds, health_checks=config.health_checks
        )
        services_ref["services"] = services
        app.state.services = services
        await _bootstrap_tokens(config)
        background: list[asyncio.Task[Any]] = [
            asyncio.create_task(
                services.sessions.sweep_forever(config.settings.token_sweep_interval)
            ),
            *monitor.start(),
        ]
        if not _shared(config.database_url):
            # Only this process uses an SQLite file: claims left by a previous
            # run (killed before it could release them) are void.
            await Instance.all().update(
                follower=None, follower_until=None, sender=None, sender_until=None
            )
        try:
            await _register(services, config.register)
            await engine.start()
            if config.quiet_gc:
                quiet_gc()
            monitor.ready = True
            yield
        finally:
            monitor.ready = False  # /readyz: 503 from the first moment of stopping
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.stop()
            await bus.stop()
            await http.aclose()
            await feed_http.aclose()
            await Tortoise.close_connections()
            log.info("clusterd stopped")

    graphql = GraphQLApp(services_ref, config.settings)
    endpoint = graphql if metrics is None else ObservedGraphQL(graphql, metrics)
    routes = [
        # The bundled web client: the page at "/", its modules under /static/.
        *client_routes(),
        # GraphiQL's scripts and stylesheets (the page itself: GET /graphql).
        *graphiql_routes(),
        Route("/graphql", endpoint, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", endpoint),
        # /healthz, /readyz, and /metrics with --metrics (no token for the first two);
        # last, so that a GraphQL request is not matched against them first.
        *monitor.routes(),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _shared(database_url: str) -> bool:
    """Whether several clusterd replicas may share this database."""
    return not database_url.startswith("sqlite:")


async def _bootstrap_tokens(config: ClusterdConfig) -> None:
    if config.admin_token is not None:
        await ensure_token(
            config.admin_token,
            "admin (ELEKTRA_WEB_ADMIN_TOKEN)",
            Role.ADMIN,
            "ELEKTRA_WEB_ADMIN_TOKEN",
        )
    if config.on_first_admin is not None and not await has_tokens():
        _, secret = await create_token(SYSTEM, "first admin (elektra-web up)", Role.ADMIN)
        config.on_first_admin(secret)


async def _register(services: Services, register: Sequence[tuple[str, str]]) -> None:
    """Register each (name, URL) unless registered; a name registered under
    another URL (``up`` with another ``--elektrad-port``) moves there."""
    for name, url in register:
        try:
            if await Instance.filter(host=normalize_host(url)).exists():
                continue
            other = await Instance.get_or_none(name=name)
            if other is not None:
                moved = InstanceInput(host=url)
                instance = await update_instance(services, SYSTEM, other.id, moved)
                log.info("instance %s moved to %s", instance.name, instance.host)
            else:
                instance = await add_instance(services, SYSTEM, InstanceInput(name=name, host=url))
                log.info("registered %s (%s) as an instance", instance.name, instance.host)
        except ClusterdError as exc:  # clusterd serves all the same
            log.warning("could not register %s at %s: %s", name, url, exc.message)
