"""Retention of deliveries, against a real clusterd and real elektrads: the
rows of cluster writes that landed are pruned once old, while what is still
to be sent (PENDING) and what a member refused (FAILED) stay until they
land or a person acts; and the member that was offline still gets its
write afterwards."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import httpx

from elektra_web.clusterd.app import ClusterdConfig

from ..support.metrics import parse
from ..support.waiting import wait_until
from .api import add_instance, assign, cluster_config, create_cluster, results, set_key, target
from .conftest import AUTH, TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd


def deliveries(clusterd: Clusterd) -> dict[str, float]:
    samples = parse(clusterd.http.get("/metrics").text)
    states = ("pending", "applied", "failed", "superseded")
    return {s: samples.value("clusterd_deliveries", state=s) or 0 for s in states}


def test_settled_deliveries_are_pruned_and_pending_and_failed_ones_kept(
    database_url: str, elektrads: Callable[..., list[Elektrad]]
) -> None:
    settings = dataclasses.replace(
        TEST_SETTINGS, delivery_max_age=1.0 / 86400, history_prune_interval=0.1
    )
    config = ClusterdConfig(database_url=database_url, settings=settings, metrics=True)
    strict, sleepy = elektrads(2)
    with (
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        clusterd = Clusterd(url, http)
        prod = create_cluster(clusterd, "prod")
        assign(clusterd, prod, add_instance(clusterd, "strict", strict.url))
        assign(clusterd, prod, add_instance(clusterd, "sleepy", sleepy.url))
        where = target(cluster=prod)
        assert results(set_key(clusterd, where, "user:/app/port", "80")) == {
            "sleepy": "APPLIED",
            "strict": "APPLIED",
        }
        httpx.post(
            f"{strict.url}/kdbMeta/user:/app/port", json={"key": "check/type", "value": "long"}
        ).raise_for_status()
        refused = results(set_key(clusterd, where, "user:/app/port", "eighty", force=True))
        assert refused == {"sleepy": "APPLIED", "strict": "FAILED"}
        sleepy.stop()
        wait_until(
            lambda: (
                {
                    i["name"]: i["status"]
                    for i in clusterd.ok("{ instances { name status } }")["instances"]
                }["sleepy"]
                == "OFFLINE"
            ),
            what="sleepy offline",
        )
        assert results(set_key(clusterd, where, "user:/app/mode", "blue"))["sleepy"] == "PENDING"

        wait_until(
            lambda: (
                deliveries(clusterd) == {"pending": 1, "applied": 0, "failed": 1, "superseded": 0}
            ),
            what="the settled deliveries pruned, the pending and the failed one kept",
        )
        state = clusterd.ok("{ instances { name pending { path } failed { path value } } }")
        by_name = {i["name"]: i for i in state["instances"]}
        assert by_name["sleepy"]["pending"] == [{"path": "user:/app/mode"}]
        assert by_name["strict"]["failed"] == [{"path": "user:/app/port", "value": "eighty"}]

        sleepy.start()  # back: the write kept for it lands
        wait_until(lambda: sleepy.value("user:/app/mode") == "blue", what="sleepy caught up")
        assert cluster_config(clusterd)["sleepy"] == {
            path: sleepy.value(path) for path in cluster_config(clusterd)["sleepy"]
        }
        # Nothing shown is false: the member that refused still says so.
        assert strict.value("user:/app/port") == "80"
