"""DNS rebinding against a real clusterd and real elektrads: a member whose
name resolves to a metadata address after it was registered is not called; it
shows as offline, the cluster write waiting for it carries the reason, the others
go on, and it recovers when its name resolves to it again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx

from elektra_web.clusterd.app import ClusterdConfig

from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, results, set_key, target
from .conftest import AUTH, TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd

INSTANCES = "{ instances { name status pending { path value status lastError } } }"


class Names:
    """The resolver clusterd is given: ``localhost`` resolves to what a test
    says; an IP address to itself."""

    def __init__(self) -> None:
        self.localhost = ["127.0.0.1"]
        self.asked = 0

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        if host != "localhost":
            return [host]
        self.asked += 1
        return self.localhost


def instances(clusterd: Clusterd) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in clusterd.ok(INSTANCES)["instances"]}


def test_a_member_whose_name_rebinds_is_not_called_and_recovers(
    database_url: str, elektrads: Callable[..., list[Elektrad]]
) -> None:
    names = Names()
    config = ClusterdConfig(database_url=database_url, settings=TEST_SETTINGS, resolver=names)
    steady, moving = elektrads(2)
    with (
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        clusterd = Clusterd(url, http)
        cluster = create_cluster(clusterd, "web")
        assign(clusterd, cluster, add_instance(clusterd, "steady", steady.url))
        # Registered by name: checked then, and resolved (to loopback) since.
        moving_id = add_instance(clusterd, "moving", f"http://localhost:{moving.port}")
        assign(clusterd, cluster, moving_id)
        where = target(cluster=cluster)
        assert results(set_key(clusterd, where, "user:/app/k", "v1")) == {
            "steady": "APPLIED",
            "moving": "APPLIED",
        }
        assert names.asked >= 1

        # The machine goes away (its connections close), and its name now
        # answers the cloud metadata address.
        moving.stop()
        names.localhost = ["169.254.169.254"]
        moving.start()
        wait_until(
            lambda: instances(clusterd)["moving"]["status"] == "OFFLINE", what="refused member"
        )
        assert results(set_key(clusterd, where, "user:/app/k", "v2")) == {
            "steady": "APPLIED",
            "moving": "PENDING",
        }
        assert steady.value("user:/app/k") == "v2"
        assert moving.value("user:/app/k") == "v1"

        def refused_with_reason() -> bool:
            (pending,) = instances(clusterd)["moving"]["pending"]
            error = pending["lastError"] or ""
            return pending["value"] == "v2" and "169.254.169.254" in error

        wait_until(refused_with_reason, what="the reason on the pending write")
        assert instances(clusterd)["steady"]["status"] == "ONLINE"
        # A live read is refused like one of any unreachable member.
        error = clusterd.error(
            'query($i: ID!) { instance(id: $i) { key(path: "user:/app/k") { value } } }',
            i=moving_id,
        )
        assert error["extensions"]["code"] == "INSTANCE_UNREACHABLE"
        assert "moving is unreachable" in error["message"]

        # The name answers the member again: it is called, and catches up.
        names.localhost = ["127.0.0.1"]
        wait_until(
            lambda: (
                instances(clusterd)["moving"]["status"] == "ONLINE"
                and not instances(clusterd)["moving"]["pending"]
            ),
            what="recovery",
        )
        assert moving.value("user:/app/k") == "v2"
