"""Multiplexed subscriptions: sockets that ask the same thing share one
execution (one bus subscription), and still each get their own id, their own
pace and their own authorization. Real clusterd, real websockets; the bus
subscriptions are read from ``/metrics``.

Each runs under clusterd's websocket protocol (``server.WS_PROTOCOL``: events
written by the group as ready frames) and under uvicorn's own (events sent by
each subscription's task through ASGI)."""

from __future__ import annotations

import asyncio
import gc
import secrets
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from elektra_web.clusterd.app import ClusterdConfig, create_app
from elektra_web.clusterd.server import WS_PROTOCOL
from elektra_web.clusterd.transport_ws import ClusterdWebSocketProtocol

from ..support import servers
from ..support.waiting import wait_until
from .api import add_instance, create_cluster, set_key, target
from .conftest import ADMIN_TOKEN, AUTH, TEST_SETTINGS, Clusterd, Elektrad
from .test_auth import make_token, revoke
from .test_monitoring import scrape
from .ws import Socket, connect

CHANGES = """subscription($i: ID, $p: String) {
  configChanged(instanceId: $i, pathPrefix: $p) { path value origin instance { name } }
}"""


PROTOCOLS = {"clusterd": WS_PROTOCOL, "uvicorn": "websockets-sansio"}


