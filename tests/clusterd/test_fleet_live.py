"""fleetChanged: every change to the fleet, with what changed, over real
websockets to a real clusterd (SQLite and PostgreSQL) and real elektrads."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any

import pytest
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.sqlite.client import SqliteClient

from elektra_web.engine.events import FleetChange, FleetChanged
from elektra_web.models import Instance, InstanceStatus

from .api import add_instance, assign, create_cluster, set_key, target
from .conftest import Clusterd, Elektrad
from .ws import Socket, connect

FLEET = """subscription { fleetChanged {
  change instanceId clusterId previousClusterId parentId instanceIds
  instance { id name host status hasToken lastSeen }
  cluster { id name description }
} }"""


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 90))


def call(clusterd: Clusterd, document: str, **variables: Any) -> dict[str, Any]:
    """A mutation from a thread, so that the socket's loop keeps reading."""
    return asyncio.to_thread(clusterd.ok, document, **variables)  # type: ignore[return-value]


async def subscribed(socket: Socket, clusterd: Clusterd, probe: str | None = None) -> str:
    """Subscribe to fleetChanged; return once it delivers (a probe cluster's
    changes until one arrives: the readiness signal), with the probe's id,
    whose events the caller skips."""
    await socket.subscribe(FLEET)
    if probe is None:
        created = await call(clusterd, 'mutation { createCluster(input: {name: "probe"}) { id } }')
        probe = str(created["createCluster"]["id"])
    for attempt in range(100):
        await call(
            clusterd,
            "mutation($id: ID!, $d: String!) { updateCluster(id: $id, input: {description: $d}) "
            "{ id } }",
            id=probe,
            d=str(attempt),
        )
        try:
            await socket.next_data(0.5)
        except TimeoutError:
            continue
        return probe
    raise AssertionError("fleetChanged never delivered")


async def next_event(
    socket: Socket, skip: str, *, deliveries: bool = False, seconds: float = 15
) -> dict[str, Any]:
    """The next event not about the probe cluster (``skip``), nor, unless
    ``deliveries``, a DELIVERIES event."""
    while True:
        event: dict[str, Any] = (await socket.next_data(seconds))["fleetChanged"]
        if event["clusterId"] == skip and event["instanceId"] is None:
            continue
        if event["change"] == "DELIVERIES" and not deliveries:
            continue
        return event


def viewer_token(clusterd: Clusterd) -> str:
    data = clusterd.ok(
        'mutation { createToken(input: {name: "watcher", role: VIEWER}) { secret } }'
    )
    secret: str = data["createToken"]["secret"]
    return secret


