"""elektrad's /healthz, /readyz and /metrics: who may read them, that Prometheus can
parse what they say, and that the numbers move with what happens."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx

from elektra_web.elektrad.app import ElektradConfig, create_app

from ..support.metrics import Samples, parse
from .conftest import Elektrad

TOKEN = "a-token-for-elektrad"


def scrape(daemon: Elektrad, **headers: str) -> Samples:
    response = daemon.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.text)


def test_health_needs_no_token_even_when_elektrad_has_one(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    daemon = start_elektrad(token=TOKEN)
    alive = daemon.get("/healthz")
    assert (alive.status_code, alive.text) == (200, "ok\n")
    ready = daemon.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {"started": "ok", "data_dir": "ok", "mounts": "ok"},
    }
    assert daemon.get("/kdb").status_code == 401  # everything else still needs it


def test_metrics_need_the_token_when_elektrad_has_one(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    daemon = start_elektrad(token=TOKEN)
    assert daemon.get("/metrics").status_code == 401
    samples = scrape(daemon, Authorization=f"Bearer {TOKEN}")
    assert samples.value("elektrad_refusals_total", reason="Unauthorized") == 1
    assert samples.value("elektrad_http_requests_total", route="none", method="GET", status="401")


def _get_metrics(config: ElektradConfig, client: str, **headers: str) -> int:
    """GET /metrics from a client at this address (through the ASGI app)."""

    async def get() -> int:
        transport = httpx.ASGITransport(app=create_app(config), client=(client, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://elektrad") as http:
            return (await http.get("/metrics", headers=headers)).status_code

    return asyncio.run(get())


def test_metrics_without_a_token_are_for_this_machine_only(tmp_path: Path) -> None:
    open_config = ElektradConfig(data_dir=tmp_path / "open")
    assert _get_metrics(open_config, "127.0.0.1") == 200
    assert _get_metrics(open_config, "::1") == 200
    assert _get_metrics(open_config, "192.0.2.10") == 403
    closed_config = ElektradConfig(data_dir=tmp_path / "closed", token=TOKEN)
    assert _get_metrics(closed_config, "192.0.2.10") == 401
    assert _get_metrics(closed_config, "192.0.2.10", Authorization=f"Bearer {TOKEN}") == 200


def test_writes_refusals_and_file_writes_are_counted(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    ini = tmp_path / "app.ini"
    ini.write_text("[server]\nport = 80\n")
    daemon = start_elektrad(mounts=[f"system:/app={ini}"])
    before = scrape(daemon)
    assert daemon.put("system:/app/server/port", "8080").status_code == 200
    assert daemon.put("user:/mode", "fast").status_code == 200
    meta = {"key": "check/type", "value": "long"}
    assert daemon.http.post("/kdbMeta/user:/port", json=meta).status_code == 404
    assert daemon.put("user:/port", "80").status_code == 200
    assert daemon.http.post("/kdbMeta/user:/port", json=meta).status_code == 204
    refused = daemon.put("user:/port", "eighty")
    assert refused.json()["name"] == "ValidationError"
    after = scrape(daemon)

    def grew(name: str, **labels: str) -> float:
        return after.total(name, **labels) - before.total(name, **labels)

    assert grew("elektrad_writes_total", outcome="applied") == 4
    assert grew("elektrad_writes_total", outcome="refused") == 2
    assert grew("elektrad_refusals_total", reason="ValidationError") == 1
    assert grew("elektrad_refusals_total", reason="NotFound") == 1
    put = {"route": "/kdb/{path}", "method": "PUT"}
    assert grew("elektrad_http_requests_total", status="200", **put) == 3
    assert grew("elektrad_http_requests_total", status="400", **put) == 1
    assert grew("elektrad_file_write_duration_seconds_count", target="mount") == 1
    assert grew("elektrad_file_write_duration_seconds_count", target="store") >= 3
    revision = daemon.get("/kdbChanges", since="0").json()["revision"]
    assert after.value("elektrad_feed_revision") == revision
    assert after.value("elektrad_mounts", status="ok") == 1


def test_a_broken_mount_is_reported_and_elektrad_stays_ready(
    start_elektrad: Callable[..., Elektrad], tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.ini", tmp_path / "bad.json"
    good.write_text("[a]\nb = 1\n")
    bad.write_text("{ not json")
    daemon = start_elektrad(mounts=[f"system:/good={good}", f"system:/bad={bad}"])
    assert daemon.get("/readyz").status_code == 200
    samples = scrape(daemon)
    assert samples.value("elektrad_mounts", status="broken") == 1
    assert samples.value("elektrad_mount_broken", prefix="system:/bad", format="json") == 1
    assert samples.value("elektrad_mount_broken", prefix="system:/good", format="ini") == 0


def test_not_ready_when_the_data_directory_cannot_take_a_file(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    daemon = start_elektrad()
    assert daemon.get("/readyz").status_code == 200
    # Gone (a disk unmounted, a wrong clean-up): the tests run as root, whom a
    # mode without w would not stop.
    shutil.rmtree(daemon.data_dir)
    refused = daemon.get("/readyz")
    assert refused.status_code == 503
    assert refused.json() == {
        "status": "fail",
        "checks": {"started": "ok", "data_dir": "fail", "mounts": "ok"},
    }
    assert daemon.get("/healthz").status_code == 200
    daemon.data_dir.mkdir()
    assert daemon.get("/readyz").status_code == 200


def test_each_elektrad_counts_only_its_own_requests(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    """Several daemons in one process (as in the tests): a registry each."""
    one, two = start_elektrad(), start_elektrad()
    one.put("user:/a", "1")
    one.put("user:/b", "2")
    two.put("user:/a", "1")
    assert scrape(one).value("elektrad_writes_total", outcome="applied") == 2
    assert scrape(two).value("elektrad_writes_total", outcome="applied") == 1


def test_without_metrics_health_is_still_served(start_elektrad: Callable[..., Elektrad]) -> None:
    daemon = start_elektrad(metrics=False)
    assert daemon.get("/metrics").status_code == 404
    assert daemon.get("/readyz").status_code == 200
    assert daemon.put("user:/a", "1").status_code == 200


def test_a_made_up_method_is_counted_as_other(start_elektrad: Callable[..., Elektrad]) -> None:
    daemon = start_elektrad()
    assert daemon.http.request("BREW", "/kdb/user:/a").status_code == 405
    samples = scrape(daemon)
    assert (
        samples.value(
            "elektrad_http_requests_total", route="/kdb/{path}", method="other", status="405"
        )
        == 1
    )
