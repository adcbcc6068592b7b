"""elektrad's ``--log-format json``, as a process."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx

from .conftest import elektrad_process


def run_elektrad(
    tmp_path: Path, *args: str
) -> tuple[list[dict[str, Any]], httpx.Response, httpx.Response]:
    """elektrad's JSON lines while it is written to, read and probed once
    each, then stopped; and the answers of the write and the read."""
    with elektrad_process("--data-dir", str(tmp_path / "kdb"), "--log-format", "json", *args) as (
        process,
        url,
    ):
        put = httpx.put(f"{url}/kdb/user:/a", content=b"1", headers={"X-Operation-Id": "op-7"})
        get = httpx.get(f"{url}/kdb/user:/a")
        assert httpx.get(f"{url}/healthz").status_code == 200
        process.send_signal(signal.SIGTERM)
        process.wait(10)
        assert process.stdout is not None
        output = process.stdout.read().decode()
    lines = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    return lines, put, get


def test_elektrad_writes_json_lines_with_the_request_and_operation_ids(tmp_path: Path) -> None:
    lines, put, _ = run_elektrad(tmp_path)
    loggers = {line["logger"] for line in lines}
    assert "elektra_web.elektrad" in loggers
    requests = [line for line in lines if '"PUT /kdb/user:/a" 200' in line["message"]]
    assert [(r["request_id"], r["operation_id"]) for r in requests] == [
        (put.headers["x-request-id"], "op-7")
    ]
    assert (requests[0]["method"], requests[0]["path"], requests[0]["status"]) == (
        "PUT",
        "/kdb/user:/a",
        200,
    )
    assert requests[0]["duration_ms"] >= 0
    # At the default level: a line per change, none per read or probe (long
    # polls, health checks), and none of uvicorn's start-up steps.
    assert not [line for line in lines if '"GET ' in line["message"]]
    assert not [
        line for line in lines if line["level"] == "info" and line["logger"] == "uvicorn.error"
    ]


def test_elektrad_logs_reads_and_probes_at_debug(tmp_path: Path) -> None:
    lines, _, get = run_elektrad(tmp_path, "--log-level", "debug")
    reads = [line for line in lines if '"GET /kdb/user:/a" 200' in line["message"]]
    assert [(r["request_id"], r["level"]) for r in reads] == [
        (get.headers["x-request-id"], "debug")
    ]
    assert "operation_id" not in reads[0]
    assert [line for line in lines if "/healthz" in line["message"]]
    assert {"elektra_web.elektrad", "uvicorn.error"} <= {line["logger"] for line in lines}
