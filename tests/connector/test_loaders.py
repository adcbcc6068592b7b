"""KeyLoader against real elektrads: one call per instance and subtree, answers
identical to elektrad's own for each request, failures kept to their instance;
and the key-name rules it relies on, pinned against the daemon's answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from elektra_web.connector.client import ElektradClient
from elektra_web.connector.exceptions import InstanceRefused, InstanceUnreachable
from elektra_web.connector.loaders import KeyLoader, LoadKey
from elektra_web.keynames import InvalidKeyName, KeyName

from .conftest import CountingTransport, closed_port_url

pytestmark = pytest.mark.anyio

APP_KEYS = [f"user:/app/k{i}" for i in range(15)] + [
    "user:/app",
    "user:/app/sub/x/y",
    "user:/app/hash#x",
    "user:/app/with space",
    "user:/app/back\\/slash",
    "user:/app/%",
    "user:/app/\\#10",
    "user:/app/#_10",
    "user:/app/ünï",
]
SRV_KEYS = [f"system:/srv/s{i}/port" for i in range(5)] + ["system:/srv/s0/host"]
#: 50 loads per instance, all inside user:/app (to depth 4) or system:/srv.
LOADS: list[tuple[str, int]] = [
    ("user:/app", 1),
    ("user:/app", 2),
    ("user:/app", 1),  # identical: collapses
    *((f"user:/app/k{i}", 0) for i in range(20)),  # k15..k19 do not exist
    ("user:/app/k3", 1),
    ("user:/app/sub", 2),
    ("user:/app/sub/x/y", 0),  # three levels down: the call reads deeper
    ("user:/app/sub/missing/deeper", 1),  # needs preload=4
    ("user:/app/hash#x", 0),
    ("user:/app/with space", 1),
    ("user:/app/back\\/slash", 0),
    ("user:/app/back", 0),  # not the escaped one
    ("user:/app/%", 0),
    ("user:/app/\\#10", 0),
    ("user:/app/#10", 0),  # the short form of #_10
    ("user:/app/ünï", 0),
    ("user:/app/./k1", 0),
    ("system:/srv", 1),
    *((f"system:/srv/s{i}", 1) for i in range(6)),
    *((f"system:/srv/s{i}/port", 0) for i in range(6)),
    ("system:/srv/s0/host", 0),
]
assert len(LOADS) == 50

#: Names the loader parses, and spells for a key missing from a fetched subtree.
NAMES = [
    "user:/a",
    "user/a/b",
    "user",
    "user:/",
    "system:/a//b/",
    "/cascading/x",
    "/",
    "spec:/a/./b/../c",
    "dir:/a/%/b",
    "user:/a/\\%",
    "user:/a/\\./\\..",
    "user:/a/b\\/c/d\\\\e",
    "user:/list/#0/#_10/#__100",
    "user:/list/#10",
    "user:/list/\\#10/\\#x/#x",
    "default:/ü/日本/with space/q?/h#/p%",
]
#: Names the loader leaves alone (a call of their own): the daemon refuses them.
INVALID = [
    "proc:/a",
    "user:",
    "user:/..",
    "user:/a/../..",
    "user:/a\\",
    "user:/a\\x",
    "user:/#01",
    "user:/#__10",
]


@dataclass
class Setup:
    urls: list[str]
    direct: Callable[[str], ElektradClient]  # uncounted, for the expected answers
    transport: CountingTransport
    loader: KeyLoader


@pytest.fixture
async def setup(
    http: httpx.AsyncClient, start_elektrad: Callable[..., str]
) -> AsyncIterator[Setup]:
    urls = [start_elektrad() for _ in range(3)]
    for n, url in enumerate(urls):
        client = ElektradClient(http, url)
        for name in APP_KEYS + SRV_KEYS:
            await client.set(name, f"{name} on {n}")
        await client.set_meta("user:/app/k1", "description", f"on {n}")
    transport = CountingTransport()
    async with httpx.AsyncClient(transport=transport) as counted:
        clients = {url: ElektradClient(counted, url, timeout=5) for url in urls}
        dead = closed_port_url()
        clients[dead] = ElektradClient(counted, dead, timeout=5)
        loader = KeyLoader(lambda instance: clients[str(instance)], limit=4, timeout=10)
        yield Setup(urls, lambda url: ElektradClient(http, url), transport, loader)


@pytest.fixture
def client(http: httpx.AsyncClient, elektrad_url: str) -> ElektradClient:
    return ElektradClient(http, elektrad_url)


@pytest.mark.parametrize("name", NAMES)
async def test_names_are_read_and_spelled_as_elektrad_does(
    client: ElektradClient, name: str
) -> None:
    answer = await client.get(name)
    parsed, spelling = KeyName.parse_spelled(name)
    assert parsed.spell(spelling) == answer["path"]
    assert parsed.base_name == answer["name"]


@pytest.mark.parametrize("name", INVALID)
async def test_invalid_names_are_refused_by_both(client: ElektradClient, name: str) -> None:
    with pytest.raises(InvalidKeyName):
        KeyName.parse(name)
    with pytest.raises(InstanceRefused):
        await client.get(name)


async def test_an_invalid_name_is_loaded_alone_and_refused_by_the_daemon(setup: Setup) -> None:
    url = setup.urls[0]
    keys: list[LoadKey] = [(url, "user:/app", 1), (url, "user:/app/a\\x", 0)]
    good, bad = await asyncio.gather(
        *(setup.loader.load(key) for key in keys), return_exceptions=True
    )
    assert isinstance(good, dict) and good["exists"] is True
    assert isinstance(bad, InstanceRefused) and bad.status == 400
    assert len(setup.transport.requests) == 2


async def expect_same_as_direct(setup: Setup, keys: list[LoadKey], got: list[Any]) -> None:
    for (instance, path, depth), node in zip(keys, got, strict=True):
        assert node == await setup.direct(str(instance)).get(path, preload=depth), (path, depth)


async def test_fifty_loads_on_three_instances_make_six_calls(setup: Setup) -> None:
    keys: list[LoadKey] = [(url, path, depth) for url in setup.urls for path, depth in LOADS]
    got = await setup.loader.load_many(keys)
    assert len(setup.transport.requests) == 6
    assert sorted(str(r.url).split("/", 3)[3] for r in setup.transport.requests) == [
        "kdb/system:/srv?preload=2",
        "kdb/system:/srv?preload=2",
        "kdb/system:/srv?preload=2",
        "kdb/user:/app?preload=4",
        "kdb/user:/app?preload=4",
        "kdb/user:/app?preload=4",
    ]
    await expect_same_as_direct(setup, keys, got)
    # Each instance answered for itself.
    assert got[0]["value"] == "user:/app on 0" and got[50]["value"] == "user:/app on 1"
    # Within this request, loading again costs nothing.
    assert await setup.loader.load((setup.urls[0], "user:/app/k1", 0)) == got[4]
    assert len(setup.transport.requests) == 6


async def test_separate_subtrees_get_one_call_each(setup: Setup) -> None:
    url = setup.urls[0]
    keys: list[LoadKey] = [
        (url, "user:/app/k1", 0),
        (url, "user:/app/k2", 0),  # siblings: no requested ancestor, so two calls
        (url, "user:/app/sub", 0),
        (url, "user:/app/sub/x", 1),
        (url, "user:/app/sub/x/y", 0),
    ]
    got = await setup.loader.load_many(keys)
    assert len(setup.transport.requests) == 3
    await expect_same_as_direct(setup, keys, got)


async def test_an_offline_instance_fails_only_its_own_loads(setup: Setup) -> None:
    dead = closed_port_url()
    live = setup.urls[0]
    loader = KeyLoader(lambda instance: ElektradClient(setup.direct(live).http, str(instance)))
    keys: list[LoadKey] = [(i, p, d) for i in (live, dead, setup.urls[1]) for p, d in LOADS[:10]]
    results = await asyncio.gather(*(loader.load(k) for k in keys), return_exceptions=True)
    for (instance, _, _), result in zip(keys, results, strict=True):
        if instance == dead:
            assert isinstance(result, InstanceUnreachable) and dead in str(result)
        else:
            assert isinstance(result, dict) and result["path"].startswith("user:/app")


async def test_a_refused_call_fails_only_its_own_loads(setup: Setup) -> None:
    url = setup.urls[0]
    keys: list[LoadKey] = [
        (url, "nonamespace:/x", 0),
        (url, "user:/app", 65),  # deeper than the daemon allows
        (url, "user:/app/k1", 0),
        (url, "user:/app", 1),
    ]
    results = await asyncio.gather(*map(setup.loader.load, keys), return_exceptions=True)
    bad_name, too_deep, k1, app = results
    assert isinstance(bad_name, InstanceRefused) and bad_name.name == "InvalidKeyName"
    assert isinstance(too_deep, InstanceRefused) and too_deep.status == 400
    assert isinstance(k1, dict) and k1["value"] == "user:/app/k1 on 0"
    assert isinstance(app, dict) and len(app["children"]) > 10
    assert len(setup.transport.requests) == 3


async def test_an_unknown_instance_fails_only_its_own_loads(setup: Setup) -> None:
    known = {url: setup.direct(url) for url in setup.urls}

    def client_for(instance: Hashable) -> ElektradClient:
        return known[str(instance)]  # KeyError for an instance clusterd does not know

    loader = KeyLoader(client_for)
    results = await asyncio.gather(
        loader.load(("nowhere", "user:/app", 0)),
        loader.load((setup.urls[2], "user:/app", 0)),
        return_exceptions=True,
    )
    assert isinstance(results[0], KeyError)
    assert isinstance(results[1], dict) and results[1]["exists"] is True


async def test_spellings_root_and_cascading_names(setup: Setup) -> None:
    url = setup.urls[1]
    keys: list[LoadKey] = [
        (url, "user/app", 1),  # legacy: answered in its own spelling...
        (url, "user/app/k1", 0),
        (url, "user:/app/k2", 0),  # ...so a canonical one is another call
        (url, "/app", 1),  # cascading
        (url, "/app/k3", 0),
        (url, "/app/nothing", 2),
        (url, "", 1),  # the whole database
        (url, "", 0),
        (url, "user:/", 1),
        (url, "user:/app/k4", 0),  # inside user:/ (and nothing above)
    ]
    got = await setup.loader.load_many(keys)
    await expect_same_as_direct(setup, keys, got)
    paths = sorted(r.url.raw_path.decode() for r in setup.transport.requests)
    assert paths == [
        "/kdb//app?preload=3",
        "/kdb/user/app?preload=1",
        "/kdb/user:/?preload=2",
        "/kdb?preload=1",
    ]


async def test_timeout_of_the_loader_is_an_unreachable_instance(
    http: httpx.AsyncClient, setup: Setup
) -> None:
    class Stalled(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(30)  # a hung connection: only the loader's bound ends it
            return await super().handle_async_request(request)

    async with httpx.AsyncClient(transport=Stalled()) as stalled:
        loader = KeyLoader(
            lambda i: ElektradClient(stalled if i == "hung" else http, setup.urls[0]),
            timeout=0.2,
        )
        hung, fine = await asyncio.gather(
            loader.load(("hung", "user:/app", 0)),
            loader.load(("fine", "user:/app", 0)),
            return_exceptions=True,
        )
    assert isinstance(hung, InstanceUnreachable) and "0.2s" in str(hung)
    assert isinstance(fine, dict) and fine["exists"] is True
