"""ElektradClient against a real elektrad: every method, odd key names, and
the translation of every kind of failure into the connector's errors."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from elektra_web.connector.client import ElektradClient, canonical_name, key_url_path
from elektra_web.connector.exceptions import InstanceRefused, InstanceUnreachable, StaleWrite
from elektra_web.keynames import KeyName

from .conftest import CountingTransport, closed_port_url, serve_app
from .peers import answer, peers, read_request

pytestmark = pytest.mark.anyio

ODD_NAMES = [
    "user:/app/with space",
    "user:/app/hash#tag",
    "user:/app/query?mark",
    "user:/app/per%cent",
    "user:/app/back\\/slash",
    "user:/app/double\\\\backslash",
    "user:/app/ünïcødé/日本語",
    "user:/app/a+b=c&d;e@f",
    "user:/app/%",
    "user:/app/#0",
    "user:/app/\\#10",
    "system:/app/colon:inside",
    "dir:/app/~tilde",
]
ODD_VALUES = ["hello world", "", "ends with newline\n", "two\n\n", "cr\r", "crlf\r\n", "ünï 日本"]


@pytest.fixture
def client(http: httpx.AsyncClient, elektrad_url: str) -> ElektradClient:
    return ElektradClient(http, elektrad_url, timeout=5)


async def test_version_reports_api_and_instance_id(client: ElektradClient) -> None:
    version = await client.version()
    assert version["api"] == 1
    assert isinstance(version["instanceId"], str)
    assert version == await client.version()


@pytest.mark.parametrize("name", ODD_NAMES)
async def test_odd_names_round_trip(client: ElektradClient, name: str) -> None:
    await client.set(name, "v")
    key = await client.get(name)
    assert (key["exists"], key["path"], key["value"], key["meta"]) == (True, name, "v", {})
    assert name in (await client.get(name.split("/app/")[0] + "/app"))["ls"]
    await client.delete(name)
    assert (await client.get(name))["exists"] is False


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_values_are_stored_exactly(client: ElektradClient, value: str) -> None:
    await client.set("user:/v", value)
    assert (await client.get("user:/v"))["value"] == value


async def test_bodies_are_utf8_text_and_json_meta(
    http: httpx.AsyncClient, elektrad_url: str
) -> None:
    transport = CountingTransport()
    async with httpx.AsyncClient(transport=transport) as counted:
        client = ElektradClient(counted, elektrad_url)
        await client.set("user:/a", "ü")
        await client.set_meta("user:/a", "description", "d")
        await client.move("user:/a", "user:/b")
        await client.copy("user:/b", "user:/c")
    put, meta, mv, cp = transport.requests
    assert (put.method, put.headers["content-type"], put.content) == (
        "PUT",
        "text/plain; charset=utf-8",
        "ü".encode(),
    )
    assert meta.headers["content-type"] == "application/json; charset=utf-8"
    assert mv.content == b"user:/b" and mv.headers["content-type"].startswith("text/plain")
    assert cp.url.raw_path == b"/kdbCp/user:/b"


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("user/x", "user:/x"),
        ("system/a/b\\/c", "system:/a/b\\/c"),
        ("spec", "spec:/"),
        ("default/x", "default:/x"),
        ("dir/x", "dir:/x"),
        ("user:/x", "user:/x"),
        ("/cascading/x", "/cascading/x"),
    ],
)
def test_canonical_name(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical


@pytest.mark.parametrize("name", ["proc/x", "x", "user:x", ""])
def test_canonical_name_refuses_a_name_without_namespace(name: str) -> None:
    with pytest.raises(ValueError, match="namespaces"):
        canonical_name(name)


@pytest.mark.parametrize("name", ODD_NAMES)
async def test_canonical_name_of_an_answer_is_the_shared_models(
    client: ElektradClient, name: str
) -> None:
    # canonical_name respells only the namespace; the daemon's answers need no more.
    legacy = name.replace(":/", "/", 1)
    assert (await client.get(legacy))["path"] == legacy
    assert canonical_name(legacy) == str(KeyName.parse(legacy)) == name


def test_key_names_are_percent_encoded_per_part() -> None:
    assert key_url_path("user:/a b/#x/?y/%/ü/\\/") == "user:/a%20b/%23x/%3Fy/%25/%C3%BC/%5C/"
    assert key_url_path("user:/a/./../b") == "user:/a/%2E/%2E%2E/b"
    assert key_url_path("/cascading") == "/cascading"


async def test_dot_parts_reach_the_daemon_as_key_name_parts(client: ElektradClient) -> None:
    await client.set("system:/keep", "1")
    await client.set("user:/a/../b", "2")
    assert (await client.get("user:/b"))["value"] == "2"
    # Read as a URL, this would be DELETE /kdb/system:/ and erase a namespace.
    with pytest.raises(InstanceRefused) as info:
        await client.delete("user:/x/../../system:/")
    assert info.value.name == "InvalidKeyName"
    assert (await client.get("system:/keep"))["exists"] is True


async def test_legacy_and_cascading_spellings(client: ElektradClient) -> None:
    await client.set("user/legacy/x", "1")
    assert (await client.get("user:/legacy/x"))["value"] == "1"
    assert (await client.get("user/legacy/x"))["path"] == "user/legacy/x"
    await client.set("system:/casc/x", "sys")
    await client.set("user:/casc/x", "usr")
    key = await client.get("/casc/x")
    assert (key["path"], key["value"]) == ("/casc/x", "usr")


async def test_get_with_preload_and_the_root(client: ElektradClient) -> None:
    await client.set("user:/tree/a", "1")
    await client.set("user:/tree/b/c", "2")
    tree = await client.get("user:/tree", preload=2)
    assert [c["path"] for c in tree["children"]] == ["user:/tree/a", "user:/tree/b"]
    assert tree["children"][1]["children"][0]["value"] == "2"
    assert "children" not in await client.get("user:/tree")
    root = await client.get("", preload=1)
    assert root["ls"] == ["user/tree/a", "user/tree/b/c"]
    assert [c["path"] for c in root["children"]] == ["user"]


async def test_delete_removes_the_subtree(client: ElektradClient) -> None:
    for name in ["user:/d", "user:/d/x", "user:/dd"]:
        await client.set(name, "1")
    await client.delete("user:/d")
    assert (await client.get("user:/d"))["ls"] == []
    assert (await client.get("user:/dd"))["exists"] is True
    await client.delete("user:/d")  # idempotent
    with pytest.raises(ValueError, match="whole key database"):
        await client.delete("")


async def test_find_and_canonical_names(client: ElektradClient) -> None:
    for name in ["user:/hello", "system:/x/hello", "user:/other", "user:/app/hash#hello"]:
        await client.set(name, "1")
    found = await client.find("hello")
    assert found == ["user/app/hash#hello", "user/hello", "system/x/hello"]
    assert [canonical_name(n) for n in found] == [
        "user:/app/hash#hello",
        "user:/hello",
        "system:/x/hello",
    ]
    assert await client.find("user:/hel") == ["user:/hello"]
    assert await client.find("#hel") == ["user/app/hash#hello"]
    assert await client.find("nothing") == []


async def test_meta_is_set_and_removed(client: ElektradClient) -> None:
    name = "user:/app/hash#meta"
    await client.set(name, "8080")
    await client.set_meta(name, "description", "the port ü")
    assert (await client.get(name))["meta"] == {"description": "the port ü"}
    await client.delete_meta(name, "description")
    assert (await client.get(name))["meta"] == {}


async def test_move_and_copy_take_the_subtree(client: ElektradClient) -> None:
    await client.set("user:/src/with space", "1")
    await client.set("user:/src/with space/deep", "2")
    await client.move("user:/src", "user:/moved ü")
    assert (await client.get("user:/src"))["ls"] == []
    assert (await client.get("user:/moved ü/with space/deep"))["value"] == "2"
    await client.copy("user:/moved ü", "user:/copy\n")  # a name that ends in a newline
    # (elektrad cannot serve a name with a newline in the URL path: read the ls.)
    assert "user:/copy\n/with space" in (await client.get("user:/", preload=1))["ls"]
    assert (await client.get("user:/moved ü/with space"))["value"] == "1"


async def test_change_feed(client: ElektradClient) -> None:
    start = await client.changes()
    assert start["changes"] == [] and start["reset"] is False
    await client.set("user:/feed", "1")
    batch = await client.changes(since=start["revision"], epoch=start["epoch"])
    assert [(c["op"], c["key"], c["value"]) for c in batch["changes"]] == [
        ("set", "user:/feed", "1")
    ]
    # A long poll returns as soon as a change comes in.
    poll = asyncio.create_task(client.changes(since=batch["revision"], wait=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await client.delete("user:/feed")
    assert [c["op"] for c in (await asyncio.wait_for(poll, 5))["changes"]] == ["delete"]
    assert (await client.changes(since=0, epoch="another run"))["reset"] is True


async def test_refusals_keep_status_name_and_message(client: ElektradClient) -> None:
    await client.set("user:/port", "1")
    await client.set_meta("user:/port", "check/type", "long")
    with pytest.raises(InstanceRefused) as info:
        await client.set("user:/port", "not a number")
    assert (info.value.status, info.value.name) == (400, "ValidationError")
    assert info.value.message and info.value.message in str(info.value)
    assert client.base_url in str(info.value)
    with pytest.raises(InstanceRefused) as info:
        await client.get("nonamespace:/x")
    assert (info.value.status, info.value.name) == (400, "InvalidKeyName")
    with pytest.raises(InstanceRefused) as info:
        await client.move("user:/missing", "user:/x")
    assert (info.value.status, info.value.name) == (404, "NotFound")


async def test_bearer_token(http: httpx.AsyncClient, start_elektrad: Callable[..., str]) -> None:
    url = start_elektrad(token="s3cret")
    with pytest.raises(InstanceRefused) as info:
        await ElektradClient(http, url).version()
    assert (info.value.status, info.value.name) == (401, "Unauthorized")
    client = ElektradClient(http, url, token="s3cret")
    assert (await client.version())["api"] == 1
    assert "s3cret" not in repr(client)


async def test_closed_port_is_unreachable(http: httpx.AsyncClient) -> None:
    url = closed_port_url()
    with pytest.raises(InstanceUnreachable) as info:
        await ElektradClient(http, url, timeout=2).version()
    assert url in str(info.value)
    assert "Traceback" not in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def _slow(request: Request) -> Response:
    await asyncio.sleep(1)
    return JSONResponse({"api": 1})


@pytest.fixture(scope="module")
def impostor() -> Iterator[str]:
    """One server, several ways of not being an elektrad, one per path prefix."""
    json_error = {"name": "StorageError", "message": "the disk is full"}
    app = Starlette(
        routes=[
            Route("/html/{rest:path}", lambda r: HTMLResponse("<html>hi</html>")),
            Route("/shape/version", lambda r: JSONResponse({"hello": "world"})),
            Route("/shape/kdb/{rest:path}", lambda r: JSONResponse({"exists": True})),
            Route("/shape/kdbFind/{rest:path}", lambda r: JSONResponse([1, 2])),
            Route("/shape/kdbChanges", lambda r: JSONResponse({"changes": []})),
            Route(
                "/tree/kdb/{rest:path}",
                lambda r: JSONResponse({"exists": False, "name": "x", "path": "user:/x", "ls": []}),
            ),
            Route("/error500/{rest:path}", lambda r: JSONResponse(json_error, status_code=500)),
            Route("/teapot/{rest:path}", lambda r: PlainTextResponse("no", status_code=418)),
            Route("/redirect/{rest:path}", lambda r: Response(status_code=302)),
            Route(
                "/precondition/{rest:path}",
                lambda r: JSONResponse({"name": "Stale"}, status_code=412),  # no message
                methods=["PUT"],
            ),
            Route("/slow/{rest:path}", _slow),
        ]
    )
    with serve_app(app) as url:
        yield url


@pytest.mark.parametrize(
    ("prefix", "call", "cause"),
    [
        ("html", "version", "/version did not answer JSON"),
        ("html", "set", "answered"),
        ("shape", "version", "did not report an API version"),
        ("shape", "get", "missing exists, name, path or ls"),
        ("tree", "get", "has no children list"),
        ("shape", "find", "a key name that is not text (int)"),
        ("shape", "changes", "epoch, revision, reset and changes"),
        ("error500", "version", "answered 500: StorageError: the disk is full"),
        ("teapot", "get", "answered 418"),
        ("redirect", "version", "answered 302"),
        ("precondition", "set", "answered 412"),
        ("slow", "version", "no answer within 0.2s"),
    ],
)
async def test_a_server_that_is_not_elektrad_is_unreachable(
    http: httpx.AsyncClient, impostor: str, prefix: str, call: str, cause: str
) -> None:
    client = ElektradClient(http, f"{impostor}/{prefix}/", timeout=0.2)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "version": client.version,
        "get": lambda: client.get("user:/x", preload=1),
        "set": lambda: client.set("user:/x", "1"),
        "find": lambda: client.find("x"),
        "changes": lambda: client.changes(),
    }
    with pytest.raises(InstanceUnreachable) as info:
        await calls[call]()
    assert info.value.url == f"{impostor}/{prefix}"
    assert cause in str(info.value)
    assert "\n" not in str(info.value)


# -- bounds: the whole call in time, the answer in size -------------------------


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await reader.read()  # until the client gives up


def _trickle(head_too: bool) -> Callable[..., Awaitable[None]]:
    """A valid /version answer, one byte every 0.25 s: never idle for a read timeout."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        whole = answer(json.dumps({"api": 1, "pad": "x" * 40}).encode())
        split = 0 if head_too else whole.index(b"\r\n\r\n") + 4
        writer.write(whole[:split])
        for byte in whole[split:]:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.25)

    return serve


