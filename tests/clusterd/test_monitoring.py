"""clusterd's /healthz, /readyz and /metrics: who may read them, that Prometheus can
parse what they say, and that the numbers move with what happens."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from elektra_web.clusterd.app import ClusterdConfig
from elektra_web.engine.events import ConfigChanged
from elektra_web.engine.metrics import Metrics
from elektra_web.engine.services import Services
from elektra_web.events import EventBus
from elektra_web.exceptions import SubscriberTooSlow
from elektra_web.models import OperationKind
from elektra_web.resolvers.auth import Caller, Role
from elektra_web.resolvers.live import config_changes

from ..conftest import _postgres
from ..elektrad.conftest import free_port
from ..support.metrics import Samples, parse
from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, results, set_key, target
from .conftest import (
    ADMIN_TOKEN,
    AUTH,
    TEST_SETTINGS,
    Clusterd,
    Elektrad,
    serve_clusterd,
    spawn_clusterd,
)
from .test_auth import make_token
from .ws import connect

CHANGES = "subscription { configChanged { path value } }"


@contextmanager
def clusterd_with_metrics(database_url: str, **options: Any) -> Iterator[Clusterd]:
    config = ClusterdConfig(
        database_url=database_url, settings=TEST_SETTINGS, metrics=True, **options
    )
    with (
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        yield Clusterd(url, http)


@pytest.fixture
def monitored(tmp_path: Path) -> Iterator[Clusterd]:
    """A clusterd with --metrics, on SQLite."""
    with clusterd_with_metrics(f"sqlite://{tmp_path / 'clusterd.sqlite3'}") as clusterd:
        yield clusterd


def scrape(clusterd: Clusterd) -> Samples:
    response = clusterd.http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.text)


def test_metrics_are_off_by_default(clusterd: Clusterd) -> None:
    assert clusterd.http.get("/metrics").status_code == 404


def test_health_needs_no_token_and_says_only_the_status(clusterd: Clusterd) -> None:
    alive = httpx.get(f"{clusterd.url}/healthz")
    assert (alive.status_code, alive.text) == (200, "ok\n")
    ready = httpx.get(f"{clusterd.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {"started": "ok", "database": "ok", "migrations": "ok"},
    }


def test_metrics_need_an_api_token_of_any_role(monitored: Clusterd) -> None:
    url = f"{monitored.url}/metrics"
    refused = httpx.get(url)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert httpx.get(url, headers={"Authorization": "Bearer ewt_wrong"}).status_code == 401
    _, viewer = make_token(monitored, "VIEWER")
    seen = httpx.get(url, headers={"Authorization": f"Bearer {viewer}"})
    assert seen.status_code == 200
    assert parse(seen.text).value("clusterd_build_info", version="0.1.0") == 1


def test_graphql_requests_are_counted_by_operation_and_outcome(monitored: Clusterd) -> None:
    before = scrape(monitored)
    monitored.ok("{ version { api } }")
    monitored.error('mutation { removeInstance(id: "999") }')  # NOT_FOUND: a field error
    monitored.error("{ nosuchfield }")  # refused before anything ran
    anonymous = httpx.post(f"{monitored.url}/graphql", json={"query": "{ version { api } }"})
    assert anonymous.status_code == 401
    after = scrape(monitored)

    def grew(name: str, **labels: str) -> float:
        return after.total(name, **labels) - before.total(name, **labels)

    requests = "clusterd_graphql_requests_total"
    assert grew(requests, operation="query", outcome="ok") == 1
    assert grew(requests, operation="mutation", outcome="field_error") == 1
    assert grew(requests, operation="unknown", outcome="request_error") == 1
    assert grew(requests, operation="unknown", outcome="unauthenticated") == 1
    assert grew("clusterd_graphql_errors_total", code="NOT_FOUND") == 1
    assert grew("clusterd_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    latency = "clusterd_graphql_request_duration_seconds_count"
    assert grew(latency, operation="query") == 1
    assert grew(latency, operation="mutation") == 1


def test_a_cluster_write_moves_deliveries_latency_and_feed_lag(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    daemons = elektrads(2)
    cluster = create_cluster(monitored, "prod")
    for n, daemon in enumerate(daemons):
        assign(monitored, cluster, add_instance(monitored, f"prod-{n}", daemon.url))
    response = set_key(monitored, target(cluster=cluster), "user:/app/port", "8080")
    assert set(results(response).values()) == {"APPLIED"}
    wait_until(
        lambda: scrape(monitored).value("clusterd_feed_lag_seconds_count") == 2,
        what="both members' echoes taken from their feeds",
    )
    samples = scrape(monitored)
    assert samples.value("clusterd_deliveries", state="applied") == 2
    assert samples.value("clusterd_deliveries", state="pending") == 0
    assert samples.value("clusterd_oldest_pending_delivery_age_seconds") == 0
    assert samples.value("clusterd_delivery_latency_seconds_count") == 2
    assert samples.value("clusterd_delivery_outcomes_total", outcome="applied") == 2
    assert samples.value("clusterd_instances", status="online") == 2
    # No series per instance unless asked for.
    assert not samples.labelled("clusterd_instance_feed_lag_seconds")


def test_a_refused_write_is_a_failed_delivery(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (strict,) = elektrads(1)
    cluster = create_cluster(monitored, "prod")
    assign(monitored, cluster, add_instance(monitored, "prod-0", strict.url))
    httpx.put(f"{strict.url}/kdb/user:/app/port", content=b"80")
    httpx.post(f"{strict.url}/kdbMeta/user:/app/port", json={"key": "check/type", "value": "long"})
    response = set_key(monitored, target(cluster=cluster), "user:/app/port", "eighty", force=True)
    assert results(response) == {"prod-0": "FAILED"}
    samples = scrape(monitored)
    assert samples.value("clusterd_deliveries", state="failed") == 1
    assert samples.value("clusterd_delivery_outcomes_total", outcome="failed") == 1
    assert samples.value("clusterd_delivery_latency_seconds_count") == 0


def test_an_instance_going_offline_is_counted_with_what_waits_for_it(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    online, offline = elektrads(2)
    cluster = create_cluster(monitored, "prod")
    for n, daemon in enumerate((online, offline)):
        assign(monitored, cluster, add_instance(monitored, f"prod-{n}", daemon.url))
    offline.stop()
    wait_until(
        lambda: scrape(monitored).value("clusterd_instances", status="offline") == 1,
        what="the stopped elektrad counted offline",
    )
    set_key(monitored, target(cluster=cluster), "user:/app/port", "8080")
    samples = scrape(monitored)
    assert samples.value("clusterd_instances", status="online") == 1
    assert samples.value("clusterd_deliveries", state="pending") == 1
    assert (samples.value("clusterd_oldest_pending_delivery_age_seconds") or 0) > 0


def test_feed_lag_has_a_series_only_for_the_instances_asked_for(
    tmp_path: Path, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    database = f"sqlite://{tmp_path / 'clusterd.sqlite3'}"
    with clusterd_with_metrics(database, metrics_instance_labels=1) as clusterd:
        daemons = elektrads(2)
        for n, daemon in enumerate(daemons):
            instance = add_instance(clusterd, f"web-{n}", daemon.url)
            set_key(clusterd, target(instance=instance), "user:/app/port", "8080")
        wait_until(
            lambda: scrape(clusterd).value("clusterd_feed_lag_seconds_count") == 2,
            what="both writes' echoes taken",
        )
        lags = scrape(clusterd).labelled("clusterd_instance_feed_lag_seconds")
        assert len(lags) == 1
        assert lags[0]["instance_name"] in ("web-0", "web-1")


def test_subscriptions_and_their_events_are_counted(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(monitored, "web", daemon.url)

    async def scenario() -> tuple[Samples, Samples]:
        async with connect(monitored.url) as socket:
            await socket.subscribe(CHANGES)
            await asyncio.to_thread(
                wait_until,
                lambda: scrape(monitored).value("clusterd_subscriptions") == 1,
                what="the subscription open",
            )
            await asyncio.to_thread(
                set_key, monitored, target(instance=instance), "user:/app/port", "8080"
            )
            await socket.next_data()
            during = await asyncio.to_thread(scrape, monitored)
        await asyncio.to_thread(
            wait_until,
            lambda: scrape(monitored).value("clusterd_websockets") == 0,
            what="the websocket closed",
        )
        return during, await asyncio.to_thread(scrape, monitored)

    during, after = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert during.value("clusterd_websockets") == 1
    assert (during.value("clusterd_subscription_events_total") or 0) >= 1
    assert (during.value("clusterd_event_bus_subscriptions") or 0) >= 1
    assert after.value("clusterd_subscriptions") == 0


def test_a_subscriber_that_falls_behind_is_counted_as_dropped() -> None:
    async def scenario() -> Metrics:
        metrics = Metrics()
        async with EventBus(maxsize=2) as bus, httpx.AsyncClient() as http:
            services = Services(http, bus, metrics=metrics)
            events = config_changes(services, Caller("viewer", Role.VIEWER))
            first = asyncio.ensure_future(anext(events))  # subscribed, waiting
            await asyncio.sleep(0)  # it runs up to its wait for the first event
            assert bus.subscriber_count == 1
            for n in range(4):  # one is taken, two are queued, the fourth overflows
                change = ConfigChanged(OperationKind.SET, f"user:/k{n}", "instance")
                await bus.publish(ConfigChanged.TOPIC, change.to_data())
            await first
            with pytest.raises(SubscriberTooSlow):
                while True:
                    await anext(events)
        return metrics

    metrics = asyncio.run(asyncio.wait_for(scenario(), 30))
    samples = parse(_exposition(metrics))
    assert samples.value("clusterd_subscriptions_dropped_total") == 1
    assert samples.value("clusterd_subscriptions") == 0


def _exposition(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()


def test_the_event_loop_lag_is_measured(monitored: Clusterd) -> None:
    wait_until(
        lambda: (scrape(monitored).value("clusterd_event_loop_lag_seconds_count") or 0) >= 1,
        what="a lag measured (every 0.5 s)",
    )


def test_the_database_pool_is_shown_on_postgresql(postgres_url: str) -> None:
    with clusterd_with_metrics(postgres_url) as clusterd:
        samples = scrape(clusterd)
    assert (samples.value("clusterd_database_connections_max") or 0) >= 1
    assert {s["state"] for s in samples.labelled("clusterd_database_connections")} == {
        "in_use",
        "idle",
    }


def test_not_ready_while_the_database_refuses_connections(postgres_url: str) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    with (
        clusterd_with_metrics(postgres_url) as clusterd,
        httpx.Client(base_url=clusterd.url, timeout=30) as anonymous,
    ):
        assert anonymous.get("/readyz").status_code == 200
        scrape(clusterd)  # the token is known now: it is not looked up for a while
        # PostgreSQL takes no new connections to it and ends the open ones.
        _postgres(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        _postgres(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        try:
            refused = anonymous.get("/readyz")
            assert refused.status_code == 503
            assert refused.json() == {
                "status": "fail",
                "checks": {"started": "ok", "database": "fail", "migrations": "fail"},
            }
            assert anonymous.get("/healthz").status_code == 200  # alive all the same
            # A scrape still answers, without what the database would say.
            samples = scrape(clusterd)
            assert samples.value("clusterd_deliveries", state="pending") is None
            assert (samples.value("clusterd_scrape_database_errors_total") or 0) >= 1
        finally:
            _postgres(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        wait_until(
            lambda: anonymous.get("/readyz").status_code == 200,
            what="ready again once the database takes connections",
        )


def test_the_command_line_turns_metrics_on(tmp_path: Path) -> None:
    port = free_port()
    database = f"sqlite://{tmp_path / 'clusterd.sqlite3'}"
    process = spawn_clusterd(port, database, "--metrics", "--metrics-instance-labels", "5")
    try:
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/metrics").status_code == 401
        scraped = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert parse(scraped.text).value("clusterd_instances", status="online") == 0
        assert httpx.get(f"{url}/readyz").status_code == 200
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_subscription_over_http_is_counted_as_one(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(monitored, "web", daemon.url)
    headers = {**AUTH, "Accept": "text/event-stream"}
    with (
        httpx.Client(base_url=monitored.url, timeout=30) as http,
        http.stream("POST", "/graphql", json={"query": CHANGES}, headers=headers) as stream,
    ):
        assert stream.status_code == 200
        wait_until(
            lambda: scrape(monitored).value("clusterd_subscriptions") == 1,
            what="the stream subscribed",
        )
        set_key(monitored, target(instance=instance), "user:/app/port", "8080")
        for line in stream.iter_lines():
            if "configChanged" in line:
                break
    # Its subscription ends with the request, not at its next event (the bus kept it).
    wait_until(
        lambda: scrape(monitored).value("clusterd_subscriptions") == 0,
        what="the stream's subscription ended once its client left",
    )
    ok = {"operation": "subscription", "outcome": "ok"}
    wait_until(lambda: scrape(monitored).value("clusterd_graphql_requests_total", **ok) == 1)
    samples = scrape(monitored)
    assert samples.value("clusterd_graphql_request_duration_seconds_count", operation="query") == 0


def test_not_ready_from_the_first_moment_of_a_graceful_stop(tmp_path: Path) -> None:
    from elektra_web.clusterd.app import create_app

    from ..support import servers

    config = ClusterdConfig(
        database_url=f"sqlite://{tmp_path / 'clusterd.sqlite3'}",
        settings=TEST_SETTINGS,
        admin_token=ADMIN_TOKEN,
    )
    app = create_app(config)
    with servers.serve_in_thread(app, lifespan="on") as url:
        assert httpx.get(f"{url}/readyz").status_code == 200
        # What shutdown.going_away does first on SIGTERM. Nothing waits for the event in
        # an idle clusterd, so it may be set from this thread.
        app.state.services.stopping.set()
        stopping = httpx.get(f"{url}/readyz")
        assert stopping.status_code == 503
        assert stopping.json()["checks"]["started"] == "fail"
        assert httpx.get(f"{url}/healthz").status_code == 200
