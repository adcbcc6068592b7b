"""Managing instances and clusters, and clusterd restarting with deliveries
still pending."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from ..elektrad.conftest import free_port
from .api import add_instance, assign, create_cluster, error_code, results, set_key, target
from .conftest import AUTH, Clusterd, Elektrad, spawn_clusterd


def test_an_instance_is_renamed_moved_and_removed(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    first, second = elektrads(2)
    instance = add_instance(clusterd, "web-01", first.url)
    add_instance(clusterd, "web-02", second.url)
    updated = clusterd.ok(
        'mutation($i: ID!) { updateInstance(id: $i, input: {name: "web-1", description: "db"})'
        " { name description host } }",
        i=instance,
    )["updateInstance"]
    assert updated == {"name": "web-1", "description": "db", "host": first.url}
    taken = clusterd.query(
        "mutation($i: ID!, $h: String!) { updateInstance(id: $i, input: {host: $h}) { id } }",
        i=instance,
        h=second.url + "/",
    )
    assert error_code(taken) == "INSTANCE_EXISTS"
    removed = clusterd.ok("mutation($i: ID!) { removeInstance(id: $i) }", i=instance)
    assert removed["removeInstance"] == instance
    assert clusterd.ok("query($i: ID!) { instance(id: $i) { id } }", i=instance)["instance"] is None
    assert error_code(clusterd.query('mutation { removeInstance(id: "999") }')) == "NOT_FOUND"


def test_a_cluster_is_renamed_and_deleted_and_its_members_keep_their_keys(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    cluster = create_cluster(clusterd, "prod")
    assign(clusterd, cluster, instance)
    set_key(clusterd, target(cluster=cluster), "user:/app/port", "80")
    renamed = clusterd.ok(
        'mutation($c: ID!) { updateCluster(id: $c, input: {name: "production"}) { name } }',
        c=cluster,
    )
    assert renamed["updateCluster"]["name"] == "production"
    assert (
        error_code(clusterd.query('mutation { createCluster(input: {name: "production"}) { id } }'))
        == "BAD_INPUT"
    )
    child = create_cluster(clusterd, "eu", parent=cluster)
    refused = clusterd.query("mutation($c: ID!) { deleteCluster(id: $c) }", c=cluster)
    assert error_code(refused) == "BAD_INPUT"
    assert "sub-clusters (eu)" in refused["errors"][0]["message"]
    clusterd.ok("mutation($c: ID!) { deleteCluster(id: $c) }", c=child)
    clusterd.ok("mutation($c: ID!) { deleteCluster(id: $c) }", c=cluster)
    data = clusterd.ok(
        'query($i: ID!) { instance(id: $i) { cluster { id } key(path: "user:/app/port")'
        " { value lockedBy { id } } } }",
        i=instance,
    )["instance"]
    assert data == {"cluster": None, "key": {"value": "80", "lockedBy": None}}


def test_pending_deliveries_land_after_clusterd_is_killed_and_restarted(
    database_url: str, tmp_path: Path, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    online, offline = elektrads(2)
    offline.stop()
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        return spawn_clusterd(port, database_url, home=tmp_path)

    process = start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=AUTH) as http:
            clusterd = Clusterd(f"http://127.0.0.1:{port}", http)
            cluster = create_cluster(clusterd, "prod")
            for name, daemon in [("up", online), ("down", offline)]:
                added = add_instance(clusterd, name, daemon.url, allow_offline=True)
                assign(clusterd, cluster, added)
            written = set_key(clusterd, target(cluster=cluster), "user:/app/mode", "safe")
            assert results(written) == {"down": "PENDING", "up": "APPLIED"}
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        offline.start()
        time.sleep(0.5)
        assert offline.value("user:/app/mode") is None  # nobody delivered it yet
        process = start()
        deadline = time.monotonic() + 20
        while offline.value("user:/app/mode") != "safe":
            assert time.monotonic() < deadline, "the pending delivery never landed"
            time.sleep(0.1)
    finally:
        process.kill()
        process.wait(10)


def test_a_restarted_clusterd_follows_the_feeds_again_at_once(
    tmp_path: Path, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    """On SQLite only one clusterd runs: claims a killed one left are void."""
    import asyncio

    from .ws import connect

    (daemon,) = elektrads(1)
    database = f"sqlite://{tmp_path / 'c.sqlite3'}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        return spawn_clusterd(port, database, home=tmp_path)

    process = start()
    try:
        with httpx.Client(base_url=url, timeout=30, headers=AUTH) as http:
            instance = add_instance(Clusterd(url, http), "web", daemon.url)
        time.sleep(1)  # it now follows the instance's feed
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        process = start()

        async def scenario() -> float:
            async with connect(url) as socket:
                await socket.subscribe(
                    "subscription($i: ID) { configChanged(instanceId: $i) { path } }", i=instance
                )
                await asyncio.sleep(0.3)
                started = time.monotonic()
                async with httpx.AsyncClient() as client:
                    await client.put(f"{daemon.url}/kdb/user:/after", content=b"1")
                event = await socket.next_data(seconds=20)
                assert event["configChanged"]["path"] == "user:/after"
                return time.monotonic() - started

        assert asyncio.run(scenario()) < 8  # not after a lease of the dead process ran out
    finally:
        process.kill()
        process.wait(10)