@contextmanager
def served(
    tmp_path: Path, ws: object, deflate: bool = False, **settings: Any
) -> Iterator[Clusterd]:
    """clusterd with --metrics under uvicorn with the websocket protocol ``ws``."""
    config = ClusterdConfig(
        database_url=f"sqlite://{tmp_path / 'clusterd.sqlite3'}",
        settings=replace(TEST_SETTINGS, **settings),
        metrics=True,
        admin_token=ADMIN_TOKEN,
    )
    with (
        servers.serve_in_thread(
            create_app(config),
            lifespan="on",
            timeout_graceful_shutdown=5,
            ws=ws,
            ws_per_message_deflate=deflate,
        ) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        yield Clusterd(url, http)


@pytest.fixture(params=list(PROTOCOLS))
def monitored(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Clusterd]:
    with served(tmp_path, PROTOCOLS[request.param]) as clusterd:
        yield clusterd


def events_taken(clusterd: Clusterd) -> int:
    return int(scrape(clusterd).value("clusterd_subscription_events_total") or 0)


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def bus_subscriptions(clusterd: Clusterd) -> int:
    return int(scrape(clusterd).value("clusterd_event_bus_subscriptions") or 0)


def subscriptions(clusterd: Clusterd) -> int:
    return int(scrape(clusterd).value("clusterd_subscriptions") or 0)


async def until(condition: Callable[[], bool], what: str) -> None:
    await asyncio.to_thread(wait_until, condition, what=what)


async def sockets(
    stack: AsyncExitStack, url: str, n: int, token: str | None = None
) -> list[Socket]:
    opened = []
    for _ in range(n):
        kwargs = {} if token is None else {"token": token}
        opened.append(await stack.enter_async_context(connect(url, **kwargs)))
    return opened


async def next_message(socket: Socket) -> dict[str, Any]:
    while True:
        message = await socket.receive()
        if message["type"] == "ping":
            await socket.send({"type": "pong"})
            continue
        return message


def test_subscribers_asking_the_same_share_one_execution_and_each_get_their_id(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(monitored, "web", daemon.url)
    idle = bus_subscriptions(monitored)

    async def scenario() -> tuple[list[dict[str, Any]], list[int]]:
        counts = []
        async with AsyncExitStack() as stack:
            same = await sockets(stack, monitored.url, 5)
            ids = [await s.subscribe(CHANGES, i=instance) for s in same]
            await until(lambda: subscriptions(monitored) == 5, "five subscribers")
            await until(lambda: bus_subscriptions(monitored) == idle + 1, "one execution")
            other = await stack.enter_async_context(connect(monitored.url))
            await other.subscribe(CHANGES, i=instance, p="user:/app")
            await until(lambda: bus_subscriptions(monitored) == idle + 2, "a second execution")
            await asyncio.to_thread(
                set_key, monitored, target(instance=instance), "user:/app/port", "8080"
            )
            messages = [await next_message(s) for s in [*same, other]]
            assert [m["id"] for m in messages[:5]] == ids
            counts.append(bus_subscriptions(monitored))
            for socket in same[:4]:
                await socket.send({"id": "1", "type": "complete"})
            await until(lambda: subscriptions(monitored) == 2, "four left")
            counts.append(bus_subscriptions(monitored))
            await same[4].send({"id": "1", "type": "complete"})
            await until(lambda: subscriptions(monitored) == 1, "the fifth left")
            await until(lambda: bus_subscriptions(monitored) == idle + 1, "its execution ended")
            return messages, counts

    messages, counts = run(scenario())
    event = {"path": "user:/app/port", "value": "8080", "origin": "clusterd"}
    for message in messages:
        assert message["type"] == "next"
        assert message["payload"] == {
            "data": {"configChanged": {**event, "instance": {"name": "web"}}}
        }
    # The group lives while one of its subscribers does.
    assert counts == [idle + 2, idle + 2]


def test_a_viewer_never_shares_an_execution_with_an_admin(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(monitored, "web", daemon.url)
    _, viewer = make_token(monitored, "VIEWER")
    idle = bus_subscriptions(monitored)

    async def scenario() -> list[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            (admin,) = await sockets(stack, monitored.url, 1)
            (watcher,) = await sockets(stack, monitored.url, 1, token=viewer)
            await admin.subscribe(CHANGES, i=instance)
            await watcher.subscribe(CHANGES, i=instance)
            await until(lambda: bus_subscriptions(monitored) == idle + 2, "one per role")
            await asyncio.to_thread(
                set_key, monitored, target(instance=instance), "user:/app/port", "1"
            )
            return [await admin.next_data(), await watcher.next_data()]

    admin_data, viewer_data = run(scenario())
    assert admin_data == viewer_data


def test_a_revoked_subscriber_is_closed_and_the_rest_of_its_group_goes_on(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(monitored, "web", daemon.url)
    gone_id, gone = make_token(monitored, "VIEWER", "leaving")
    _, stays = make_token(monitored, "VIEWER", "staying")
    idle = bus_subscriptions(monitored)

    async def scenario() -> tuple[int, dict[str, Any]]:
        async with AsyncExitStack() as stack:
            (leaving,) = await sockets(stack, monitored.url, 1, token=gone)
            (staying,) = await sockets(stack, monitored.url, 1, token=stays)
            await leaving.subscribe(CHANGES, i=instance)
            await staying.subscribe(CHANGES, i=instance)
            await until(lambda: bus_subscriptions(monitored) == idle + 1, "one shared execution")
            await asyncio.to_thread(revoke, monitored, gone_id)
            code = await leaving.close_code()
            await asyncio.to_thread(
                set_key, monitored, target(instance=instance), "user:/app/port", "2"
            )
            return code, await staying.next_data()

    code, data = run(scenario())
    assert code == 4403
    assert data["configChanged"]["value"] == "2"


def test_a_shared_subscription_that_cannot_start_answers_each_subscriber(
    monitored: Clusterd,
) -> None:
    unknown = 'subscription { configChanged(instanceId: "999") { path } }'
    invalid = "subscription { configChanged { nonsense } }"

    async def scenario() -> list[list[dict[str, Any]]]:
        answers = []
        async with AsyncExitStack() as stack:
            two = await sockets(stack, monitored.url, 2)
            for socket in two:
                await socket.send({"id": "a", "type": "subscribe", "payload": {"query": unknown}})
                await socket.send({"id": "b", "type": "subscribe", "payload": {"query": invalid}})
            for socket in two:
                got = [await next_message(socket) for _ in range(3)]
                # In order per id (the two operations run side by side).
                answers.append(sorted(got, key=lambda m: m["id"]))
        return answers

    first, second = run(scenario())
    assert first == second
    not_found, completed, refused = first
    assert not_found["type"] == "next"
    assert not_found["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert completed == {"id": "a", "type": "complete"}
    assert refused["type"] == "error" and refused["id"] == "b"
    assert "nonsense" in refused["payload"][0]["message"]


@pytest.mark.parametrize("deflate", [False, True], ids=["deflate-off", "deflate-on"])
def test_each_socket_gets_the_shared_event_whole_with_its_own_id(
    tmp_path: Path, elektrads: Callable[[int], list[Elektrad]], deflate: bool
) -> None:
    """Written as a ready frame (deflate off) or sent compressed through ASGI
    (deflate on: the test client offers it): the same message either way,
    ids of any length, counted once per subscriber."""
    (daemon,) = elektrads(1)
    ids = ["1", "a-much-longer-subscription-id", 'quote"d']
    with served(tmp_path, WS_PROTOCOL, deflate=deflate) as clusterd:
        instance = add_instance(clusterd, "web", daemon.url)
        before = events_taken(clusterd)

        async def scenario() -> list[list[dict[str, Any]]]:
            async with AsyncExitStack() as stack:
                opened = await sockets(stack, clusterd.url, 3)
                for socket, id_ in zip(opened, ids, strict=True):
                    payload = {"query": CHANGES, "variables": {"i": instance}}
                    await socket.send({"id": id_, "type": "subscribe", "payload": payload})
                await until(lambda: subscriptions(clusterd) == 3, "three subscribers")
                got = []
                for value in ("1", "2"):
                    await asyncio.to_thread(
                        set_key, clusterd, target(instance=instance), "user:/app/port", value
                    )
                    got.append([await next_message(s) for s in opened])
                return got

        got = run(scenario())
        assert events_taken(clusterd) - before == 6
    for value, messages in zip(("1", "2"), got, strict=True):
        assert [m["id"] for m in messages] == ids
        for message in messages:
            assert message["type"] == "next"
            assert message["payload"]["data"]["configChanged"]["value"] == value


def test_no_event_follows_a_complete(
    monitored: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(monitored, "web", daemon.url)

    async def scenario() -> list[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            stopping, staying = await sockets(stack, monitored.url, 2)
            await stopping.subscribe(CHANGES, i=instance)
            await staying.subscribe(CHANGES, i=instance)
            await until(lambda: subscriptions(monitored) == 2, "two subscribers")
            # The complete and the event race: no "next" after the complete.
            await stopping.send({"id": "1", "type": "complete"})
            await asyncio.to_thread(
                set_key, monitored, target(instance=instance), "user:/app/port", "3"
            )
            await staying.next_data()
            await stopping.send({"type": "ping"})
            return [await next_message(stopping)]

    (after,) = run(scenario())
    assert after == {"type": "pong"}


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_a_slow_socket_of_a_group_is_dropped_alone_after_its_events_in_order(
    tmp_path: Path, protocol: str
) -> None:
    """The socket that stops reading fills its TCP buffers; then its events
    queue for its task (never written past backpressure), and past
    ``subscriber_queue`` it alone is ended, after what was queued, in order."""
    big = secrets.token_hex(100_000)  # incompressible
    # Past what the kernel's socket buffers and the client's own queue hold.
    count = 200
    with served(tmp_path, PROTOCOLS[protocol], subscriber_queue=10) as clusterd:
        cluster = create_cluster(clusterd, "prod")
        document = "subscription($c: ID) { configChanged(clusterId: $c) { path value } }"

        async def scenario() -> tuple[int, list[str], dict[str, Any]]:
            async with AsyncExitStack() as stack:
                fast, slow = await sockets(stack, clusterd.url, 2)
                await fast.subscribe(document, c=cluster)
                await slow.subscribe(document, c=cluster)
                await until(lambda: subscriptions(clusterd) == 2, "two subscribers")

                async def read_all() -> int:
                    for _ in range(count):
                        await fast.next_data()
                    return count

                reader = asyncio.create_task(read_all())
                for n in range(count):
                    await asyncio.to_thread(
                        set_key, clusterd, target(cluster=cluster), f"user:/k{n}", big
                    )
                received = await reader
                paths = []
                while True:
                    message = await next_message(slow)
                    if message["type"] != "next" or "errors" in message["payload"]:
                        return received, paths, message
                    paths.append(message["payload"]["data"]["configChanged"]["path"])

        received, paths, ending = run(scenario())
    assert received == count
    assert paths == [f"user:/k{n}" for n in range(len(paths))]
    assert len(paths) < count
    assert ending["type"] == "next"
    assert ending["payload"]["errors"][0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"


def test_clusterds_protocol_keeps_no_handshake_once_open(tmp_path: Path) -> None:
    """What a socket holds while open (scripts/bench-subscriptions
    --trace-memory): not the handshake's request or response, no instance
    dictionary; the headers stay in the ASGI scope."""
    with served(tmp_path, WS_PROTOCOL) as clusterd:

        async def scenario() -> dict[str, object]:
            async with AsyncExitStack() as stack:
                (socket,) = await sockets(stack, clusterd.url, 1)
                await socket.send({"type": "ping"})
                assert await next_message(socket) == {"type": "pong"}
                (protocol,) = [
                    o
                    for o in gc.get_objects()
                    if isinstance(o, ClusterdWebSocketProtocol) and not o.disconnected
                ]
                return {
                    "request": protocol.request,
                    "response": protocol.response,
                    "dict": getattr(protocol, "__dict__", {}),
                    "parser": protocol.conn.parser.gi_code.co_qualname,
                    "upgrade": dict(protocol.scope["headers"])[b"upgrade"],
                }

        held = run(scenario())
    assert held == {
        "request": None,
        "response": None,
        "dict": {},
        "parser": "Protocol.parse",
        "upgrade": b"websocket",
    }
