"""elektrad's ``--log-format json``, as a process."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx

from .conftest import elektrad_process


def test_elektrad_writes_json_lines_with_the_request_and_operation_ids(tmp_path: Path) -> None:
    args = ("--data-dir", str(tmp_path / "kdb"), "--log-format", "json")
    with elektrad_process(*args) as (process, url):
        put = httpx.put(f"{url}/kdb/user:/a", content=b"1", headers={"X-Operation-Id": "op-7"})
        get = httpx.get(f"{url}/kdb/user:/a")
        assert httpx.get(f"{url}/healthz").status_code == 200
        process.send_signal(signal.SIGTERM)
        process.wait(10)
        assert process.stdout is not None
        output = process.stdout.read().decode()
    lines = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    loggers = {line["logger"] for line in lines}
    assert {"elektra_web.elektrad", "uvicorn.error"} <= loggers
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
    reads = [line for line in lines if '"GET /kdb/user:/a" 200' in line["message"]]
    assert [r["request_id"] for r in reads] == [get.headers["x-request-id"]]
    assert "operation_id" not in reads[0]
    # Probes of a load balancer are logged at debug only, not at the default level.
    assert not [line for line in lines if "/healthz" in line["message"]]
