"""Every row of the elektrad REST API, against a real elektrad over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from elektra_web.elektrad.app import ElektradConfig

from .conftest import Elektrad, serve_in_thread

JSON_TYPE = "application/json; charset=utf-8"


def test_version_reports_api_elektra_and_a_stable_instance_id(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    first = start_elektrad()
    response = first.get("/version")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert body["api"] == 1
    elektra = body["elektra"]
    assert elektra["version"] == f"{elektra['major']}.{elektra['minor']}.{elektra['patch']}"
    again = start_elektrad(data_dir=first.data_dir.parent / "other")
    assert again.get("/version").json()["instanceId"] != body["instanceId"]


def test_keys_and_instance_id_survive_a_restart(tmp_path: Path) -> None:
    config = ElektradConfig(data_dir=tmp_path / "kdb")
    with serve_in_thread(config) as url:
        assert httpx.put(f"{url}/kdb/user:/kept", content=b"yes").status_code == 200
        first = httpx.get(f"{url}/version").json()["instanceId"]
    with serve_in_thread(config) as url:
        assert httpx.get(f"{url}/version").json()["instanceId"] == first
        assert httpx.get(f"{url}/kdb/user:/kept").json()["value"] == "yes"


def test_missing_key_is_200_with_exists_false(elektrad: Elektrad) -> None:
    response = elektrad.get("/kdb/user/doesnotexist")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {
        "exists": False,
        "name": "doesnotexist",
        "path": "user/doesnotexist",
        "ls": [],
    }


def test_put_then_get_in_the_blueprint_spelling(elektrad: Elektrad) -> None:
    response = elektrad.put("user/hello", "hello world")
    assert response.status_code == 200
    assert response.content == b""
    assert elektrad.key("user/hello") == {
        "exists": True,
        "name": "hello",
        "path": "user/hello",
        "ls": ["user/hello"],
        "value": "hello world",
        "meta": {},
    }


def test_each_spelling_reads_what_the_other_wrote(elektrad: Elektrad) -> None:
    assert elektrad.put("user:/app/port", "8080").status_code == 200
    assert elektrad.key("user/app/port")["value"] == "8080"
    assert elektrad.key("user/app/port")["path"] == "user/app/port"
    assert elektrad.put("system/app/host", "example").status_code == 200
    key = elektrad.key("system:/app/host")
    assert (key["path"], key["value"], key["ls"]) == (
        "system:/app/host",
        "example",
        ["system:/app/host"],
    )


def test_text_body_loses_one_trailing_newline_only(elektrad: Elektrad) -> None:
    elektrad.put("user:/a", "line\n")
    elektrad.put("user:/b", "two\n\n")
    elektrad.http.put("/kdb/user:/c", content=b"crlf\r\n", headers={"content-type": "text/plain"})
    assert elektrad.key("user:/a")["value"] == "line"
    assert elektrad.key("user:/b")["value"] == "two\n"
    assert elektrad.key("user:/c")["value"] == "crlf"


def test_json_string_body_is_accepted(elektrad: Elektrad) -> None:
    response = elektrad.http.put("/kdb/user:/greeting", json="hello world\n")
    assert response.status_code == 200
    assert elektrad.key("user:/greeting")["value"] == "hello world\n"


@pytest.mark.parametrize("body", [b"42", b"{}", b"[1]", b"not json"])
def test_json_body_that_is_not_a_string_is_refused(elektrad: Elektrad, body: bytes) -> None:
    response = elektrad.http.put(
        "/kdb/user:/x", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["name"] == "BadRequest"
    assert elektrad.key("user:/x")["exists"] is False


def test_empty_value_is_a_value(elektrad: Elektrad) -> None:
    elektrad.put("user:/empty", "")
    assert elektrad.key("user:/empty")["value"] == ""


def test_ls_lists_the_key_and_everything_below_in_order(elektrad: Elektrad) -> None:
    for name in ["user:/app/b", "user:/app/a/deep", "user:/app", "user:/apple", "user:/app/#_10"]:
        elektrad.put(name, "v")
    elektrad.put("user:/app/#9", "v")
    assert elektrad.key("user:/app")["ls"] == [
        "user:/app",
        "user:/app/#9",
        "user:/app/#_10",
        "user:/app/a/deep",
        "user:/app/b",
    ]


def test_missing_parent_of_existing_keys_lists_them(elektrad: Elektrad) -> None:
    elektrad.put("user/a/b/c", "1")
    assert elektrad.key("user/a") == {
        "exists": False,
        "name": "a",
        "path": "user/a",
        "ls": ["user/a/b/c"],
    }


def test_root_lists_every_key(elektrad: Elektrad) -> None:
    elektrad.put("system:/s", "1")
    elektrad.put("user:/u", "2")
    for path in ["/kdb", "/kdb/"]:
        body = elektrad.get(path).json()
        assert body["ls"] == ["user/u", "system/s"]
        assert body["exists"] is False


def test_delete_removes_the_subtree_and_is_idempotent(elektrad: Elektrad) -> None:
    for name in ["user:/app", "user:/app/a", "user:/app/a/b", "user:/apple"]:
        elektrad.put(name, "x")
    response = elektrad.http.delete("/kdb/user/app")
    assert response.status_code == 200
    assert response.content == b""
    assert elektrad.key("user:/app") == {
        "exists": False,
        "name": "app",
        "path": "user:/app",
        "ls": [],
    }
    assert elektrad.key("user:/apple")["exists"] is True
    assert elektrad.http.delete("/kdb/user/app").status_code == 200


def test_delete_of_the_whole_database_is_refused(elektrad: Elektrad) -> None:
    response = elektrad.http.delete("/kdb/")
    assert response.status_code == 400


def test_find_returns_names_containing_the_query(elektrad: Elektrad) -> None:
    for name in ["user:/hello", "user:/helloWorld", "user:/other", "system:/x/hello"]:
        elektrad.put(name, "1")
    response = elektrad.get("/kdbFind/hello")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == ["user/hello", "user/helloWorld", "system/x/hello"]
    assert elektrad.get("/kdbFind/user:/hello").json() == ["user:/hello", "user:/helloWorld"]
    assert elektrad.get("/kdbFind/nothing").json() == []


def test_meta_is_set_shown_and_removed(elektrad: Elektrad) -> None:
    elektrad.put("user:/app/port", "8080")
    response = elektrad.http.post(
        "/kdbMeta/user/app/port", json={"key": "description", "value": "the port"}
    )
    assert response.status_code == 204
    assert elektrad.key("user/app/port")["meta"] == {"description": "the port"}
    response = elektrad.http.request(
        "DELETE", "/kdbMeta/user/app/port", json={"key": "description"}
    )
    assert response.status_code == 204
    assert elektrad.key("user/app/port")["meta"] == {}
    again = elektrad.http.request("DELETE", "/kdbMeta/user/app/port", json={"key": "description"})
    assert again.status_code == 204


def test_meta_on_a_missing_key_is_404(elektrad: Elektrad) -> None:
    response = elektrad.http.post("/kdbMeta/user:/nope", json={"key": "a", "value": "b"})
    assert response.status_code == 404
    assert response.json()["name"] == "NotFound"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"key": "a"}', b'{"key": 1, "value": "b"}', b'{"value": "b"}'],
)
def test_malformed_meta_body_is_refused(elektrad: Elektrad, body: bytes) -> None:
    elektrad.put("user:/k", "v")
    response = elektrad.http.post(
        "/kdbMeta/user:/k", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON_TYPE
    assert set(response.json()) == {"name", "message"}
    assert elektrad.key("user:/k")["meta"] == {}


def test_move_takes_the_subtree_and_its_metadata(elektrad: Elektrad) -> None:
    elektrad.put("user:/from", "root")
    elektrad.put("user:/from/child", "c")
    elektrad.http.post("/kdbMeta/user:/from/child", json={"key": "note", "value": "n"})
    response = elektrad.http.post("/kdbMv/user/from", content=b"user/to")
    assert response.status_code == 204
    assert elektrad.key("user:/from")["ls"] == []
    moved = elektrad.key("user:/to/child")
    assert (moved["value"], moved["meta"]) == ("c", {"note": "n"})
    assert elektrad.key("user:/to")["value"] == "root"


def test_copy_keeps_the_source(elektrad: Elektrad) -> None:
    elektrad.put("user:/a/x", "1")
    response = elektrad.http.post("/kdbCp/user:/a", content=b"system:/b\n")
    assert response.status_code == 204
    assert elektrad.key("user:/a/x")["value"] == "1"
    assert elektrad.key("system:/b/x")["value"] == "1"


def test_move_and_copy_refusals(elektrad: Elektrad) -> None:
    elektrad.put("user:/a/x", "1")
    missing = elektrad.http.post("/kdbMv/user:/nothing", content=b"user:/b")
    assert (missing.status_code, missing.json()["name"]) == (404, "NotFound")
    into_itself = elektrad.http.post("/kdbCp/user:/a", content=b"user:/a/x/y")
    assert into_itself.status_code == 400
    bad_target = elektrad.http.post("/kdbMv/user:/a", content=b"nonsense:/b")
    assert (bad_target.status_code, bad_target.json()["name"]) == (400, "InvalidKeyName")
    assert elektrad.key("user:/a/x")["value"] == "1"


@pytest.mark.parametrize(
    "path",
    [
        "/kdb/nonsense/x",
        "/kdb/user:/a%5C",
        "/kdb/user:/a%5Cq",
        "/kdb/user:/%23_5",
        "/kdb/user:/x/%2E%2E/%2E%2E",
    ],
)
def test_invalid_key_names_are_400_with_a_message(elektrad: Elektrad, path: str) -> None:
    for method in ["GET", "PUT", "DELETE"]:
        response = elektrad.http.request(method, path, content=b"v" if method == "PUT" else None)
        assert response.status_code == 400, (method, response.text)
        assert response.headers["content-type"] == JSON_TYPE
        body = response.json()
        assert body["name"] == "InvalidKeyName"
        assert "invalid key name" in body["message"]


def test_escaped_slash_stays_inside_one_part(elektrad: Elektrad) -> None:
    assert elektrad.http.put("/kdb/user:/dirs/a%5C/b", content=b"1").status_code == 200
    key = elektrad.key("user:/dirs/a%5C/b")
    assert (key["name"], key["path"]) == ("a/b", "user:/dirs/a\\/b")
    assert elektrad.key("user:/dirs")["ls"] == ["user:/dirs/a\\/b"]
    assert elektrad.key("user:/dirs/a")["exists"] is False


def test_dots_and_array_short_form_are_canonicalized(elektrad: Elektrad) -> None:
    elektrad.put("user:/list/./x/../%2310", "ten")
    assert elektrad.key("user:/list/%23_10")["value"] == "ten"


def test_unknown_route_and_method_get_json_errors(elektrad: Elektrad) -> None:
    missing = elektrad.get("/nope")
    assert (missing.status_code, missing.headers["content-type"]) == (404, JSON_TYPE)
    assert missing.json()["name"] == "NotFound"
    wrong = elektrad.http.post("/kdb/user:/a", content=b"x")
    assert wrong.status_code == 405
    assert wrong.json()["name"] == "MethodNotAllowed"
    assert "PUT" in wrong.headers["allow"]


def test_oversized_body_is_413_and_nothing_is_written(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    daemon = start_elektrad(max_body=1000)
    response = daemon.put("user:/big", "x" * 1001)
    assert response.status_code == 413
    assert response.json()["name"] == "PayloadTooLarge"
    assert daemon.key("user:/big")["exists"] is False

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming too
        for _ in range(20):
            yield b"x" * 100

    streamed = daemon.http.put("/kdb/user:/big", content=chunks())
    assert streamed.status_code == 413
    assert daemon.put("user:/big", "x" * 1000).status_code == 200


def test_non_utf8_body_is_refused(elektrad: Elektrad) -> None:
    response = elektrad.http.put("/kdb/user:/bin", content=b"\xff\xfe")
    assert response.status_code == 400
    assert "UTF-8" in response.json()["message"]
    assert elektrad.key("user:/bin")["exists"] is False


def test_cascading_name_resolves_in_namespace_order(elektrad: Elektrad) -> None:
    elektrad.put("default:/app/port", "1")
    elektrad.put("system:/app/port", "2")
    assert elektrad.key("/app/port")["value"] == "2"
    elektrad.put("user:/app/port", "3")
    assert elektrad.key("/app/port")["value"] == "3"
    elektrad.put("dir:/app/port", "4")
    key = elektrad.key("/app/port")
    assert (key["value"], key["path"], key["name"]) == ("4", "/app/port", "port")
    assert elektrad.key("/app")["ls"] == ["/app/port"]


def test_cascading_write_goes_to_user_when_the_key_is_new(elektrad: Elektrad) -> None:
    elektrad.put("/app/new", "v")
    assert elektrad.key("user:/app/new")["value"] == "v"
    elektrad.put("system:/app/sys", "old")
    elektrad.put("/app/sys", "new")
    assert elektrad.key("system:/app/sys")["value"] == "new"
    assert elektrad.key("user:/app/sys")["exists"] is False


def test_preload_returns_children_nested_n_levels(elektrad: Elektrad) -> None:
    elektrad.put("user:/app/a", "1")
    elektrad.put("user:/app/b/c", "2")
    body = elektrad.key("user:/app", preload=2)
    assert body["exists"] is False
    assert [c["path"] for c in body["children"]] == ["user:/app/a", "user:/app/b"]
    a, b = body["children"]
    assert a == {
        "exists": True,
        "name": "a",
        "path": "user:/app/a",
        "ls": ["user:/app/a"],
        "value": "1",
        "meta": {},
        "children": [],
    }
    assert b["exists"] is False
    assert b["ls"] == ["user:/app/b/c"]
    assert b["children"] == [
        {
            "exists": True,
            "name": "c",
            "path": "user:/app/b/c",
            "ls": ["user:/app/b/c"],
            "value": "2",
            "meta": {},
        }
    ]
    assert "children" not in elektrad.key("user:/app")


@pytest.mark.parametrize("value", ["-1", "x", "1.5", "65"])
def test_bad_preload_is_refused(elektrad: Elektrad, value: str) -> None:
    response = elektrad.get("/kdb/user:/app", preload=value)
    assert response.status_code == 400


def test_check_metadata_refuses_bad_values(elektrad: Elektrad) -> None:
    elektrad.put("user:/app/port", "80")
    elektrad.http.post("/kdbMeta/user:/app/port", json={"key": "check/type", "value": "long"})
    refused = elektrad.put("user:/app/port", "eighty")
    assert refused.status_code == 400
    assert refused.json()["name"] == "ValidationError"
    assert elektrad.key("user:/app/port")["value"] == "80"
    assert elektrad.put("user:/app/port", "8080").status_code == 200


def test_spec_metadata_checks_the_other_namespaces(elektrad: Elektrad) -> None:
    elektrad.put("spec:/app/mode", "")
    for index, allowed in enumerate(["fast", "safe"]):
        elektrad.http.post(
            "/kdbMeta/spec:/app/mode", json={"key": f"check/enum/#{index}", "value": allowed}
        )
    assert elektrad.put("user:/app/mode", "reckless").status_code == 400
    assert elektrad.put("user:/app/mode", "safe").status_code == 200


def test_malformed_check_metadata_is_refused(elektrad: Elektrad) -> None:
    elektrad.put("user:/x", "1")
    response = elektrad.http.post("/kdbMeta/user:/x", json={"key": "check/type", "value": "lng"})
    assert response.status_code == 400
    assert elektrad.key("user:/x")["meta"] == {}


def test_token_is_required_when_set(start_elektrad: Callable[..., Elektrad]) -> None:
    daemon = start_elektrad(token="s3cret")
    for headers in [{}, {"authorization": "Bearer wrong"}, {"authorization": "s3cret"}]:
        response = httpx.get(f"{daemon.url}/version", headers=headers)
        assert response.status_code == 401
        assert response.json()["name"] == "Unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    ok = httpx.get(f"{daemon.url}/version", headers={"authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_many_clients_at_once_lose_no_acknowledged_write(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    daemon = start_elektrad()

    def writer(worker: int) -> list[str]:
        with httpx.Client(base_url=daemon.url, timeout=30) as http:
            done = []
            for i in range(25):
                name = f"user:/load/w{worker}/k{i}"
                if http.put(f"/kdb/{name}", content=str(i).encode()).status_code == 200:
                    done.append(name)
                http.put("/kdb/user:/load/shared", content=f"{worker}-{i}".encode())
            return done

    with ThreadPoolExecutor(16) as pool:
        acknowledged = [n for names in pool.map(writer, range(16)) for n in names]
    assert len(acknowledged) == 16 * 25
    listed = set(daemon.key("user:/load")["ls"])
    assert set(acknowledged) <= listed
    assert daemon.key("user:/load/shared")["value"].endswith("-24")
