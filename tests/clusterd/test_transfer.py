"""exportConfig and importConfig (and ``elektra-web export`` / ``import``):
a subtree with metadata as JSON, TOML or INI, round-tripped through real
elektrads and a real clusterd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support.waiting import wait_until
from .api import add_instance, assign, create_cluster, error_code, results, set_key, target
from .conftest import ADMIN_TOKEN, Clusterd, Elektrad

FORMATS = ["JSON", "TOML", "INI"]

EXPORT = (
    "query($t: Target!, $p: String!, $f: ConfigFormat!) "
    "{ exportConfig(target: $t, pathPrefix: $p, format: $f) { content keys format } }"
)
IMPORT = (
    "mutation($t: Target!, $p: String!, $f: ConfigFormat!, $c: String!, $m: ImportMode!, "
    "$d: Boolean!) { importConfig(target: $t, pathPrefix: $p, format: $f, content: $c, "
    "mode: $m, dryRun: $d) { dryRun operationId "
    "changes { path before { value meta { key value } } after { value meta { key value } } } "
    "results { delivery error instance { name } } } }"
)

#: Awkward names and values: unicode, "=", ";", "#", line breaks, empty values,
#: an escaped "/" in a name, leading spaces.
AWKWARD = {
    "user:/app": "root value",
    "user:/app/empty": "",
    "user:/app/ünïcödé ✓": "wert → 值",
    "user:/app/a=b;c #d": "x = 1; y # not a comment",
    "user:/app/multi": "line one\nline two\n\nafter an empty line",
    "user:/app/spaces": "  leading and trailing  ",
    "user:/app/sl\\/ash/deep/er": '"quoted" \\ back',
}
META = {
    ("user:/app/multi", "description"): "a\nmulti-line = description; #1",
    ("user:/app/ünïcödé ✓", "note/ü"): "",
    ("user:/app", "check/type"): "string",
}


def export(clusterd: Clusterd, where: dict[str, str], fmt: str, path: str = "user:/app") -> str:
    data = clusterd.ok(EXPORT, t=where, p=path, f=fmt)["exportConfig"]
    assert data["format"] == fmt
    content: str = data["content"]
    return content


def import_(
    clusterd: Clusterd,
    where: dict[str, str],
    fmt: str,
    content: str,
    mode: str = "REPLACE",
    *,
    dry_run: bool = False,
    path: str = "user:/app",
) -> dict[str, Any]:
    return clusterd.query(IMPORT, t=where, p=path, f=fmt, c=content, m=mode, d=dry_run)


def fill(clusterd: Clusterd, where: dict[str, str]) -> None:
    for path, value in AWKWARD.items():
        assert not set_key(clusterd, where, path, value).get("errors")
    for (path, key), value in META.items():
        clusterd.ok(
            "mutation($t: Target!, $p: String!, $k: String!, $v: String!) "
            "{ setMeta(target: $t, path: $p, key: $k, value: $v) { operationId } }",
            t=where,
            p=path,
            k=key,
            v=value,
        )


def keys_of(clusterd: Clusterd, where: dict[str, str], path: str = "user:/app") -> dict[str, Any]:
    """``{path: {"value": ..., "meta": {...}}}`` below ``path``, from a JSON export."""
    content = json.loads(export(clusterd, where, "JSON", path))
    prefix = path.rstrip("/")
    return {(prefix + "/" + k if k else prefix): v for k, v in content.items()}


def two_instances(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> tuple[str, str, list[Elektrad]]:
    daemons = elektrads(2)
    return (
        add_instance(clusterd, "source", daemons[0].url),
        add_instance(clusterd, "copy", daemons[1].url),
        daemons,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_import_export_round_trips_values_and_metadata(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]], fmt: str
) -> None:
    source, copy, daemons = two_instances(clusterd, elektrads)
    fill(clusterd, target(instance=source))
    set_key(clusterd, target(instance=copy), "user:/app/stale", "goes away")
    set_key(clusterd, target(instance=copy), "user:/elsewhere", "stays")
    exported = clusterd.ok(EXPORT, t=target(instance=source), p="user:/app", f=fmt)
    assert exported["exportConfig"]["keys"] == len(AWKWARD)
    content = exported["exportConfig"]["content"]

    response = import_(clusterd, target(instance=copy), fmt, content)
    assert results(response, "importConfig") == {"copy": "APPLIED"}
    assert export(clusterd, target(instance=copy), fmt) == content
    copied = keys_of(clusterd, target(instance=copy))
    for path, value in AWKWARD.items():
        assert copied[path]["value"] == value, path
    for (path, key), value in META.items():
        assert copied[path]["meta"][key] == value, (path, key)
    assert "user:/app/stale" not in copied
    assert daemons[1].value("user:/elsewhere") == "stays"
    # Again: nothing left to change, nothing written.
    again = import_(clusterd, target(instance=copy), fmt, content)["data"]["importConfig"]
    assert again == {"dryRun": False, "operationId": None, "changes": [], "results": []}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_mounted_json_file_round_trips_into_another_mounted_file(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path, fmt: str
) -> None:
    source_file, copy_file = tmp_path / "source.json", tmp_path / "copy.json"
    source_file.write_text(
        json.dumps({"server": {"port": "80", "hosts": ["a", "b"]}, "name": "x y"})
    )
    copy_file.write_text("{}")
    (source,) = elektrads(1, [f"user:/app={source_file}"])
    (copy,) = elektrads(1, [f"user:/app={copy_file}"])
    source_id = add_instance(clusterd, "source", source.url)
    copy_id = add_instance(clusterd, "copy", copy.url)
    content = export(clusterd, target(instance=source_id), fmt)
    response = import_(clusterd, target(instance=copy_id), fmt, content)
    assert results(response, "importConfig") == {"copy": "APPLIED"}
    assert export(clusterd, target(instance=copy_id), fmt) == content
    assert json.loads(copy_file.read_text()) == json.loads(source_file.read_text())


def test_an_export_names_keys_below_the_path_and_puts_metadata_beside_the_value(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    source, _, _ = two_instances(clusterd, elektrads)
    where = target(instance=source)
    set_key(clusterd, where, "user:/app/port", "80")
    clusterd.ok(
        'mutation($t: Target!) { setMeta(target: $t, path: "user:/app/port", '
        'key: "check/type", value: "long") { operationId } }',
        t=where,
    )
    assert json.loads(export(clusterd, where, "JSON")) == {
        "port": {"value": "80", "meta": {"check/type": "long"}}
    }
    assert '["port".meta]\n"check/type" = "long"\n' in export(clusterd, where, "TOML")
    assert '["port"]\nvalue = "80"\nmeta "check/type" = "long"\n' in export(clusterd, where, "INI")


def test_merge_keeps_the_rest_and_replace_removes_it(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    instance, _, _ = two_instances(clusterd, elektrads)
    where = target(instance=instance)
    set_key(clusterd, where, "user:/app/kept", "k")
    set_key(clusterd, where, "user:/app/port", "80")
    clusterd.ok(
        'mutation($t: Target!) { setMeta(target: $t, path: "user:/app/port", key: "note", '
        'value: "old") { operationId } }',
        t=where,
    )
    content = json.dumps({"port": {"value": "81", "meta": {"description": "new"}}})

    merged = import_(clusterd, where, "JSON", content, "MERGE")
    assert results(merged, "importConfig") == {"source": "APPLIED"}
    assert keys_of(clusterd, where) == {
        "user:/app/kept": {"value": "k"},
        "user:/app/port": {"value": "81", "meta": {"description": "new", "note": "old"}},
    }

    replaced = import_(clusterd, where, "JSON", content, "REPLACE")["data"]["importConfig"]
    assert [c["path"] for c in replaced["changes"]] == ["user:/app/kept", "user:/app/port"]
    assert replaced["changes"][0]["after"] is None
    assert keys_of(clusterd, where) == {
        "user:/app/port": {"value": "81", "meta": {"description": "new"}}
    }


def test_a_dry_run_returns_the_plan_and_writes_nothing(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    instance, _, daemons = two_instances(clusterd, elektrads)
    where = target(instance=instance)
    set_key(clusterd, where, "user:/app/port", "80")
    set_key(clusterd, where, "user:/app/old", "o")
    content = json.dumps({"port": {"value": "81"}, "new": {"value": "n", "meta": {"a": "b"}}})

    plan = import_(clusterd, where, "JSON", content, dry_run=True)["data"]["importConfig"]
    assert plan == {
        "dryRun": True,
        "operationId": None,
        "results": [],
        "changes": [
            {"path": "user:/app/old", "before": {"value": "o", "meta": []}, "after": None},
            {
                "path": "user:/app/new",
                "before": None,
                "after": {"value": "n", "meta": [{"key": "a", "value": "b"}]},
            },
            {
                "path": "user:/app/port",
                "before": {"value": "80", "meta": []},
                "after": {"value": "81", "meta": []},
            },
        ],
    }
    assert daemons[0].value("user:/app/port") == "80"
    assert daemons[0].value("user:/app/old") == "o"
    assert keys_of(clusterd, where) == {
        "user:/app/old": {"value": "o"},
        "user:/app/port": {"value": "80"},
    }


@pytest.mark.parametrize(
    ("fmt", "content", "line", "column"),
    [
        ("JSON", '{\n  "port": {"value": "81"},\n  "x": {"value": 5,}\n}', 3, 20),
        ("TOML", '["port"]\nvalue = "81"\n\n["x"]\nvalue = unquoted\n', 5, 9),
        ("INI", '["port"]\nvalue = "81"\n["x"]\nvalue = unquoted\n', 4, 9),
    ],
)
def test_malformed_content_is_refused_with_its_position_and_nothing_written(
    clusterd: Clusterd,
    elektrads: Callable[[int], list[Elektrad]],
    fmt: str,
    content: str,
    line: int,
    column: int,
) -> None:
    instance, _, daemons = two_instances(clusterd, elektrads)
    where = target(instance=instance)
    set_key(clusterd, where, "user:/app/port", "80")
    response = import_(clusterd, where, fmt, content)
    assert error_code(response) == "BAD_INPUT"
    error = response["errors"][0]
    assert error["extensions"]["line"] == line
    assert error["extensions"]["column"] == column
    assert f"line {line}, column {column}" in error["message"]
    assert daemons[0].value("user:/app/port") == "80"


def test_content_of_the_wrong_shape_is_refused_naming_the_entry(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    instance, _, _ = two_instances(clusterd, elektrads)
    response = import_(clusterd, target(instance=instance), "JSON", '{"port": {"value": 81}}')
    assert error_code(response) == "BAD_INPUT"
    assert "'port'" in response["errors"][0]["message"]


def test_content_over_the_limit_is_refused(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    instance, _, _ = two_instances(clusterd, elektrads)
    content = json.dumps({"big": {"value": "x" * (10 * 1024 * 1024)}})
    response = import_(clusterd, target(instance=instance), "JSON", content)
    assert error_code(response) == "BAD_INPUT"
    assert "10 MiB" in response["errors"][0]["message"]


def test_a_cluster_import_reaches_every_member(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    daemons = elektrads(2)
    cluster = create_cluster(clusterd, "prod")
    instances = [add_instance(clusterd, f"prod-{n}", d.url) for n, d in enumerate(daemons)]
    for instance in instances:
        assign(clusterd, cluster, instance)
    where = target(cluster=cluster)
    set_key(clusterd, where, "user:/app/old", "o")
    content = '["port"]\nvalue = "8080"\nmeta "check/type" = "long"\n\n["host"]\nvalue = "h"\n'

    response = import_(clusterd, where, "INI", content)
    # APPLIED within --write-wait, or PENDING on a loaded machine; delivered either way.
    assert set(results(response, "importConfig").values()) <= {"APPLIED", "PENDING"}
    for daemon in daemons:
        wait_until(
            lambda d=daemon: (
                (d.value("user:/app/port"), d.value("user:/app/host"), d.value("user:/app/old"))
                == ("8080", "h", None)
            ),
            what="the import delivered",
        )
    for instance in instances:
        member = keys_of(clusterd, target(instance=instance))
        assert member["user:/app/port"] == {"value": "8080", "meta": {"check/type": "long"}}
    assert keys_of(clusterd, where) == {
        "user:/app/host": {"value": "h"},
        "user:/app/port": {"value": "8080", "meta": {"check/type": "long"}},
    }
    # The cluster's export imports back to nothing to do.
    again = import_(clusterd, where, "TOML", export(clusterd, where, "TOML"))
    assert again["data"]["importConfig"]["changes"] == []


def test_a_locked_key_on_a_member_refuses_the_import_and_nothing_is_written(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    cluster = create_cluster(clusterd, "prod")
    instance = add_instance(clusterd, "prod-0", daemon.url)
    assign(clusterd, cluster, instance)
    set_key(clusterd, target(cluster=cluster), "user:/app/port", "8080")
    content = json.dumps({"own": {"value": "mine"}, "port": {"value": "1"}})
    for mode in ("MERGE", "REPLACE"):
        response = import_(clusterd, target(instance=instance), "JSON", content, mode)
        assert error_code(response) == "KEY_LOCKED"
        assert response["errors"][0]["extensions"]["cluster"] == "prod"
    # REPLACE would delete it: refused too.
    response = import_(clusterd, target(instance=instance), "JSON", '{"own": {"value": "x"}}')
    assert error_code(response) == "KEY_LOCKED"
    assert daemon.value("user:/app/port") == "8080"
    assert daemon.value("user:/app/own") is None


def test_a_viewer_may_export_but_not_import(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    instance, _, daemons = two_instances(clusterd, elektrads)
    where = target(instance=instance)
    set_key(clusterd, where, "user:/app/port", "80")
    secret = clusterd.ok('mutation { createToken(input: {name: "v", role: VIEWER}) { secret } }')[
        "createToken"
    ]["secret"]
    viewer = clusterd.as_(secret)
    content = export(viewer, where, "JSON")
    response = import_(viewer, where, "JSON", content.replace("80", "81"))
    assert error_code(response) == "FORBIDDEN"
    response = import_(viewer, where, "JSON", content, dry_run=True)
    assert error_code(response) == "FORBIDDEN"
    assert daemons[0].value("user:/app/port") == "80"


def test_the_audit_log_keeps_the_contents_digest_not_the_content(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    instance, _, _ = two_instances(clusterd, elektrads)
    content = json.dumps({"port": {"value": "secret-ish value"}})
    response = import_(clusterd, target(instance=instance), "JSON", content)
    operation = response["data"]["importConfig"]["operationId"]
    entry = clusterd.ok("{ auditLog(first: 1) { action arguments operationId } }")["auditLog"][0]
    assert entry["action"] == "importConfig"
    assert entry["operationId"] == operation
    assert "secret-ish" not in json.dumps(entry["arguments"])
    assert entry["arguments"]["content"].startswith(f"{len(content)} bytes, sha256 ")


def cli(
    clusterd: Clusterd, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ELEKTRA_WEB_TOKEN": ADMIN_TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "elektra_web", *args, "--url", clusterd.url],
        input=stdin,
        capture_output=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )


def test_the_cli_exports_and_imports_through_clusterd(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    source, copy, daemons = two_instances(clusterd, elektrads)
    fill(clusterd, target(instance=source))
    exported = cli(clusterd, "export", "--target", "instance:source", "--path", "user:/app",
                   "--format", "toml")  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == export(clusterd, target(instance=source), "TOML")

    common = ["--target", f"instance:{copy}", "--path", "user:/app", "--format", "toml"]
    dry = cli(clusterd, "import", *common, "--mode", "replace", "--dry-run", stdin=exported.stdout)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.endswith(f"dry run: {len(AWKWARD)} keys would change; nothing written\n")
    assert f"  copy: would change {len(AWKWARD)} keys\n" in dry.stdout
    assert daemons[1].value("user:/app/empty") is None

    done = cli(clusterd, "import", *common, "--mode", "replace", "-", stdin=exported.stdout)
    assert done.returncode == 0, done.stderr
    assert "copy: APPLIED" in done.stdout
    assert export(clusterd, target(instance=copy), "TOML") == exported.stdout

    bad = cli(clusterd, "import", *common, "--mode", "merge", stdin='["x"]\nvalue = nope\n')
    assert bad.returncode == 2
    assert "line 2, column 9" in bad.stderr
    missing = cli(clusterd, "export", "--target", "cluster:nope", "--path", "user:/app")
    assert missing.returncode == 2
    assert "no cluster" in missing.stderr
    unauthorized = subprocess.run(
        [sys.executable, "-m", "elektra_web", "export", "--url", clusterd.url,
         "--target", f"instance:{copy}", "--path", "user:/app"],
        capture_output=True, encoding="utf-8", timeout=60, check=False,
        env={k: v for k, v in os.environ.items() if k != "ELEKTRA_WEB_TOKEN"},
    )  # fmt: skip
    assert unauthorized.returncode == 3, unauthorized.stderr


def test_the_cli_import_to_a_cluster_names_the_member_that_would_refuse(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    strict, lenient = elektrads(2)
    cluster = create_cluster(clusterd, "prod")
    assign(clusterd, cluster, add_instance(clusterd, "strict", strict.url))
    assign(clusterd, cluster, add_instance(clusterd, "lenient", lenient.url))
    httpx.put(f"{strict.url}/kdb/user:/app/port", content=b"80")
    httpx.post(f"{strict.url}/kdbMeta/user:/app/port", json={"key": "check/type", "value": "long"})
    content = '{"port": {"value": "eighty"}}'
    common = ["--target", "cluster:prod", "--path", "user:/app", "--format", "json"]

    dry = cli(clusterd, "import", *common, "--mode", "merge", "--dry-run", stdin=content)
    assert dry.returncode == 1, dry.stderr
    assert "  lenient: would change 1 key\n" in dry.stdout
    assert "  strict: would refuse (VALIDATION): " in dry.stdout

    refused = cli(clusterd, "import", *common, "--mode", "merge", stdin=content)
    assert refused.returncode == 2
    assert "1 of 2 members would refuse" in refused.stderr and "strict" in refused.stderr
    assert lenient.value("user:/app/port") is None

    forced = cli(clusterd, "import", *common, "--mode", "merge", "--force", stdin=content)
    assert forced.returncode == 1  # the member refused it: said, and the exit status
    assert "strict: FAILED" in forced.stdout
    assert lenient.value("user:/app/port") == "eighty"
    assert strict.value("user:/app/port") == "80"