async def test_a_peer_that_never_answers_fails_within_the_deadline(
    http: httpx.AsyncClient,
) -> None:
    async with peers(_silent) as (peer,):
        start = time.monotonic()
        with pytest.raises(InstanceUnreachable, match=r"no answer within 0\.5s"):
            await ElektradClient(http, peer.url, timeout=0.5).version()
        assert time.monotonic() - start < 1.5


@pytest.mark.parametrize("head_too", [False, True], ids=["body", "head-and-body"])
async def test_a_peer_that_trickles_its_answer_fails_within_the_deadline(
    http: httpx.AsyncClient, head_too: bool
) -> None:
    async with peers(_trickle(head_too)) as (peer,):
        start = time.monotonic()
        with pytest.raises(InstanceUnreachable, match=r"no answer within 1s") as info:
            await ElektradClient(http, peer.url, timeout=1).version()
        elapsed = time.monotonic() - start
    assert 1 <= elapsed < 2
    # The whole call's deadline, not one of httpx's per-phase timeouts.
    assert isinstance(info.value.__cause__, TimeoutError)


async def test_the_change_feed_may_take_its_wait_on_top_of_the_timeout(
    http: httpx.AsyncClient,
) -> None:
    async with peers(_silent) as (peer,):
        start = time.monotonic()
        with pytest.raises(InstanceUnreachable, match=r"no answer within 0\.8s"):
            await ElektradClient(http, peer.url, timeout=0.3).changes(wait=0.5)
        assert 0.8 <= time.monotonic() - start < 1.8


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "chunked"])
async def test_an_answer_over_the_size_limit_is_refused(
    http: httpx.AsyncClient, length: bool
) -> None:
    def serve(size: int) -> Callable[..., Awaitable[None]]:
        body = json.dumps({"api": 1, "pad": "x" * (size - 21)}).encode()
        assert len(body) == size

        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                await read_request(reader)
                writer.write(answer(body, length=length))
                await writer.drain()

        return run

    async with peers(serve(1024), serve(1025)) as (fits, over):
        assert (await ElektradClient(http, fits.url, max_answer=1024).version())["api"] == 1
        client = ElektradClient(http, over.url, max_answer=1024)
        with pytest.raises(InstanceUnreachable, match="answer larger than 1 KiB"):
            await client.version()
        with pytest.raises(InstanceUnreachable, match="answer larger than 1 KiB"):
            await client.set("user:/x", "1")  # a write's answer is bounded too
        assert (await ElektradClient(http, over.url).version())["api"] == 1  # 64 MiB


