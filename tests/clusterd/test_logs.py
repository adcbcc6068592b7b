"""clusterd's ``--log-format json``, as a process: uvicorn's lines too (a
line per request at ``--log-level debug``), with the id of each GraphQL
request and the operation id of a write."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import httpx

from ..elektrad.conftest import free_port
from .api import add_instance, set_key, target
from .conftest import AUTH, Clusterd, Elektrad, spawn_clusterd


def test_clusterd_writes_json_lines_with_the_request_and_operation_ids(
    tmp_path: Path, elektrads: Callable[..., list[Elektrad]]
) -> None:
    [member] = elektrads(1)
    port = free_port()
    log = tmp_path / "clusterd.log"
    database = f"sqlite://{tmp_path / 'clusterd.sqlite3'}"
    with log.open("wb") as output:
        process = spawn_clusterd(
            port, database, "--log-level", "debug", "--log-format", "json", output=output
        )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30, headers=AUTH) as http:
            api = Clusterd(url, http)
            instance = add_instance(api, "m", member.url)
            written = set_key(api, target(instance=instance), "user:/a", "1")
            operation = written["data"]["setKey"]["operationId"]
            answer = http.post("/graphql", json={"query": "{ version { api } }"})
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert [line["method"] for line in access[-3:]] == ["POST"] * 3
    assert len({line["request_id"] for line in access}) == len(access)  # one id per request
    assert access[-1]["request_id"] == answer.headers["x-request-id"]
    # The write's line carries its operation id, which elektrad got too.
    assert [line.get("operation_id") for line in access[-3:]] == [None, operation, None]
    assert member.value("user:/a") == "1"
