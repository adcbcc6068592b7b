"""The connector's key-name rules, pinned against the real elektrad: it must
read and spell names exactly as the daemon does, without sharing its code."""

from __future__ import annotations

import httpx
import pytest

from elektra_web.connector.client import ElektradClient, canonical_name
from elektra_web.connector.exceptions import InstanceRefused
from elektra_web.connector.names import ParsedName, parse_name, spell_name

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
INVALID = [
    "",
    "proc:/a",
    "user:",
    "user:/..",
    "user:/a/../..",
    "user:/a\\",
    "user:/a\\x",
    "user:/#01",
    "user:/#__10",
]


@pytest.fixture
def client(http: httpx.AsyncClient, elektrad_url: str) -> ElektradClient:
    return ElektradClient(http, elektrad_url)


@pytest.mark.anyio
@pytest.mark.parametrize("name", NAMES)
async def test_names_are_read_and_spelled_as_elektrad_does(
    client: ElektradClient, name: str
) -> None:
    answer = await client.get(name)
    parsed = parse_name(name)
    assert parsed is not None
    assert spell_name(parsed) == answer["path"]
    assert (parsed.parts[-1] if parsed.parts else "") == answer["name"]


@pytest.mark.anyio
@pytest.mark.parametrize("name", [n for n in INVALID if n])
async def test_invalid_names_are_refused_by_both(client: ElektradClient, name: str) -> None:
    assert parse_name(name) is None
    with pytest.raises(InstanceRefused):
        await client.get(name)


def test_parts_are_unescaped_and_canonical() -> None:
    assert parse_name("user/a/b\\/c/#10/%") == ParsedName("user", ("a", "b/c", "#_10", ""), True)
    assert parse_name("/x/./y/..") == ParsedName("", ("x",), False)
    assert parse_name("") is None


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
