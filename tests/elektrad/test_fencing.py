"""Write fencing (``X-Fence: <source>/<revision>``), against a real elektrad:
a delayed or replayed older cluster write never steps a key back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elektra_web.elektrad import mounts
from elektra_web.elektrad.app import ElektradConfig
from elektra_web.elektrad.mounts import MountSpec

from .conftest import Elektrad, serve_in_thread

SOURCE = "db-1"


def fence(revision: int, source: str = SOURCE) -> dict[str, str]:
    return {"X-Fence": f"{source}/{revision}"}


def put(daemon: Elektrad, name: str, value: str, revision: int, **kw: Any) -> httpx.Response:
    return daemon.http.put(f"/kdb/{name}", content=value.encode(), headers=fence(revision, **kw))


def delete(daemon: Elektrad, name: str, revision: int, **kw: Any) -> httpx.Response:
    return daemon.http.delete(f"/kdb/{name}", headers=fence(revision, **kw))


def set_meta(daemon: Elektrad, name: str, key: str, value: str, revision: int) -> httpx.Response:
    return daemon.http.post(
        f"/kdbMeta/{name}", json={"key": key, "value": value}, headers=fence(revision)
    )


def delete_meta(daemon: Elektrad, name: str, key: str, revision: int) -> httpx.Response:
    return daemon.http.request(
        "DELETE", f"/kdbMeta/{name}", json={"key": key}, headers=fence(revision)
    )


def move(daemon: Elektrad, source: str, target: str, revision: int) -> httpx.Response:
    return daemon.http.post(f"/kdbMv/{source}", content=target.encode(), headers=fence(revision))


def copy(daemon: Elektrad, source: str, target: str, revision: int) -> httpx.Response:
    return daemon.http.post(f"/kdbCp/{source}", content=target.encode(), headers=fence(revision))


def value(daemon: Elektrad, name: str) -> str | None:
    key = daemon.key(name)
    return key.get("value") if key["exists"] else None


def assert_stale(response: httpx.Response, key: str, stored: int, offered: int) -> None:
    assert response.status_code == 412, response.text
    assert response.json() == {
        "name": "Stale",
        "message": f"{key} is at revision {stored} of this clusterd; revision {offered} is older",
    }


def feed_revision(daemon: Elektrad) -> int:
    revision: int = daemon.get("/kdbChanges").json()["revision"]
    return revision


# -- refused, accepted ---------------------------------------------------------


def test_older_set_is_refused_and_the_value_untouched(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/app/x", "new", 30).status_code == 200
    before = feed_revision(elektrad)
    assert_stale(put(elektrad, "user:/app/x", "old", 28), "user:/app/x", 30, 28)
    assert value(elektrad, "user:/app/x") == "new"
    assert feed_revision(elektrad) == before  # nothing published


def test_older_delete_is_refused_and_the_key_kept(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/app/x", "new", 30).status_code == 200
    assert_stale(delete(elektrad, "user:/app/x", 29), "user:/app/x", 30, 29)
    assert value(elektrad, "user:/app/x") == "new"


def test_older_metadata_writes_are_refused(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/app/x", "v", 10).status_code == 200
    assert set_meta(elektrad, "user:/app/x", "note", "new", 12).status_code == 204
    assert_stale(set_meta(elektrad, "user:/app/x", "note", "old", 11), "user:/app/x", 12, 11)
    assert_stale(delete_meta(elektrad, "user:/app/x", "note", 11), "user:/app/x", 12, 11)
    assert elektrad.key("user:/app/x")["meta"] == {"note": "new"}


def test_older_move_is_refused_for_its_source_and_its_target(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/a", "a", 20).status_code == 200
    assert put(elektrad, "user:/b", "b", 5).status_code == 200
    assert_stale(move(elektrad, "user:/a", "user:/b", 19), "user:/a", 20, 19)
    assert put(elektrad, "user:/c", "c", 5).status_code == 200
    assert put(elektrad, "user:/d/below", "d", 20).status_code == 200
    assert_stale(move(elektrad, "user:/c", "user:/d", 19), "user:/d/below", 20, 19)
    assert [value(elektrad, n) for n in ("user:/a", "user:/b", "user:/c", "user:/d/below")] == [
        "a",
        "b",
        "c",
        "d",
    ]


def test_older_copy_is_refused_for_its_source_and_its_target(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/a", "a", 20).status_code == 200
    assert_stale(copy(elektrad, "user:/a", "user:/b", 19), "user:/a", 20, 19)
    assert put(elektrad, "user:/c", "c", 5).status_code == 200
    assert put(elektrad, "user:/d", "d", 20).status_code == 200
    assert_stale(copy(elektrad, "user:/c", "user:/d", 19), "user:/d", 20, 19)
    assert value(elektrad, "user:/b") is None
    assert value(elektrad, "user:/d") == "d"


def test_equal_revision_is_accepted(elektrad: Elektrad) -> None:
    # One operation's deliveries to one key (value, then metadata), and a retry.
    assert put(elektrad, "user:/app/x", "v", 7).status_code == 200
    assert set_meta(elektrad, "user:/app/x", "note", "n", 7).status_code == 204
    assert put(elektrad, "user:/app/x", "v", 7).status_code == 200
    assert delete(elektrad, "user:/app/x", 7).status_code == 200
    assert value(elektrad, "user:/app/x") is None


def test_newer_revisions_are_accepted_by_every_write(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/a", "1", 1).status_code == 200
    assert put(elektrad, "user:/a", "2", 2).status_code == 200
    assert set_meta(elektrad, "user:/a", "note", "n", 3).status_code == 204
    assert delete_meta(elektrad, "user:/a", "note", 4).status_code == 204
    assert copy(elektrad, "user:/a", "user:/b", 5).status_code == 204
    assert move(elektrad, "user:/b", "user:/c", 6).status_code == 204
    assert delete(elektrad, "user:/a", 7).status_code == 200
    assert [value(elektrad, n) for n in ("user:/a", "user:/b", "user:/c")] == [None, None, "2"]


def test_late_set_after_a_fenced_delete_is_refused(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/app/x", "v", 10).status_code == 200
    assert delete(elektrad, "user:/app/x", 12).status_code == 200
    assert_stale(put(elektrad, "user:/app/x", "late", 11), "user:/app/x", 12, 11)
    assert value(elektrad, "user:/app/x") is None


def test_late_set_below_a_fenced_subtree_delete_is_refused(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/app/x", "v", 10).status_code == 200
    assert delete(elektrad, "user:/app", 12).status_code == 200
    assert_stale(put(elektrad, "user:/app/x", "late", 11), "user:/app/x", 12, 11)
    assert value(elektrad, "user:/app/x") is None


def test_late_set_after_a_fenced_delete_of_a_missing_key_is_refused(elektrad: Elektrad) -> None:
    # The DELETE overtook the SET it follows: it deletes nothing, but fences.
    assert delete(elektrad, "user:/app/x", 12).status_code == 200
    assert_stale(put(elektrad, "user:/app/x", "late", 11), "user:/app/x", 12, 11)


def test_delete_is_refused_when_a_key_below_has_a_newer_fence(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/app", "parent", 10).status_code == 200
    assert put(elektrad, "user:/app/deep/x", "child", 20).status_code == 200
    assert_stale(delete(elektrad, "user:/app", 15), "user:/app/deep/x", 20, 15)
    assert value(elektrad, "user:/app") == "parent"
    assert value(elektrad, "user:/app/deep/x") == "child"


def test_a_cascading_name_is_fenced_as_the_key_it_resolves_to(elektrad: Elektrad) -> None:
    assert put(elektrad, "system:/app/x", "sys", 5).status_code == 200
    assert put(elektrad, "/app/x", "new", 9).status_code == 200
    assert value(elektrad, "system:/app/x") == "new"
    assert_stale(put(elektrad, "system:/app/x", "old", 8), "system:/app/x", 9, 8)


def test_another_source_is_accepted_and_takes_over(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/app/x", "first", 100, source="old-db").status_code == 200
    assert put(elektrad, "user:/app/x", "second", 3, source="new-db").status_code == 200
    assert value(elektrad, "user:/app/x") == "second"
    assert_stale(put(elektrad, "user:/app/x", "stale", 2, source="new-db"), "user:/app/x", 3, 2)
    # The old source's fence was replaced: it no longer refuses anything either.
    assert put(elektrad, "user:/app/x", "back", 50, source="old-db").status_code == 200


def test_a_write_without_the_header_is_unfenced_and_changes_no_fence(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/app/x", "fenced", 30).status_code == 200
    assert elektrad.put("user:/app/x", "plain").status_code == 200
    assert elektrad.http.delete("/kdb/user:/app/x").status_code == 200
    assert elektrad.put("user:/app/x", "again").status_code == 200
    assert value(elektrad, "user:/app/x") == "again"
    assert_stale(put(elektrad, "user:/app/x", "old", 29), "user:/app/x", 30, 29)
    # An unfenced write to a never fenced key leaves it unfenced.
    assert elektrad.put("user:/other", "plain").status_code == 200
    assert put(elektrad, "user:/other", "fenced", 1).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "db-1",
        "db-1/",
        "/5",
        "db-1/-5",
        "db-1/0",
        "db-1/abc",
        "db-1/5x",
        "db-1/+5",
        "db-1/5.0",
        "db 1/5",
        "db.1/5",
        "db-1/5/6",
        "a" * 65 + "/5",
        f"db-1/{2**63}",
        f"db-1/{'9' * 30}",
        "db-1/\u0665",  # a digit to str.isdigit(), not to us
    ],
)
def test_malformed_fence_is_a_400(elektrad: Elektrad, header: str) -> None:
    response = elektrad.http.put(
        "/kdb/user:/app/x", content=b"v", headers={"X-Fence": header.encode()}
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["name"] == "BadRequest"
    assert "X-Fence must be <source>/<revision>" in body["message"]
    assert not elektrad.key("user:/app/x")["exists"]


def test_the_fence_limits_are_accepted(elektrad: Elektrad) -> None:
    assert put(elektrad, "user:/a", "v", 1, source="a" * 64).status_code == 200
    assert put(elektrad, "user:/b", "v", 2**63 - 1, source="A-z_0").status_code == 200
    assert_stale(
        put(elektrad, "user:/b", "w", 2**63 - 2, source="A-z_0"), "user:/b", 2**63 - 1, 2**63 - 2
    )


def test_malformed_fence_is_refused_on_every_write_route(elektrad: Elektrad) -> None:
    bad = {"X-Fence": "nope"}
    elektrad.put("user:/a", "v")
    responses = [
        elektrad.http.put("/kdb/user:/a", content=b"w", headers=bad),
        elektrad.http.delete("/kdb/user:/a", headers=bad),
        elektrad.http.post("/kdbMeta/user:/a", json={"key": "k", "value": "v"}, headers=bad),
        elektrad.http.request("DELETE", "/kdbMeta/user:/a", json={"key": "k"}, headers=bad),
        elektrad.http.post("/kdbMv/user:/a", content=b"user:/b", headers=bad),
        elektrad.http.post("/kdbCp/user:/a", content=b"user:/b", headers=bad),
    ]
    assert [r.status_code for r in responses] == [400] * 6
    assert value(elektrad, "user:/a") == "v"


def test_two_fence_headers_are_a_400(elektrad: Elektrad) -> None:
    response = elektrad.http.put(
        "/kdb/user:/a", content=b"v", headers=[("X-Fence", "db/5"), ("X-Fence", "db/6")]
    )
    assert response.status_code == 400
    assert response.json()["message"] == "X-Fence must be given once"


# -- durability, mounts, concurrency -----------------------------------------


def test_fences_survive_a_restart(tmp_path: Path) -> None:
    config = ElektradConfig(
        data_dir=tmp_path / "kdb", mounts=[MountSpec.parse(f"user:/ini={tmp_path / 'a.ini'}")]
    )
    with serve_in_thread(config) as url:
        http = httpx.Client(base_url=url)
        assert http.put("/kdb/user:/app/x", content=b"new", headers=fence(30)).status_code == 200
        assert http.delete("/kdb/user:/app/gone", headers=fence(31)).status_code == 200
        assert http.put("/kdb/user:/ini/s/k", content=b"new", headers=fence(32)).status_code == 200
        http.close()
    with serve_in_thread(config) as url:
        http = httpx.Client(base_url=url)
        stale = [
            http.put("/kdb/user:/app/x", content=b"old", headers=fence(29)),
            http.put("/kdb/user:/app/gone", content=b"old", headers=fence(30)),
            http.put("/kdb/user:/ini/s/k", content=b"old", headers=fence(31)),
        ]
        assert [r.status_code for r in stale] == [412, 412, 412]
        assert http.get("/kdb/user:/app/x").json()["value"] == "new"
        assert http.get("/kdb/user:/ini/s/k").json()["value"] == "new"
        http.close()


MOUNTED = {
    "ini": "[server]\nport = 8080\n",
    "json": '{"server": {"port": "8080"}}\n',
    "toml": '[server]\nport = "8080"\n',
}


@pytest.mark.parametrize("suffix", sorted(MOUNTED))
def test_a_mounted_key_is_fenced_the_same_way(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"app.{suffix}"
    path.write_text(MOUNTED[suffix])
    daemon = start_elektrad(mounts=[f"user:/app={path}"])
    key = "user:/app/server/port"
    assert put(daemon, key, "9090", 10).status_code == 200
    assert set_meta(daemon, key, "note", "n", 10).status_code == 204
    assert_stale(put(daemon, key, "7070", 9), key, 10, 9)
    assert_stale(set_meta(daemon, key, "note", "old", 9), key, 10, 9)
    assert_stale(delete(daemon, "user:/app/server", 9), key, 10, 9)
    assert "9090" in path.read_text()
    assert value(daemon, key) == "9090"
    assert delete(daemon, key, 11).status_code == 200
    assert_stale(put(daemon, key, "late", 10), key, 11, 10)
    assert "late" not in path.read_text()
    assert value(daemon, key) is None


def test_a_mounted_file_write_that_fails_leaves_the_fence_ahead_never_behind(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fence is stored before the file is written (a failure here stands
    # for a crash in between): the retry of the same revision completes the
    # write, an older write is refused.
    path = tmp_path / "app.ini"
    path.write_text(MOUNTED["ini"])
    daemon = start_elektrad(mounts=[f"user:/app={path}"])
    key = "user:/app/server/port"
    assert put(daemon, key, "1", 10).status_code == 200

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(mounts, "atomic_replace", disk_full)
        response = put(daemon, key, "2", 12)
    assert response.status_code == 400
    assert response.json()["name"] == "MountError"
    assert value(daemon, key) == "1"
    assert_stale(put(daemon, key, "old", 11), key, 12, 11)
    assert put(daemon, key, "2", 12).status_code == 200
    assert value(daemon, key) == "2"
    assert "port = 2" in path.read_text()


def test_concurrent_fenced_writes_end_at_the_higher_revision(elektrad: Elektrad) -> None:
    def write(name: str, revision: int, barrier: threading.Barrier, out: dict[int, int]) -> None:
        with httpx.Client(base_url=elektrad.url) as http:
            barrier.wait()
            response = http.put(
                f"/kdb/{name}", content=f"r{revision}".encode(), headers=fence(revision)
            )
            out[revision] = response.status_code

    for round_ in range(20):
        name = f"user:/race/{round_}"
        barrier = threading.Barrier(2)
        statuses: dict[int, int] = {}
        order = [5, 4] if round_ % 2 else [4, 5]
        threads = [threading.Thread(target=write, args=(name, r, barrier, statuses)) for r in order]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert value(elektrad, name) == "r5"
        assert statuses[5] == 200
        assert statuses[4] in (200, 412)


def test_version_says_fencing(elektrad: Elektrad) -> None:
    assert elektrad.get("/version").json()["fencing"] is True


def test_change_feed_entries_carry_the_fence(elektrad: Elektrad) -> None:
    start = feed_revision(elektrad)
    elektrad.http.put("/kdb/user:/a", content=b"v", headers={**fence(42), "X-Operation-Id": "op-1"})
    set_meta(elektrad, "user:/a", "note", "n", 42)
    elektrad.put("user:/a", "plain")
    changes = elektrad.get("/kdbChanges", since=start).json()["changes"]
    assert [(c["op"], c.get("fence"), c.get("operation")) for c in changes] == [
        ("set", 42, "op-1"),
        ("meta", 42, None),
        ("set", None, None),
    ]


# -- a property ----------------------------------------------------------------


def test_fenced_writes_in_any_order_end_with_the_highest_revision(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    daemon = start_elektrad()
    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None)
    @given(
        st.lists(
            st.tuples(st.integers(1, 12) | st.integers(1, 2**63 - 1), st.booleans()),
            min_size=1,
            max_size=8,
        )
    )
    def check(writes: list[tuple[int, bool]]) -> None:
        """``writes``: (revision, is a delete), in the order they arrive."""
        name = f"user:/prop/{next(counter)}"
        for revision, is_delete in writes:
            if is_delete:
                response = delete(daemon, name, revision)
            else:
                response = put(daemon, name, f"r{revision}", revision)
            assert response.status_code in (200, 412), response.text
        top = max(revision for revision, _ in writes)
        # Of several writes with the highest revision (all accepted), the last wins.
        last_is_delete = [d for r, d in writes if r == top][-1]
        assert value(daemon, name) == (None if last_is_delete else f"r{top}")

    check()