# -- fences ---------------------------------------------------------------------


async def test_a_fence_is_sent_with_every_request(elektrad_url: str) -> None:
    transport = CountingTransport()
    async with httpx.AsyncClient(transport=transport) as counted:
        fenced = ElektradClient(counted, elektrad_url, fence="cluster-7/42", operation="op")
        await fenced.set("user:/f", "1")
        await fenced.get("user:/f")
        await fenced.delete("user:/f")
        await ElektradClient(counted, elektrad_url).version()
    *with_fence, without = transport.requests
    assert [r.headers["x-fence"] for r in with_fence] == ["cluster-7/42"] * 3
    assert all(r.headers["x-operation-id"] == "op" for r in with_fence)
    assert "x-fence" not in without.headers


async def test_a_stale_refusal_is_a_stale_write(http: httpx.AsyncClient) -> None:
    seen: list[str] = []

    async def stale(request: Request) -> Response:
        seen.append(request.headers.get("x-fence", ""))
        message = "user:/x has a newer fence (cluster-7/43)"
        return JSONResponse({"name": "Stale", "message": message}, status_code=412)

    async def other(request: Request) -> Response:
        return JSONResponse({"name": "Conflict", "message": "no"}, status_code=412)

    app = Starlette(routes=[Route("/kdb/{rest:path}", stale, methods=["PUT"])])
    conflict = Starlette(routes=[Route("/kdb/{rest:path}", other, methods=["PUT"])])
    with serve_app(app) as url, serve_app(conflict) as conflict_url:
        client = ElektradClient(http, url, fence="cluster-7/42")
        with pytest.raises(StaleWrite) as info:
            await client.set("user:/x", "old")
        refused = info.value
        assert isinstance(refused, InstanceRefused)
        assert (refused.status, refused.name, refused.url) == (412, "Stale", url)
        assert refused.message == "user:/x has a newer fence (cluster-7/43)"
        assert refused.message in str(refused)
        assert seen == ["cluster-7/42"]
        # Another API error with 412 is a refusal, not a stale write.
        with pytest.raises(InstanceRefused) as other_info:
            await ElektradClient(http, conflict_url).set("user:/x", "v")
        assert not isinstance(other_info.value, StaleWrite)
        assert (other_info.value.status, other_info.value.name) == (412, "Conflict")
