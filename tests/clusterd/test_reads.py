"""Reads through clusterd: live from the elektrads, batched per request, and an
unreachable instance fails only its own fields."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest

from elektra_web.clusterd.app import ClusterdConfig

from .api import add_instance, set_key, target
from .conftest import TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real transport that counts the calls per path prefix (a mock only
    counts here; the calls go to the real elektrads)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls[request.url.path.split("/")[1]] += 1
        return await super().handle_async_request(request)


@pytest.fixture
def counted(database_url: str) -> Iterator[tuple[Clusterd, CountingTransport]]:
    transport = CountingTransport()
    config = ClusterdConfig(
        database_url=database_url, settings=TEST_SETTINGS, transport=transport, health_checks=False
    )
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield Clusterd(url, http), transport


QUERY = """{ instances { name
  port: key(path: "user:/app/port") { value }
  host: key(path: "user/app/host") { value }
  app: keys(path: "user:/app", depth: 2) { path value children }
  deep: key(path: "user:/app/db/name") { value exists }
  dns: key(path: "system:/net/dns") { value }
} }"""


def test_one_request_makes_one_call_per_instance_and_subtree(
    counted: tuple[Clusterd, CountingTransport], elektrads: Callable[[int], list[Elektrad]]
) -> None:
    clusterd, transport = counted
    for n, daemon in enumerate(elektrads(3)):
        instance = add_instance(clusterd, f"web-{n}", daemon.url)
        for path, value in [
            ("user:/app/port", str(8080 + n)),
            ("user:/app/host", f"h{n}"),
            ("user:/app/db/name", "main"),
            ("system:/net/dns", "10.0.0.53"),
        ]:
            set_key(clusterd, target(instance=instance), path, value)
    transport.calls.clear()
    data = clusterd.ok(QUERY)["instances"]
    # user:/app (port, host, app, deep) is one subtree, system:/net another.
    assert transport.calls["kdb"] == 3 * 2
    assert [i["port"]["value"] for i in data] == ["8080", "8081", "8082"]
    assert [i["host"]["value"] for i in data] == ["h0", "h1", "h2"]
    assert data[0]["deep"] == {"value": "main", "exists": True}
    assert data[0]["dns"] == {"value": "10.0.0.53"}
    app = {k["path"]: k for k in data[0]["app"]}
    assert app["user:/app"]["children"] == ["user:/app/db", "user:/app/host", "user:/app/port"]
    assert app["user:/app/db/name"]["value"] == "main"


def test_an_unreachable_instance_fails_only_its_own_fields(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    daemons = elektrads(3)
    for n, daemon in enumerate(daemons):
        set_key(
            clusterd,
            target(instance=add_instance(clusterd, f"web-{n}", daemon.url)),
            "user:/a",
            str(n),
        )
    daemons[1].stop()
    body = clusterd.query('{ instances { name status key(path: "user:/a") { value } } }')
    assert [(i["name"], i["key"]) for i in body["data"]["instances"]] == [
        ("web-0", {"value": "0"}),
        ("web-1", None),
        ("web-2", {"value": "2"}),
    ]
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INSTANCE_UNREACHABLE"
    assert error["path"] == ["instances", 1, "key"]
    assert "web-1 is unreachable" in error["message"]


def test_find_returns_canonical_names(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    set_key(clusterd, target(instance=instance), "user:/app/hello", "1")
    set_key(clusterd, target(instance=instance), "system:/hello", "1")
    found = clusterd.ok('query($i: ID!) { instance(id: $i) { find(query: "hello") } }', i=instance)
    assert found["instance"]["find"] == ["user:/app/hello", "system:/hello"]


def test_a_missing_key_reads_as_not_existing(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    key = clusterd.ok(
        'query($i: ID!) { instance(id: $i) { key(path: "user/nothing")'
        " { path name exists value } } }",
        i=instance,
    )["instance"]["key"]
    assert key == {"path": "user:/nothing", "name": "nothing", "exists": False, "value": None}


def test_an_invalid_key_name_is_refused_with_its_code(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    body = clusterd.query(
        'query($i: ID!) { instance(id: $i) { key(path: "nowhere/x") { value } } }', i=instance
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_KEY_NAME"


def test_followed_feeds_never_starve_reads_of_connections(
    database_url: str, elektrads: Callable[..., list[Elektrad]]
) -> None:
    """Each followed instance holds a long poll open: with more instances than
    the client's connections, reads must still get through (they once timed
    out past 128 instances)."""
    from dataclasses import replace

    from .conftest import TEST_SETTINGS

    settings = replace(TEST_SETTINGS, fanout_limit=2, follow_wait=10.0)  # 4 connections
    config = ClusterdConfig(database_url=database_url, settings=settings)
    daemons = elektrads(6)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        clusterd = Clusterd(url, http)
        for n, daemon in enumerate(daemons):
            add_instance(clusterd, f"web-{n}", daemon.url)
        time.sleep(1)  # every feed is being followed now
        body = clusterd.query('{ instances { key(path: "user:/a") { exists } } }')
    assert body.get("errors") is None, body["errors"]
    assert len(body["data"]["instances"]) == 6


def test_a_read_deeper_than_an_elektrad_serves_is_refused_in_our_words(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    document = (
        'query($i: ID!, $d: Int!) { instance(id: $i) { keys(path: "user:/", depth: $d) { path } } }'
    )
    assert clusterd.ok(document, i=instance, d=63)["instance"]["keys"][0]["path"] == "user:/"
    error = clusterd.error(document, i=instance, d=64)
    assert error["message"] == "depth must be at most 63, not 64"
    assert error["extensions"]["code"] == "BAD_INPUT"
