"""Subscriptions over graphql-transport-ws: every change as it happens, whoever
made it; drift; protocol errors. Real websockets, real clusterd and elektrads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, set_key, target
from .conftest import ADMIN_TOKEN, Clusterd, Elektrad
from .ws import connect

CHANGES = """subscription($i: ID, $c: ID, $p: String) {
  configChanged(instanceId: $i, clusterId: $c, pathPrefix: $p) {
    operationId op path value previous origin instance { name } cluster { name }
  }
}"""


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


async def settle() -> None:
    # Let a subscription register on the bus before the change it waits for.
    await asyncio.sleep(0.3)


def test_a_write_through_clusterd_arrives_with_its_operation(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)

    async def scenario() -> tuple[dict[str, Any], str]:
        async with connect(clusterd.url) as socket:
            await socket.subscribe(CHANGES, i=instance)
            await settle()
            response = await asyncio.to_thread(
                set_key, clusterd, target(instance=instance), "user:/app/port", "8080"
            )
            event = (await socket.next_data())["configChanged"]
            return event, response["data"]["setKey"]["operationId"]

    event, operation = run(scenario())
    assert event == {
        "operationId": operation,
        "op": "SET",
        "path": "user:/app/port",
        "value": "8080",
        "previous": None,
        "origin": "clusterd",
        "instance": {"name": "web"},
        "cluster": None,
    }


def test_a_change_made_on_the_machine_arrives_as_origin_instance(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text("[server]\nport = 80\n")
    (daemon,) = elektrads(1, mounts=[f"system:/app={ini}"])
    instance = add_instance(clusterd, "web", daemon.url)

    async def scenario() -> list[dict[str, Any]]:
        async with connect(clusterd.url) as socket:
            await socket.subscribe(CHANGES, i=instance)
            await settle()
            # Another client of the elektrad, then an editor on the machine.
            async with httpx.AsyncClient() as http:
                await http.put(f"{daemon.url}/kdb/user:/direct", content=b"1")
            ini.write_text("[server]\nport = 8080\n")
            return [(await socket.next_data())["configChanged"] for _ in range(2)]

    first, second = run(scenario())
    assert (first["path"], first["value"], first["origin"], first["operationId"]) == (
        "user:/direct",
        "1",
        "instance",
        None,
    )
    assert (second["path"], second["value"], second["previous"], second["origin"]) == (
        "system:/app/server/port",
        "8080",
        "80",
        "instance",
    )


def test_filters_by_cluster_and_path_prefix(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    member, nested, outsider = elektrads(3)
    prod = create_cluster(clusterd, "prod")
    eu = create_cluster(clusterd, "eu", parent=prod)
    assign(clusterd, prod, add_instance(clusterd, "member", member.url))
    assign(clusterd, eu, add_instance(clusterd, "nested", nested.url))
    outside = add_instance(clusterd, "outsider", outsider.url)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with connect(clusterd.url) as by_cluster, connect(clusterd.url) as by_path:
            await by_cluster.subscribe(CHANGES, c=prod)
            await by_path.subscribe(CHANGES, c=prod, p="user:/app")
            await settle()
            await asyncio.to_thread(
                set_key, clusterd, target(instance=outside), "user:/app/x", "no"
            )
            await asyncio.to_thread(set_key, clusterd, target(cluster=prod), "user:/app/port", "1")
            await asyncio.to_thread(set_key, clusterd, target(cluster=prod), "user:/other", "2")
            cluster_events = [(await by_cluster.next_data())["configChanged"] for _ in range(6)]
            path_events = [(await by_path.next_data())["configChanged"] for _ in range(3)]
            with pytest.raises(TimeoutError):
                await by_path.next_data(seconds=1)
            return cluster_events, path_events

    cluster_events, path_events = run(scenario())
    seen = {((e["instance"] or {}).get("name"), e["path"]) for e in cluster_events}
    assert seen == {
        (None, "user:/app/port"),  # the cluster's own config
        ("member", "user:/app/port"),
        ("nested", "user:/app/port"),  # members of sub-clusters too
        (None, "user:/other"),
        ("member", "user:/other"),
        ("nested", "user:/other"),
    }
    assert {e["path"] for e in path_events} == {"user:/app/port"}


def test_instance_status_changes_are_streamed(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)

    async def scenario() -> list[str]:
        async with connect(clusterd.url) as socket:
            await socket.subscribe(
                "subscription($i: ID) { instanceStatusChanged(instanceId: $i) { name status } }",
                i=instance,
            )
            await settle()
            await asyncio.to_thread(daemon.stop)
            down = (await socket.next_data())["instanceStatusChanged"]["status"]
            await asyncio.to_thread(daemon.start)
            up = (await socket.next_data())["instanceStatusChanged"]["status"]
            return [down, up]

    assert run(scenario()) == ["OFFLINE", "ONLINE"]


def test_operation_progress_replays_then_follows_until_done(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    online, offline = elektrads(2)
    cluster = create_cluster(clusterd, "prod")
    assign(clusterd, cluster, add_instance(clusterd, "up", online.url))
    assign(clusterd, cluster, add_instance(clusterd, "down", offline.url))
    offline.stop()
    written = set_key(clusterd, target(cluster=cluster), "user:/mode", "safe")
    operation = written["data"]["setKey"]["operationId"]

    async def scenario() -> list[tuple[str, str]]:
        # Subscribed only after the mutation returned: still sees everything.
        async with connect(clusterd.url) as socket:
            subscription = await socket.subscribe(
                "subscription($o: ID!) { operationProgress(operationId: $o)"
                " { delivery instance { name } } }",
                o=operation,
            )
            seen = []
            for _ in range(2):
                result = (await socket.next_data())["operationProgress"]
                seen.append((result["instance"]["name"], result["delivery"]))
            await asyncio.to_thread(offline.start)
            result = (await socket.next_data(seconds=20))["operationProgress"]
            seen.append((result["instance"]["name"], result["delivery"]))
            assert await socket.receive() == {"id": subscription, "type": "complete"}
            return seen

    assert sorted(run(scenario())[:2]) == [("down", "PENDING"), ("up", "APPLIED")]


@pytest.fixture
def drifting(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> tuple[str, str, list[Elektrad], list[str]]:
    daemons = elektrads(2)
    cluster = create_cluster(clusterd, "prod")
    instances = [add_instance(clusterd, f"m{n}", d.url) for n, d in enumerate(daemons)]
    for instance in instances:
        assign(clusterd, cluster, instance)
    set_key(clusterd, target(cluster=cluster), "user:/app/port", "8080")
    return cluster, "user:/app/port", daemons, instances


def test_drift_is_detected_reported_and_reapplied(
    clusterd: Clusterd, drifting: tuple[str, str, list[Elektrad], list[str]]
) -> None:
    cluster, path, daemons, instances = drifting

    async def scenario() -> dict[str, Any]:
        async with connect(clusterd.url) as socket:
            await socket.subscribe(
                "subscription($c: ID) { driftChanged(clusterId: $c)"
                " { path expected actual resolved } }",
                c=cluster,
            )
            await settle()
            async with httpx.AsyncClient() as http:
                await http.put(f"{daemons[0].url}/kdb/{path}", content=b"9999")
            event: dict[str, Any] = (await socket.next_data())["driftChanged"]
            return event

    assert run(scenario()) == {
        "path": path,
        "expected": "8080",
        "actual": "9999",
        "resolved": False,
    }
    drift = clusterd.ok(
        "query($c: ID!) { cluster(id: $c) { drift { instanceId path expected actual } } }",
        c=cluster,
    )["cluster"]["drift"]
    assert drift == [
        {"instanceId": instances[0], "path": path, "expected": "8080", "actual": "9999"}
    ]
    reapplied = clusterd.ok(
        "mutation($i: ID!, $p: String!) { resolveDrift(instanceId: $i, path: $p, action: REAPPLY)"
        " { results { delivery } } }",
        i=instances[0],
        p=path.replace("user:/", "user/"),  # the other spelling names the same key
    )
    assert reapplied["resolveDrift"]["results"] == [{"delivery": "APPLIED"}]
    assert daemons[0].value(path) == "8080"
    wait_until(
        lambda: (
            not clusterd.ok(
                "query($i: ID!) { instance(id: $i) { drift { path } } }", i=instances[0]
            )["instance"]["drift"]
        )
    )


def test_adopting_drift_makes_it_the_cluster_value_everywhere(
    clusterd: Clusterd, drifting: tuple[str, str, list[Elektrad], list[str]]
) -> None:
    cluster, path, daemons, instances = drifting
    httpx.put(f"{daemons[1].url}/kdb/{path}", content=b"7070")
    wait_until(
        lambda: bool(
            clusterd.ok("query($i: ID!) { instance(id: $i) { drift { path } } }", i=instances[1])[
                "instance"
            ]["drift"]
        )
    )
    adopted = clusterd.ok(
        "mutation($i: ID!, $p: String!) { resolveDrift(instanceId: $i, path: $p, action: ADOPT)"
        " { results { delivery instance { name } } } }",
        i=instances[1],
        p=path,
    )
    assert {r["delivery"] for r in adopted["resolveDrift"]["results"]} == {"APPLIED"}
    assert [d.value(path) for d in daemons] == ["7070", "7070"]
    key = clusterd.ok(
        "query($c: ID!, $p: String!) { cluster(id: $c) { key(path: $p) { value } } }",
        c=cluster,
        p=path,
    )
    assert key["cluster"]["key"]["value"] == "7070"
    wait_until(
        lambda: (
            not clusterd.ok("query($c: ID!) { cluster(id: $c) { drift { path } } }", c=cluster)[
                "cluster"
            ]["drift"]
        )
    )


def test_a_repair_policy_puts_the_cluster_value_back_by_itself(
    clusterd: Clusterd, drifting: tuple[str, str, list[Elektrad], list[str]]
) -> None:
    cluster, path, daemons, _ = drifting
    clusterd.ok(
        "mutation($c: ID!) { updateCluster(id: $c, input: {driftPolicy: REPAIR}) { driftPolicy } }",
        c=cluster,
    )
    httpx.delete(f"{daemons[0].url}/kdb/{path}")
    wait_until(lambda: daemons[0].value(path) == "8080")


INIT = {"type": "connection_init", "payload": {"token": ADMIN_TOKEN}}


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        ([{"type": "subscribe", "id": "1", "payload": {"query": "{ version { api } }"}}], 4401),
        ([INIT, {"type": "nonsense"}], 4400),
        ([INIT, INIT], 4429),
    ],
)
def test_protocol_errors_close_the_socket_with_the_protocol_codes(
    clusterd: Clusterd, messages: list[dict[str, Any]], code: int
) -> None:
    async def scenario() -> int:
        async with connect(clusterd.url, init=False) as socket:
            try:
                for message in messages:
                    await socket.send(message)
                while True:
                    await socket.receive()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code
        raise AssertionError("not closed")

    assert run(scenario()) == code


def test_a_duplicate_subscription_id_closes_the_socket(
    clusterd: Clusterd,
) -> None:
    async def scenario() -> int:
        async with connect(clusterd.url) as socket:
            subscription = {
                "id": "same",
                "type": "subscribe",
                "payload": {"query": "subscription { instanceStatusChanged { name } }"},
            }
            await socket.send(subscription)
            await socket.send(subscription)
            try:
                while True:
                    await socket.receive()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code

    assert run(scenario()) == 4409


def test_a_bad_filter_is_an_error(clusterd: Clusterd) -> None:
    async def scenario() -> dict[str, Any]:
        async with connect(clusterd.url) as socket:
            await socket.subscribe(CHANGES, i="999")
            return await socket.receive()

    message = run(scenario())
    # An error of the subscription's resolver comes in a "next", then "complete".
    assert message["type"] == "next"
    assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_slow_subscriber_is_dropped_and_never_stalls_the_others(database_url: str) -> None:
    import secrets
    from dataclasses import replace

    from elektra_web.clusterd.app import ClusterdConfig

    from .conftest import TEST_SETTINGS, serve_clusterd

    config = ClusterdConfig(
        database_url=database_url, settings=replace(TEST_SETTINGS, subscriber_queue=20)
    )
    # Incompressible, so that some events fill the socket buffers of a reader
    # that stops reading.
    big = secrets.token_hex(100_000)
    count = 200
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=60) as http:
        clusterd = Clusterd(url, http)
        cluster = create_cluster(clusterd, "prod")

        async def scenario() -> tuple[int, dict[str, Any]]:
            async with connect(url) as fast, connect(url) as slow:
                await fast.subscribe(CHANGES, c=cluster)
                await slow.subscribe(CHANGES, c=cluster)
                await settle()

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
                # The slow one, reading at last, finds its subscription ended
                # with an error after what was queued for it.
                while True:
                    message = await slow.receive()
                    if message["type"] != "next" or "errors" in message["payload"]:
                        return received, message

        received, ending = run(scenario())
    assert received == count
    assert ending["type"] == "next"
    error = ending["payload"]["errors"][0]
    assert error["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
    assert "fell more than 20 events behind" in error["message"]


def test_a_delivery_that_lands_when_a_member_comes_back_is_seen_live(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    """The restarted elektrad's feed has a new epoch: what it recorded before
    clusterd polled it again (the pending delivery, sent as soon as it was
    back) is read from the new epoch's start, not skipped."""
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    cluster = create_cluster(clusterd, "prod")
    assign(clusterd, cluster, instance)
    daemon.stop()
    written = set_key(clusterd, target(cluster=cluster), "user:/app/mode", "safe")
    operation = written["data"]["setKey"]["operationId"]

    async def scenario() -> dict[str, Any]:
        async with connect(clusterd.url) as socket:
            await socket.subscribe(CHANGES, i=instance, p="user:/app/mode")
            await settle()
            await asyncio.to_thread(daemon.start)
            event: dict[str, Any] = (await socket.next_data(seconds=15))["configChanged"]
            return event

    event = run(scenario())
    assert (event["operationId"], event["value"], event["origin"]) == (
        operation,
        "safe",
        "clusterd",
    )


def test_a_change_made_while_a_member_was_down_is_drift_once_it_is_back(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    """A daemon that restarts begins a new feed: what changed while it was
    down (a file edited, keys restored from a backup) is in no feed entry."""
    settings = tmp_path / "app.ini"
    settings.write_text("")
    (daemon,) = elektrads(1, mounts=[f"user:/app={settings}"])
    cluster = create_cluster(clusterd, "prod")
    instance = add_instance(clusterd, "m0", daemon.url)
    assign(clusterd, cluster, instance)
    written = set_key(clusterd, target(cluster=cluster), "user:/app/server/port", "8080")
    assert written["data"]["setKey"]["results"][0]["delivery"] == "APPLIED", written
    assert "8080" in settings.read_text()
    daemon.stop()
    settings.write_text(settings.read_text().replace("8080", "9999"))
    daemon.start()

    def drift() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = clusterd.ok(
            "query($i: ID!) { instance(id: $i) { drift { path expected actual } } }", i=instance
        )["instance"]["drift"]
        return found

    wait_until(lambda: drift(), what="drift after the restart")
    assert drift() == [{"path": "user:/app/server/port", "expected": "8080", "actual": "9999"}]
