"""Mounted configuration files, through a real elektrad: in-place edits that
keep the rest of the file, other programs' edits, broken files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Elektrad

INI = """\
# Settings of the app
[server]
; the public name
host   =   example.org
port = 8080

[log]
# where to write
file = /var/log/app.log
"""

JSON = """\
{
  "server": {
    "host": "example.org",
    "port": 8080,
    "ratio": 1.10
  },
  "tags": ["a", "b"]
}
"""

TOML = """\
# Settings of the app
[server]
host = "example.org"  # the public name
port = 8080

[log]
file = "/var/log/app.log"
"""


def mount(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path, name: str, text: str
) -> tuple[Elektrad, Path]:
    path = tmp_path / name
    path.write_text(text)
    return start_elektrad(mounts=[f"user:/app={path}"]), path


def feed_since(daemon: Elektrad, revision: int, wait: float = 0) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = daemon.get("/kdbChanges", since=revision, wait=wait).json()[
        "changes"
    ]
    return changes


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "app.ini",
            INI,
            {
                "user:/app/server/host": "example.org",
                "user:/app/server/port": "8080",
                "user:/app/log/file": "/var/log/app.log",
            },
        ),
        (
            "app.json",
            JSON,
            {
                "user:/app/server/host": "example.org",
                "user:/app/server/port": "8080",
                "user:/app/server/ratio": "1.10",
                "user:/app/tags/#0": "a",
                "user:/app/tags/#1": "b",
            },
        ),
        (
            "app.toml",
            TOML,
            {
                "user:/app/server/host": "example.org",
                "user:/app/server/port": "8080",
                "user:/app/log/file": "/var/log/app.log",
            },
        ),
    ],
)
def test_mounted_file_is_read_into_keys(
    start_elektrad: Callable[..., Elektrad],
    tmp_path: Path,
    name: str,
    text: str,
    expected: dict[str, str],
) -> None:
    daemon, _ = mount(start_elektrad, tmp_path, name, text)
    for key, value in expected.items():
        assert daemon.key(key)["value"] == value
    listed = daemon.key("user:/app")["ls"]
    assert set(expected) <= set(listed)
    assert daemon.key("user:/app/server")["exists"] is True  # a section/table is a key


@pytest.mark.parametrize(
    ("name", "text", "old", "new"),
    [
        ("app.ini", INI, "port = 8080", "port = 9090"),
        ("app.json", JSON, '"port": 8080', '"port": 9090'),
        ("app.toml", TOML, "port = 8080", "port = 9090"),
    ],
)
def test_put_edits_the_file_in_place_keeping_the_rest(
    start_elektrad: Callable[..., Elektrad],
    tmp_path: Path,
    name: str,
    text: str,
    old: str,
    new: str,
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, name, text)
    assert daemon.put("user:/app/server/port", "9090").status_code == 200
    assert path.read_text() == text.replace(old, new)


def test_new_ini_key_and_section_are_added(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, "app.ini", INI)
    assert daemon.put("user:/app/log/level", "debug").status_code == 200
    assert daemon.put("user:/app/cache/size", "10").status_code == 200
    written = path.read_text()
    assert written.startswith(INI.rstrip("\n"))
    assert "level = debug" in written
    assert "[cache]" in written
    assert "size = 10" in written
    assert daemon.key("user:/app/cache/size")["value"] == "10"


def test_delete_removes_only_that_part_of_the_file(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, "app.toml", TOML)
    assert daemon.http.delete("/kdb/user:/app/log").status_code == 200
    assert "[log]" not in path.read_text()
    assert 'host = "example.org"  # the public name' in path.read_text()
    assert daemon.key("user:/app/log")["exists"] is False


def test_a_key_the_format_cannot_hold_is_refused_and_the_file_kept(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, "app.ini", INI)
    for name in ["user:/app/toplevel", "user:/app/server/port/deeper"]:
        response = daemon.put(name, "x")
        assert response.status_code == 400
        assert response.json()["name"] == "UnsupportedKey"
    assert path.read_text() == INI


def test_metadata_of_mounted_keys_stays_out_of_the_file(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, "app.json", JSON)
    response = daemon.http.post(
        "/kdbMeta/user:/app/server/port", json={"key": "check/type", "value": "long"}
    )
    assert response.status_code == 204
    assert path.read_text() == JSON
    assert daemon.key("user:/app/server/port")["meta"] == {"check/type": "long"}
    assert daemon.put("user:/app/server/port", "many").status_code == 400
    assert path.read_text() == JSON


def test_move_between_a_mount_and_the_default_store(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, "app.toml", TOML)
    assert daemon.http.post("/kdbMv/user:/app/log", content=b"user:/archive/log").status_code == 204
    assert "[log]" not in path.read_text()
    assert daemon.key("user:/archive/log/file")["value"] == "/var/log/app.log"
    assert (
        daemon.http.post("/kdbCp/user:/archive/log", content=b"user:/app/log2").status_code == 204
    )
    assert 'file = "/var/log/app.log"' in path.read_text().split("[log2]")[1]


def test_an_edit_by_another_program_is_seen_on_the_next_request(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, "app.ini", INI)
    revision = daemon.get("/kdbChanges").json()["revision"]
    path.write_text(INI.replace("port = 8080", "port = 1234"))
    assert daemon.key("user:/app/server/port")["value"] == "1234"
    changes = feed_since(daemon, revision)
    assert [(c["op"], c["key"], c["value"], c["previous"], c["origin"]) for c in changes] == [
        ("set", "user:/app/server/port", "1234", "8080", "file")
    ]


def test_the_feed_shows_other_programs_edits_without_any_request(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, "app.json", JSON)
    revision = daemon.get("/kdbChanges").json()["revision"]
    time.sleep(0.1)
    replacement = tmp_path / "new.json"  # editors replace the file by renaming
    replacement.write_text(JSON.replace('"b"', '"c"'))
    replacement.rename(path)
    changes = feed_since(daemon, revision, wait=5)
    assert [(c["key"], c["value"], c["origin"]) for c in changes] == [
        ("user:/app/tags/#1", "c", "file")
    ]


def test_a_write_never_overwrites_an_edit_it_has_not_read(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from elektra_web.elektrad.storage.ini import IniFormat

    daemon, path = mount(start_elektrad, tmp_path, "app.ini", INI)
    daemon.key("user:/app")  # read: the daemon now holds the file's content
    # Fault injection: another program writes the file while elektrad prepares
    # its own write (after it read the file, before it replaces it).
    document_type = type(IniFormat().parse(INI))
    original_dump = document_type.dump
    raced = []

    def dump_while_someone_edits(self: Any) -> str:
        if not raced:
            raced.append(True)
            path.write_text(INI.replace("file = /var/log/app.log", "file = /tmp/other.log"))
        return str(original_dump(self))

    monkeypatch.setattr(document_type, "dump", dump_while_someone_edits)
    assert daemon.put("user:/app/server/port", "9999").status_code == 200
    written = path.read_text()
    assert "file = /tmp/other.log" in written  # the other program's edit survived
    assert "port = 9999" in written  # and ours landed on top of it
    assert daemon.key("user:/app/log/file")["value"] == "/tmp/other.log"


@pytest.mark.parametrize(
    ("name", "text"),
    [("app.ini", "[server\nport = 1\n"), ("app.json", '{"a": '), ("app.toml", "a = = 1\n")],
)
def test_a_broken_file_is_reported_and_never_rewritten(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path, name: str, text: str
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, name, text)
    (status,) = daemon.get("/mounts").json()
    assert status["status"] == "broken"
    assert status["error"]
    for response in [
        daemon.get("/kdb/user:/app/a"),
        daemon.put("user:/app/a/b", "x"),
        daemon.http.delete("/kdb/user:/app"),
    ]:
        assert response.status_code == 400
        assert response.json()["name"] == "MountError"
    assert path.read_text() == text
    assert daemon.put("user:/elsewhere", "fine").status_code == 200


def test_a_fixed_file_is_served_again(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    daemon, path = mount(start_elektrad, tmp_path, "app.ini", "[broken\n")
    path.write_text(INI)
    assert daemon.key("user:/app/server/port")["value"] == "8080"
    assert daemon.get("/mounts").json()[0]["status"] == "ok"


def test_a_missing_file_is_created_on_the_first_write(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    path = tmp_path / "new.toml"
    daemon = start_elektrad(mounts=[f"user:/app={path}"])
    assert daemon.key("user:/app")["ls"] == ["user:/app"]
    assert daemon.put("user:/app/name", "x").status_code == 200
    assert path.read_text() == 'name = "x"\n'
    assert oct(path.stat().st_mode & 0o777) in ("0o644", "0o640", "0o600")


def test_not_utf8_file_is_a_broken_mount(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    path = tmp_path / "latin1.ini"
    path.write_bytes(b"[s]\nname = caf\xe9\n")
    daemon = start_elektrad(mounts=[f"user:/app={path}"])
    assert "UTF-8" in daemon.get("/mounts").json()[0]["error"]
