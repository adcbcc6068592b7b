"""The change feed ``GET /kdbChanges``, against a real elektrad."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from elektra_web.elektrad.app import ElektradConfig, create_app
from elektra_web.elektrad.changes import MAX_PAGE, PAGE_TEXT

from ..support import servers
from .conftest import Elektrad


def feed(daemon: Elektrad, **params: Any) -> dict[str, Any]:
    response = daemon.get("/kdbChanges", **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    return body


def test_every_change_gets_the_next_revision(elektrad: Elektrad) -> None:
    start = feed(elektrad)["revision"]
    elektrad.put("user:/a", "1")
    elektrad.put("user:/a", "2")
    elektrad.http.post("/kdbMeta/user:/a", json={"key": "note", "value": "n"})
    elektrad.http.delete("/kdb/user:/a")
    body = feed(elektrad, since=start)
    assert body["reset"] is False
    assert body["revision"] == start + 4
    summary = [
        (c["revision"], c["op"], c["key"], c["value"], c["previous"], c.get("meta"))
        for c in body["changes"]
    ]
    assert summary == [
        (start + 1, "set", "user:/a", "1", None, None),
        (start + 2, "set", "user:/a", "2", "1", None),
        (start + 3, "meta", "user:/a", "n", None, "note"),
        (start + 4, "delete", "user:/a", None, "2", None),
    ]
    assert {c["origin"] for c in body["changes"]} == {"api"}
    assert feed(elektrad, since=start + 3)["changes"][0]["revision"] == start + 4


def test_without_since_the_feed_starts_now(elektrad: Elektrad) -> None:
    elektrad.put("user:/old", "1")
    body = feed(elektrad)
    assert body["changes"] == []
    assert body["revision"] >= 1


def test_long_poll_returns_as_soon_as_a_change_comes(elektrad: Elektrad) -> None:
    revision = feed(elektrad)["revision"]
    result: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        result["body"] = feed(elektrad, since=revision, wait=10)
        result["seconds"] = time.monotonic() - started

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    elektrad.put("user:/wake", "up")
    poller.join(10)
    assert [c["key"] for c in result["body"]["changes"]] == ["user:/wake"]
    assert 0.2 < result["seconds"] < 5


def test_long_poll_times_out_empty(elektrad: Elektrad) -> None:
    revision = feed(elektrad)["revision"]
    started = time.monotonic()
    body = feed(elektrad, since=revision, wait=0.3)
    assert body["changes"] == []
    assert time.monotonic() - started >= 0.25


def test_unknown_epoch_or_future_revision_asks_for_a_reset(elektrad: Elektrad) -> None:
    body = feed(elektrad)
    assert feed(elektrad, since=body["revision"], epoch="another-run")["reset"] is True
    assert feed(elektrad, since=body["revision"] + 5)["reset"] is True
    assert feed(elektrad, since=body["revision"], epoch=body["epoch"])["reset"] is False


def test_history_past_its_limit_asks_for_a_reset(start_elektrad) -> None:
    daemon = start_elektrad(history=3)
    for i in range(5):
        daemon.put(f"user:/k{i}", "v")
    assert feed(daemon, since=0)["reset"] is True
    assert len(feed(daemon, since=2)["changes"]) == 3


def test_a_page_holds_at_most_limit_changes_and_the_next_starts_after_it(
    elektrad: Elektrad,
) -> None:
    start = feed(elektrad)["revision"]
    for i in range(5):
        elektrad.put(f"user:/p{i}", str(i))
    page = feed(elektrad, since=start, limit=2)
    assert [c["key"] for c in page["changes"]] == ["user:/p0", "user:/p1"]
    assert page["revision"] == start + 2  # where the next page starts
    rest = feed(elektrad, since=page["revision"], limit=10)
    assert [c["key"] for c in rest["changes"]] == ["user:/p2", "user:/p3", "user:/p4"]
    assert rest["revision"] == start + 5


def test_a_page_of_long_values_ends_early(elektrad: Elektrad) -> None:
    start = feed(elektrad)["revision"]
    big = "x" * (PAGE_TEXT // 5 + 1)  # five of them are more than a page
    for i in range(6):
        elektrad.put(f"user:/big{i}", big)
    page = feed(elektrad, since=start)
    assert len(page["changes"]) == 4
    assert page["revision"] == start + 4


def test_bad_feed_parameters_are_refused(elektrad: Elektrad) -> None:
    for params in [
        {"since": "-1"},
        {"since": "x"},
        {"wait": "61"},
        {"wait": "nan"},
        {"limit": str(MAX_PAGE + 1)},
        {"limit": "-1"},
    ]:
        response = elektrad.get("/kdbChanges", **params)
        assert response.status_code == 400, params
        assert response.json()["name"] == "BadRequest"


def test_a_clients_operation_id_is_echoed_in_the_feed(elektrad: Elektrad) -> None:
    start = feed(elektrad)["revision"]
    tagged = {"x-operation-id": "op-42"}
    elektrad.http.put("/kdb/user:/a", content=b"1", headers=tagged)
    elektrad.http.post("/kdbMeta/user:/a", json={"key": "n", "value": "v"}, headers=tagged)
    elektrad.http.post("/kdbCp/user:/a", content=b"user:/b", headers=tagged)
    elektrad.put("user:/untagged", "x")
    changes = feed(elektrad, since=start)["changes"]
    assert [(c["op"], c["key"], c.get("operation")) for c in changes] == [
        ("set", "user:/a", "op-42"),
        ("meta", "user:/a", "op-42"),
        ("set", "user:/b", "op-42"),
        ("meta", "user:/b", "op-42"),
        ("set", "user:/untagged", None),
    ]


def test_an_unreasonable_operation_id_is_refused(elektrad: Elektrad) -> None:
    response = elektrad.http.put(
        "/kdb/user:/a", content=b"1", headers={"x-operation-id": "x" * 129}
    )
    assert response.status_code == 400
    assert elektrad.key("user:/a")["exists"] is False


def test_a_long_poll_ends_when_its_client_goes_away(tmp_path: Path) -> None:
    """A poll whose client left must not hold the daemon: a shutdown waits
    for open requests, and would wait out the poll's ``wait``."""
    app = create_app(ElektradConfig(data_dir=tmp_path / "kdb"))
    context = servers.serve_in_thread(app, lifespan="on", timeout_graceful_shutdown=30)
    url = context.__enter__()
    try:
        address = urlsplit(url)
        with socket.create_connection((address.hostname, address.port)) as client:
            client.sendall(b"GET /kdbChanges?wait=30 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
        time.sleep(0.3)
    finally:
        started = time.monotonic()
        context.__exit__(None, None, None)
    assert time.monotonic() - started < 5