def test_a_viewer_sees_every_change_of_the_fleet_with_its_new_fields(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    viewer = viewer_token(clusterd)

    async def scenario() -> None:
        async with connect(clusterd.url, token=viewer) as socket:
            probe = await subscribed(socket, clusterd)

            web = await asyncio.to_thread(add_instance, clusterd, "web", daemon.url)
            added = await next_event(socket, probe)
            assert added["change"] == "INSTANCE_ADDED"
            assert added["instanceId"] == web
            assert added["clusterId"] is None
            assert added["instance"]["name"] == "web"
            assert added["instance"]["host"] == daemon.url
            assert added["instance"]["status"] == "ONLINE"
            assert added["instance"]["hasToken"] is False
            assert added["instance"]["lastSeen"] is not None

            prod = await asyncio.to_thread(create_cluster, clusterd, "prod")
            created = await next_event(socket, probe)
            assert (created["change"], created["clusterId"], created["parentId"]) == (
                "CLUSTER_ADDED",
                prod,
                None,
            )
            assert created["cluster"]["name"] == "prod"
            assert created["instance"] is None

            eu = await asyncio.to_thread(create_cluster, clusterd, "eu", prod)
            nested = await next_event(socket, probe)
            assert (nested["change"], nested["clusterId"], nested["parentId"]) == (
                "CLUSTER_ADDED",
                eu,
                prod,
            )

            await asyncio.to_thread(assign, clusterd, eu, web)
            joined = await next_event(socket, probe)
            assert joined["change"] == "INSTANCE_MEMBERSHIP"
            assert (joined["instanceId"], joined["clusterId"]) == (web, eu)
            assert joined["previousClusterId"] is None
            assert joined["instance"]["name"] == "web"

            # Renamed and moved to the top level: one event, with both.
            await call(
                clusterd,
                'mutation($id: ID!) { updateCluster(id: $id, input: {name: "europe", '
                "parentId: null}) { id } }",
                id=eu,
            )
            moved = await next_event(socket, probe)
            assert (moved["change"], moved["clusterId"], moved["parentId"]) == (
                "CLUSTER_UPDATED",
                eu,
                None,
            )
            assert moved["cluster"]["name"] == "europe"

            await call(
                clusterd,
                'mutation($id: ID!) { updateInstance(id: $id, input: {name: "web-01"}) { id } }',
                id=web,
            )
            renamed = await next_event(socket, probe)
            assert renamed["change"] == "INSTANCE_UPDATED"
            assert (renamed["instance"]["name"], renamed["clusterId"]) == ("web-01", eu)

            # A cluster write: its members' deliveries change, then they land.
            await asyncio.to_thread(set_key, clusterd, target(cluster=eu), "user:/app/port", "8080")
            written = await next_event(socket, probe, deliveries=True)
            assert (written["change"], written["clusterId"]) == ("DELIVERIES", eu)
            landed = await next_event(socket, probe, deliveries=True)
            assert (landed["change"], landed["instanceIds"]) == ("DELIVERIES", [web])

            await asyncio.to_thread(daemon.stop)
            down = await next_event(socket, probe)
            assert (down["change"], down["instanceId"]) == ("INSTANCE_STATUS", web)
            assert down["instance"]["status"] == "OFFLINE"
            assert down["clusterId"] == eu
            await asyncio.to_thread(daemon.start)
            # The health check and the sender may both have seen it go.
            up = await next_event(socket, probe)
            while up["instance"]["status"] == "OFFLINE":
                up = await next_event(socket, probe)
            assert (up["change"], up["instance"]["status"]) == ("INSTANCE_STATUS", "ONLINE")

            await call(
                clusterd, "mutation($id: ID!) { unassignInstance(instanceId: $id) { id } }", id=web
            )
            left = await next_event(socket, probe)
            assert left["change"] == "INSTANCE_MEMBERSHIP"
            assert (left["clusterId"], left["previousClusterId"]) == (None, eu)

            await call(clusterd, "mutation($id: ID!) { deleteCluster(id: $id) }", id=eu)
            deleted = await next_event(socket, probe)
            assert (deleted["change"], deleted["clusterId"], deleted["cluster"]) == (
                "CLUSTER_REMOVED",
                eu,
                None,
            )

            await call(clusterd, "mutation($id: ID!) { removeInstance(id: $id) }", id=web)
            removed = await next_event(socket, probe)
            assert (removed["change"], removed["instanceId"], removed["instance"]) == (
                "INSTANCE_REMOVED",
                web,
                None,
            )

    run(scenario())


def test_deleting_a_cluster_is_one_event_however_many_members(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    daemons = elektrads(3)
    prod = create_cluster(clusterd, "prod")
    for n, daemon in enumerate(daemons):
        assign(clusterd, prod, add_instance(clusterd, f"web-{n}", daemon.url))

    async def scenario() -> list[dict[str, Any]]:
        async with connect(clusterd.url) as socket:
            probe = await subscribed(socket, clusterd)
            await call(clusterd, "mutation($id: ID!) { deleteCluster(id: $id) }", id=prod)
            await call(clusterd, 'mutation { createCluster(input: {name: "after"}) { id } }')
            return [await next_event(socket, probe) for _ in range(2)]

    deleted, after = run(scenario())
    assert (deleted["change"], deleted["clusterId"]) == ("CLUSTER_REMOVED", prod)
    assert (after["change"], after["cluster"]["name"]) == ("CLUSTER_ADDED", "after")


def test_only_the_changed_rows_are_read_again_by_id(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    one, two = elektrads(2)
    first = add_instance(clusterd, "one", one.url)
    add_instance(clusterd, "two", two.url)
    data = clusterd.ok(
        "query($ids: [ID!]) { instances(ids: $ids) { id name pending { path } } }",
        ids=[first, "999", "not-a-number"],
    )
    assert data["instances"] == [{"id": first, "name": "one", "pending": []}]
    too_many = clusterd.error(
        "query($ids: [ID!]) { instances(ids: $ids) { id } }", ids=[str(n) for n in range(1001)]
    )
    assert too_many["extensions"]["code"] == "BAD_INPUT"


def test_an_instance_event_crosses_the_bus_without_its_token() -> None:
    instance = Instance(
        id=7,
        name="web",
        host="http://web:33333",
        description=None,
        visibility="user",
        token="the-secret",
        status=InstanceStatus.ONLINE,
        last_seen=None,
        elektra_version="0.11.0",
        cluster_id=3,
    )
    event = FleetChanged.of_instance(FleetChange.INSTANCE_UPDATED, instance)
    data = event.to_data()
    assert "the-secret" not in repr(data)
    again = FleetChanged.from_data(data)
    assert again == event
    copy = again.instance()
    assert copy is not None
    assert (copy.id, copy.name, copy.cluster_id, copy.status) == (7, "web", 3, "ONLINE")
    assert copy.token is not None and copy.token != "the-secret"  # only: it has one


class Queries:
    """Counts the SQL queries clusterd runs (a wrapper that counts, nothing faked)."""

    METHODS = ("execute_query", "execute_query_dict")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for client in (SqliteClient, AsyncpgDBClient):
            for name in self.METHODS:
                monkeypatch.setattr(client, name, self._counting(getattr(client, name)))

    def _counting(self, method: Any) -> Any:
        @functools.wraps(method)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await method(*args, **kwargs)

        return counted


def test_an_event_costs_no_query_however_many_subscribers(
    clusterd: Clusterd, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = Queries(monkeypatch)
    prod = create_cluster(clusterd, "prod")

    async def rename(sockets: list[Socket], probe: str, name: str) -> int:
        before = queries.count
        await call(
            clusterd,
            "mutation($id: ID!, $n: String!) { updateCluster(id: $id, input: {name: $n}) { id } }",
            id=prod,
            n=name,
        )
        for socket in sockets:
            event = await next_event(socket, probe)
            assert (event["change"], event["cluster"]["name"]) == ("CLUSTER_UPDATED", name)
        return queries.count - before

    async def scenario() -> tuple[int, int]:
        # One subscriber, then 21.
        async with contextlib.AsyncExitStack() as stack:
            first = await stack.enter_async_context(connect(clusterd.url))
            probe = await subscribed(first, clusterd)
            # (the first write after connecting also records the token's use)
            await rename([first], probe, "warmed-up")
            one = await rename([first], probe, "renamed-once")
            others = [await stack.enter_async_context(connect(clusterd.url)) for _ in range(20)]
            for socket in others:
                await subscribed(socket, clusterd, probe)
            many = await rename([first, *others], probe, "renamed-twice")
            return one, many

    one, many = run(scenario())
    # The mutation's own queries, and the engine's in the background (a health
    # check now and then): not one more per subscriber.
    assert many - one < 10, (one, many)
