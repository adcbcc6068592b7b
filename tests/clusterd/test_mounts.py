"""Mounted files through clusterd's GraphQL API, over real elektrads: an
instance's mounts, a read of a tree with a broken mount (the good keys, and
which subtree is broken and why), and a repaired file clearing the error live."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .api import add_instance
from .conftest import Clusterd, Elektrad
from .ws import connect

BROKEN_INI = "[server\nport = 8080\n"
GOOD_INI = "[server]\nport = 8080\n"

MOUNT = "mount { mountPoint format file status error maxDepth }"
READ = f"""query($id: ID!) {{ instance(id: $id) {{
  mounts {{ mountPoint format file status error maxDepth }}
  tree: keys(path: "user:/", depth: 3) {{ path exists value {MOUNT} }}
  web: key(path: "system:/web/site/name") {{ value {MOUNT} }}
  own: key(path: "user:/other") {{ value {MOUNT} }}
}} }}"""
CHANGES = """subscription($i: ID) {
  configChanged(instanceId: $i) { op path value previous origin }
}"""


def replace_file(path: Path, text: str) -> None:
    """Write ``path`` as editors do, by renaming a new file over it: the
    daemon never reads it half written."""
    new = path.with_name(path.name + ".new")
    new.write_text(text)
    new.rename(path)


def start(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path, ini_text: str
) -> tuple[str, Elektrad, Path, Path]:
    ini = tmp_path / "app.ini"
    ini.write_text(ini_text)
    toml = tmp_path / "web.toml"
    toml.write_text('[site]\nname = "shop"\n')
    (daemon,) = elektrads(1, mounts=[f"user:/app={ini}", f"system:/web={toml}"])
    instance = add_instance(clusterd, "web-01", daemon.url)
    clusterd.ok(
        'mutation($id: ID!) { setKey(target: {instanceId: $id}, path: "user:/other", '
        'value: "kept") { operationId } }',
        id=instance,
    )
    return instance, daemon, ini, toml


def test_a_tree_with_a_broken_mount_is_read_with_the_rest_and_names_it(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    instance, _, ini, toml = start(clusterd, elektrads, tmp_path, BROKEN_INI)
    read = clusterd.ok(READ, id=instance)["instance"]

    broken = {
        "mountPoint": "user:/app",
        "format": "ini",
        "file": str(ini),
        "status": "BROKEN",
        "error": read["mounts"][0]["error"],
        "maxDepth": 2,
    }
    assert "not valid INI" in broken["error"]
    assert read["mounts"] == [
        broken,
        {
            "mountPoint": "system:/web",
            "format": "toml",
            "file": str(toml),
            "status": "OK",
            "error": None,
            "maxDepth": None,
        },
    ]
    # The good keys, and the broken subtree in place of its keys.
    assert read["tree"] == [
        {"path": "user:/", "exists": False, "value": None, "mount": None},
        {"path": "user:/app", "exists": False, "value": None, "mount": broken},
        {"path": "user:/other", "exists": True, "value": "kept", "mount": None},
    ]
    assert read["web"]["value"] == "shop"
    assert read["web"]["mount"]["mountPoint"] == "system:/web"
    assert read["own"] == {"value": "kept", "mount": None}

    # Its own subtree is refused, with the parser's message and the file.
    refused = clusterd.query(
        'query($id: ID!) { instance(id: $id) { key(path: "user:/app/server") { value } } }',
        id=instance,
    )
    (error,) = refused["errors"]
    assert str(ini) in error["message"] and "not valid INI" in error["message"]
    # Nothing shown is false: the file is as it was.
    assert ini.read_text() == BROKEN_INI


async def next_change(socket: Any) -> dict[str, Any]:
    """The next change of the mounted file (the echo of start()'s write of
    user:/other may come first, or not)."""
    while True:
        change: dict[str, Any] = (await socket.next_data(seconds=20))["configChanged"]
        if change["path"] != "user:/other":
            return change


def test_a_broken_and_repaired_file_is_told_live(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    instance, _, ini, _ = start(clusterd, elektrads, tmp_path, GOOD_INI)

    async def scenario() -> list[dict[str, Any]]:
        async with connect(clusterd.url) as socket:
            await socket.subscribe(CHANGES, i=instance)
            await asyncio.sleep(0.3)  # the subscription registers on the bus
            replace_file(ini, BROKEN_INI)
            events = [await next_change(socket)]
            replace_file(ini, GOOD_INI.replace("8080", "9090"))
            events += [await next_change(socket) for _ in range(2)]
            return events

    broke, repaired_key, repaired = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert (broke["op"], broke["path"], broke["origin"], broke["previous"]) == (
        "MOUNT",
        "user:/app",
        "instance",
        None,
    )
    assert "not valid INI" in broke["value"]
    assert (repaired_key["op"], repaired_key["path"], repaired_key["value"]) == (
        "SET",
        "user:/app/server/port",
        "9090",
    )
    assert (repaired["op"], repaired["path"], repaired["value"], repaired["previous"]) == (
        "MOUNT",
        "user:/app",
        None,
        broke["value"],
    )
    read = clusterd.ok(READ, id=instance)["instance"]
    assert [m["status"] for m in read["mounts"]] == ["OK", "OK"]
    assert {k["path"]: k["value"] for k in read["tree"] if k["exists"]} == {
        "user:/app": None,
        "user:/app/server": None,
        "user:/app/server/port": "9090",
        "user:/other": "kept",
    }
