"""What a member says is checked like a user's input (issue 14): key names
that do not parse or are not below the key read, values past what a write
may set, change-feed pages that are not pages. Against a server that answers
exactly what each test tells it to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from elektra_web.connector.client import FEED_PAGE, MAX_VALUE, ElektradClient
from elektra_web.connector.exceptions import InstanceUnreachable

from .conftest import serve_app

pytestmark = pytest.mark.anyio


class Told:
    """What the server answers next, and what it was asked."""

    answer: Any = None
    params: dict[str, str] = {}  # noqa: RUF012 - replaced, never changed in place


@pytest.fixture(scope="module")
def member() -> Iterator[tuple[str, type[Told]]]:
    async def told(request: Request) -> Response:
        Told.params = dict(request.query_params)
        return JSONResponse(Told.answer)

    app = Starlette(routes=[Route("/{rest:path}", told)])
    with serve_app(app) as url:
        yield url, Told


def node(path: str, **extra: Any) -> dict[str, Any]:
    return {"exists": True, "name": path.rsplit("/", 1)[-1], "path": path, "ls": [], **extra}


def page(*changes: dict[str, Any], revision: int = 10) -> dict[str, Any]:
    return {"epoch": "e", "revision": revision, "reset": False, "changes": list(changes)}


def change(revision: int, key: str = "user:/a", **extra: Any) -> dict[str, Any]:
    return {"revision": revision, "op": "set", "key": key, "value": "v", **extra}


@pytest.mark.parametrize(
    ("tree", "cause"),
    [
        (node("user:/x", children=[node("system:/etc")]), "'system:/etc' is not below 'user:/x'"),
        (node("user:/x", children=[node("user:/x")]), "is not below"),
        (node("user:/x", children=[node("nowhere/y")]), "'nowhere/y' is not a key name"),
        (node("user:/x", children=[node("user:/x/" + "y" * 1000)]), "longer than 1000"),
        (node("user:/x", value="v" * (MAX_VALUE + 1)), "longer than 1048576 characters"),
        (node("user:/x", value=7), "its value is not text (int)"),
        (node("user:/x", meta={"check/type": 1}), "not text (int)"),
        (node("user:/x", ls=[None]), "ls is not a list of names"),
    ],
)
async def test_a_read_with_a_malformed_key_fails_naming_the_member(
    http: httpx.AsyncClient, member: tuple[str, type[Told]], tree: dict[str, Any], cause: str
) -> None:
    url, told = member
    told.answer = tree
    with pytest.raises(InstanceUnreachable) as info:
        await ElektradClient(http, url).get("user:/x", preload=1)
    assert url in str(info.value)
    assert cause in str(info.value)


async def test_a_well_formed_read_passes(
    http: httpx.AsyncClient, member: tuple[str, type[Told]]
) -> None:
    url, told = member
    told.answer = node("user/x", children=[node("user/x/y", value="1", meta={"a": "b"})])
    assert (await ElektradClient(http, url).get("user/x", preload=1))["children"][0]["value"] == "1"


async def test_find_refuses_names_that_are_no_key_names(
    http: httpx.AsyncClient, member: tuple[str, type[Told]]
) -> None:
    url, told = member
    told.answer = ["user/x", "../../etc/passwd"]
    with pytest.raises(InstanceUnreachable, match="is not a key name"):
        await ElektradClient(http, url).find("x")


async def test_the_feed_is_asked_for_a_bounded_page(
    http: httpx.AsyncClient, member: tuple[str, type[Told]]
) -> None:
    url, told = member
    told.answer = page(change(4), change(5, key="user/b"), revision=5)
    data = await ElektradClient(http, url).changes(since=3)
    assert told.params["limit"] == str(FEED_PAGE)
    assert [c["key"] for c in data["changes"]] == ["user:/a", "user/b"]
    assert data["dropped"] == []


async def test_malformed_feed_changes_are_dropped_with_their_reason(
    http: httpx.AsyncClient, member: tuple[str, type[Told]]
) -> None:
    url, told = member
    told.answer = page(
        change(1, key="no namespace"),
        change(2, value="x" * (MAX_VALUE + 1)),
        change(3, value=["not", "text"]),
        change(4, op=None),
        change(5, fence="x"),
        change(6, meta="m" * 1001),
        change(7, op="renamed"),  # an op this clusterd does not know: kept, skipped later
        change(8),
        revision=8,
    )
    data = await ElektradClient(http, url).changes(since=0)
    assert [c["revision"] for c in data["changes"]] == [7, 8]
    dropped = data["dropped"]
    assert dropped[0].startswith("change 1: 'no namespace' is not a key name")
    assert dropped[1] == "change 2: its value is longer than 1048576 characters"
    assert dropped[2] == "change 3: its value is not text (list)"
    assert len(dropped) == 6 and dropped[-1] == "and 1 more"


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        (page(*[change(1)] * (FEED_PAGE + 1)), "1001 changes, more than the 1000 asked for"),
        (page(revision=2), "its revision went back from 5 to 2"),
        (page(change(7), change(6)), "change 6 is out of order"),
        (page(change(5)), "change 5 is out of order"),  # not after since
        (page(change(11)), "change 11 is out of order"),  # past the page's revision
        (page(change(True)), "a change without a revision number"),
        (page(change("6")), "a change without a revision number"),
        ({**page(change(6)), "reset": True}, "a reset with changes"),
    ],
)
async def test_a_feed_page_that_is_no_page_is_refused_whole(
    http: httpx.AsyncClient, member: tuple[str, type[Told]], answer: dict[str, Any], cause: str
) -> None:
    url, told = member
    told.answer = answer
    with pytest.raises(InstanceUnreachable) as info:
        await ElektradClient(http, url).changes(since=5)
    assert url in str(info.value)
    assert f"kdbChanges: {cause}" in str(info.value)


MOUNT = {
    "prefix": "user:/app",
    "file": "/etc/app.ini",
    "format": "ini",
    "status": "broken",
    "error": "not valid INI: line 1",
    "maxDepth": 2,
}


@pytest.mark.parametrize(
    ("mount", "cause"),
    [
        ("ini", "a mount that is not an object"),
        ({**MOUNT, "prefix": "../etc"}, "a mount point: '../etc' is not a key name"),
        ({**MOUNT, "file": 7}, "a mount whose file is not a short text"),
        ({**MOUNT, "status": "fine"}, "neither ok nor broken"),
        ({**MOUNT, "error": "e" * (MAX_VALUE + 1)}, "its error is longer than"),
        ({**MOUNT, "maxDepth": "2"}, "maxDepth is not a number"),
    ],
)
async def test_a_malformed_mount_fails_naming_the_member(
    http: httpx.AsyncClient, member: tuple[str, type[Told]], mount: Any, cause: str
) -> None:
    url, told = member
    client = ElektradClient(http, url)
    told.answer = [mount]
    with pytest.raises(InstanceUnreachable) as info:
        await client.mounts()
    assert url in str(info.value) and cause in str(info.value)
    # The same in a read, on the node of a mount point.
    told.answer = node("user:/", children=[node("user:/app", exists=False, mount=mount)])
    with pytest.raises(InstanceUnreachable) as info:
        await client.get("user:/", preload=1)
    assert cause in str(info.value)


async def test_well_formed_mounts_pass(
    http: httpx.AsyncClient, member: tuple[str, type[Told]]
) -> None:
    url, told = member
    told.answer = [MOUNT, {**MOUNT, "prefix": "system:/web", "status": "ok", "error": None}]
    assert [m["prefix"] for m in await ElektradClient(http, url).mounts()] == [
        "user:/app",
        "system:/web",
    ]
