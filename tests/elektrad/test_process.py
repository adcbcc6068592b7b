"""elektrad as a separate process: command line, logging, SIGTERM, kill -9."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from configupdater import ConfigUpdater

from .conftest import elektrad_process, free_port


def test_sigterm_stops_cleanly_and_every_request_is_logged_at_debug(tmp_path: Path) -> None:
    # Requests are logged at debug (the default, info, keeps to start, stop and writes).
    data = str(tmp_path / "kdb")
    with elektrad_process("--data-dir", data, "--log-level", "debug") as (process, url):
        httpx.put(f"{url}/kdb/user:/a", content=b"1")
        httpx.get(f"{url}/kdb/user:/nonsense%5Cx")
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so that a
        # supervisor sees why the process ended.
        assert process.wait(10) in (0, -signal.SIGTERM)
        assert process.stdout is not None
        log = process.stdout.read().decode()
    assert "elektrad stopped: key database closed" in log
    assert '"PUT /kdb/user:/a" 200' in log
    assert '"GET /kdb/user:/nonsense%5Cx" 400' in log
    assert "Traceback" not in log


def test_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "elektra_web.elektrad", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in result.stderr


@pytest.mark.parametrize(
    "mount", ["user:/app", "user:/app=/x.yaml", "nonsense:/x=/x.ini", "/cascading=/x.ini"]
)
def test_a_bad_mount_option_is_a_usage_error(mount: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "elektra_web.elektrad", "--mount", mount],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--mount" in result.stderr


@pytest.mark.parametrize("how", ["--token-file", "--token", "ELEKTRAD_TOKEN"])
def test_the_token_is_required_on_every_request(tmp_path: Path, how: str) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    port = free_port()
    given = {
        "--token-file": ["--token-file", str(token)],
        "--token": ["--token", "t0ken"],
        "ELEKTRAD_TOKEN": [],
    }[how]
    env = {**os.environ, "ELEKTRAD_TOKEN": "t0ken"} if how == "ELEKTRAD_TOKEN" else None
    process = subprocess.Popen(
        [
            sys.executable, "-m", "elektra_web.elektrad", "--port", str(port),
            "--data-dir", str(tmp_path / "kdb"), *given,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                response = httpx.get(f"{url}/version", timeout=1)
                break
            except httpx.TransportError:
                threading.Event().wait(0.05)
        assert response.status_code == 401
        ok = httpx.get(f"{url}/version", headers={"authorization": "Bearer t0ken"})
        assert ok.status_code == 200
    finally:
        process.kill()
        process.wait()


def test_a_second_daemon_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "kdb")
    with elektrad_process("--data-dir", data_dir):
        result = subprocess.run(
            [sys.executable, "-m", "elektra_web.elektrad", "--data-dir", data_dir,
             "--port", str(free_port())],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert result.returncode == 1
    assert "another elektrad is using the data directory" in result.stderr


@pytest.mark.slow
def test_kill_9_during_writes_never_tears_a_file(tmp_path: Path) -> None:
    """Write in a loop, kill -9 at a random moment, check what is on disk;
    five times over. Both the mounted file and the default store must hold a
    value that was acknowledged (or the one in flight), and parse."""
    ini = tmp_path / "app.ini"
    ini.write_text("# counter file\n[s]\ncounter = 0\n")
    data_dir = tmp_path / "kdb"
    rng = random.Random(1234)
    for _ in range(5):
        acked = {"mount": 0, "store": 0}
        args = ("--data-dir", str(data_dir), "--mount", f"user:/app={ini}")
        with elektrad_process(*args) as (process, url):
            first = int(httpx.get(f"{url}/kdb/user:/app/s/counter").json()["value"])
            killer = threading.Timer(rng.uniform(0.2, 0.8), process.kill)
            killer.start()
            sent = first
            with httpx.Client(base_url=url, timeout=5) as http:
                try:
                    while True:
                        sent += 1
                        http.put("/kdb/user:/app/s/counter", content=str(sent).encode())
                        acked["mount"] = sent
                        http.put("/kdb/user:/counter", content=str(sent).encode())
                        acked["store"] = sent
                except httpx.TransportError:
                    pass
            killer.join()
            process.wait(10)
        assert acked["mount"] > first, "no write landed before the kill; the test proved nothing"
        parsed = ConfigUpdater()
        parsed.read_string(ini.read_text())  # parses: not torn
        on_disk = int(parsed["s"]["counter"].value)
        assert acked["mount"] <= on_disk <= sent
        assert ini.read_text().startswith("# counter file\n")
        with elektrad_process(*args) as (_, url):
            stored = int(httpx.get(f"{url}/kdb/user:/counter").json().get("value", "0"))
            assert acked["store"] <= stored <= sent
            leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            assert leftovers == []
