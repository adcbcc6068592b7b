"""Multiplexed subscriptions: sockets that ask the same thing share one
execution (one bus subscription), and still each get their own id, their own
pace and their own authorization. Real clusterd, real websockets; the bus
subscriptions are read from ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from ..support.waiting import wait_until
from .api import add_instance, set_key, target
from .conftest import Clusterd, Elektrad
from .test_auth import make_token, revoke
from .test_monitoring import clusterd_with_metrics, scrape
from .ws import Socket, connect

CHANGES = """subscription($i: ID, $p: String) {
  configChanged(instanceId: $i, pathPrefix: $p) { path value origin instance { name } }
}"""


@pytest.fixture
def monitored(tmp_path: Path) -> Iterator[Clusterd]:
    with clusterd_with_metrics(f"sqlite://{tmp_path / 'clusterd.sqlite3'}") as clusterd:
        yield clusterd


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
