"""A broken mounted file hides only its own subtree, through a real elektrad:
a read above it answers everything else and names the broken mount (its
mount point, file, format and the parser's message), and the change feed says
when the file breaks and when it parses again."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import Elektrad

GOOD_INI = "[server]\nport = 8080\n"
BROKEN_INI = "[server\nport = 8080\n"


def start(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path, ini_text: str
) -> tuple[Elektrad, Path, Path]:
    ini = tmp_path / "app.ini"
    ini.write_text(ini_text)
    toml = tmp_path / "web.toml"
    toml.write_text('[site]\nname = "shop"\n')
    daemon = start_elektrad(mounts=[f"user:/app={ini}", f"system:/web={toml}"])
    assert daemon.put("user:/other", "kept").status_code == 200
    assert daemon.put("system:/hosts/db", "10.0.0.5").status_code == 200
    return daemon, ini, toml


def children(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {child["path"]: child for child in view["children"]}


def mount_change(daemon: Elektrad, since: int) -> dict[str, Any]:
    """The first ``mount`` change after ``since``: long polls of the feed (the
    watcher re-reads the file within its interval), bounded by a deadline."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        page = daemon.get("/kdbChanges", since=since, wait=5).json()
        for change in page["changes"]:
            if change["op"] == "mount":
                return dict(change)
        since = page["revision"]
    raise AssertionError("no mount change in the feed")


def test_a_read_above_a_broken_mount_answers_the_rest_and_names_it(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, ini, toml = start(start_elektrad, tmp_path, BROKEN_INI)

    user = daemon.get("/kdb/user:/", preload=2)
    assert user.status_code == 200
    view = user.json()
    assert view["ls"] == ["user:/other"]  # nothing of the broken file
    broken = children(view)["user:/app"]
    assert broken["exists"] is False
    assert "children" not in broken or broken["children"] == []
    assert broken["mount"] == {
        "prefix": "user:/app",
        "file": str(ini),
        "format": "ini",
        "status": "broken",
        "error": broken["mount"]["error"],
        "maxDepth": 2,
    }
    assert "not valid INI" in broken["mount"]["error"]
    assert children(view)["user:/other"]["value"] == "kept"

    # The other namespaces and the healthy mount are untouched, and marked.
    system = daemon.key("system:/", preload=2)
    assert children(system)["system:/hosts"]["children"][0]["value"] == "10.0.0.5"
    web = children(system)["system:/web"]
    assert web["mount"]["status"] == "ok"
    assert web["mount"]["file"] == str(toml)
    assert web["mount"]["maxDepth"] is None
    assert children(web)["system:/web/site"]["exists"] is True

    # The whole database: the broken mount point is a node, in no ls.
    root = daemon.get("/kdb", preload=3).json()
    user_root = children(root)["user"]
    assert "user/app" not in root["ls"]
    assert children(user_root)["user/app"]["mount"]["status"] == "broken"

    # Its own subtree is refused with the parser's message and the file.
    refused = daemon.get("/kdb/user:/app/server")
    assert refused.status_code == 400
    assert refused.json()["name"] == "MountError"
    assert str(ini) in refused.json()["message"]
    assert daemon.get("/kdb/user:/app").status_code == 400
    # A write that would cover it is still refused: nothing is lost.
    assert daemon.http.delete("/kdb/user:/").status_code == 400
    # Nothing shown is false: the file is as it was, the rest as written.
    assert ini.read_text() == BROKEN_INI
    assert daemon.key("user:/other")["value"] == "kept"


def test_a_file_that_breaks_is_hidden_and_the_feed_tells_when_it_parses_again(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, ini, _ = start(start_elektrad, tmp_path, GOOD_INI)
    assert daemon.key("user:/app/server/port")["value"] == "8080"
    assert children(daemon.key("user:/", preload=1))["user:/app"]["mount"]["status"] == "ok"
    revision = daemon.get("/kdbChanges").json()["revision"]

    ini.write_text(BROKEN_INI)
    broke = mount_change(daemon, revision)
    assert (broke["key"], broke["origin"], broke["previous"]) == ("user:/app", "file", None)
    assert "not valid INI" in broke["value"]
    # The last good content is not shown as if it were the file's.
    view = daemon.key("user:/", preload=3)
    assert view["ls"] == ["user:/other"]
    assert children(view)["user:/app"]["mount"]["status"] == "broken"
    assert "user:/app/server/port" not in daemon.get("/kdbFind/port").json()
    # No key of it was published as deleted: it is unknown, not gone.
    page = daemon.get("/kdbChanges", since=revision).json()
    assert [c["op"] for c in page["changes"]] == ["mount"]

    # Repaired as editors save: at once (a write in place can be read half done,
    # an empty INI file first, which is a valid one without keys).
    repaired = ini.with_suffix(".new")
    repaired.write_text(GOOD_INI.replace("8080", "9090"))
    repaired.replace(ini)
    fixed = mount_change(daemon, broke["revision"])
    assert (fixed["key"], fixed["value"], fixed["previous"]) == (
        "user:/app",
        None,
        broke["value"],
    )
    page = daemon.get("/kdbChanges", since=broke["revision"]).json()
    # The repaired content first, then the mount's status.
    assert [(c["op"], c["key"], c["value"]) for c in page["changes"]] == [
        ("set", "user:/app/server/port", "9090"),
        ("mount", "user:/app", None),
    ]
    # Nothing shown is false: the repaired file's value, and it is ok again.
    assert daemon.key("user:/app/server/port")["value"] == "9090"
    assert {m["prefix"]: m["status"] for m in daemon.get("/mounts").json()} == {
        "user:/app": "ok",
        "system:/web": "ok",
    }
