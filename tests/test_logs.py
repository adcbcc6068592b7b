"""``--log-format json``: one JSON object per line (``elektra_web/logs.py``)."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from elektra_web.logs import OPERATION_ID, REQUEST_ID, JsonFormatter, RequestIds

from .support import servers


def record(
    name: str, message: str, *args: object, exc_info: logging._SysExcInfoType | None = None
) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_json_line_has_time_level_logger_message_and_the_ids_when_known() -> None:
    formatter = JsonFormatter()
    outside = json.loads(formatter.format(record("elektra_web.engine", "%d pending", 3)))
    assert set(outside) == {"time", "level", "logger", "message"}
    assert outside["level"] == "warning"
    assert outside["logger"] == "elektra_web.engine"
    assert outside["message"] == "3 pending"
    time = dt.datetime.fromisoformat(outside["time"])
    assert time.utcoffset() == dt.timedelta(0) and outside["time"].endswith("Z")

    def inside() -> dict[str, object]:
        REQUEST_ID.set("r-1")
        OPERATION_ID.set("op-2")
        entry: dict[str, object] = json.loads(formatter.format(record("x", 'a "quote"\nand')))
        return entry

    entry = contextvars.copy_context().run(inside)
    assert (entry["request_id"], entry["operation_id"]) == ("r-1", "op-2")
    assert entry["message"] == 'a "quote"\nand'


def test_an_exception_goes_into_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("x", "failed", exc_info=sys.exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert entry["message"] == "failed"
    assert "ValueError: boom" in entry["exception"]


def test_uvicorn_access_lines_carry_their_fields() -> None:
    access = record(
        "uvicorn.access", '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/x", "1.1", 200
    )
    entry = json.loads(JsonFormatter().format(access))
    assert entry["message"] == '127.0.0.1:5 - "GET /x HTTP/1.1" 200'
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/x", 200)


def test_each_request_gets_an_id_in_its_log_lines_and_its_answer() -> None:
    seen: list[tuple[str | None, str | None]] = []

    async def endpoint(request: Request) -> PlainTextResponse:
        seen.append((REQUEST_ID.get(), OPERATION_ID.get()))
        return PlainTextResponse("ok")

    app = RequestIds(Starlette(routes=[Route("/", endpoint)]), operation_header=True)
    with servers.serve_in_thread(app) as url:
        first = httpx.get(url)
        second = httpx.get(url, headers={"X-Request-Id": "client-chosen.1", "X-Operation-Id": "o1"})
        odd = httpx.get(url, headers={"X-Request-Id": 'a" "level": "fake'})
        long = httpx.get(url, headers={"X-Request-Id": "x" * 65})
    assert first.headers["x-request-id"] == seen[0][0]
    assert seen[0][1] is None
    assert seen[1] == ("client-chosen.1", "o1")
    assert second.headers["x-request-id"] == "client-chosen.1"
    # Only a short id of plain characters is taken as it is.
    assert odd.headers["x-request-id"] == seen[2][0] != 'a" "level": "fake'
    assert long.headers["x-request-id"] == seen[3][0] != "x" * 65
    assert len({ids[0] for ids in seen}) == 4
