"""``elektra-web up``: this machine's elektrad and clusterd, and a sign-in
link for the first admin, shown once."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..elektrad.conftest import free_port
from .conftest import Clusterd


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ELEKTRA_WEB_"))}
    return {**env, "HOME": str(home)}


def up(
    home: Path, port: int, output: Path, log_level: str | None = "warning"
) -> subprocess.Popen[bytes]:
    level = ["--log-level", log_level] if log_level else []
    with output.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "elektra_web", *level, "up",
             "--port", str(port), "--elektrad-port", str(free_port())],
            env=environment(home),
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def wait_until_serving(url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    """Until ``up`` says it is up, which it does once clusterd is ready."""
    deadline = time.monotonic() + 60
    while "Elektra Web is up" not in output.read_text():
        assert process.poll() is None, output.read_text()
        assert time.monotonic() < deadline, output.read_text()
        time.sleep(0.1)
    assert httpx.get(f"{url}/readyz").status_code == 200


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_up_prints_a_sign_in_link_for_the_first_admin_once(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first_output = tmp_path / "first.log"
    process = up(tmp_path, port, first_output)
    try:
        wait_until_serving(url, process, first_output)
        found = re.search(rf"{re.escape(url)}/#token=(ewt_\S+)", first_output.read_text())
        assert found, first_output.read_text()
        with httpx.Client(base_url=url, timeout=30) as http:
            admin = Clusterd(url, http, found.group(1))
            assert admin.ok("{ me { role } }") == {"me": {"role": "ADMIN"}}
            deadline = time.monotonic() + 30
            while admin.ok("{ instances { status } }")["instances"] != [{"status": "ONLINE"}]:
                assert time.monotonic() < deadline, "this machine's elektrad is not ONLINE"
                time.sleep(0.2)
            assert Clusterd(url, http, None).query("{ instances { id } }")["errors"]
    finally:
        stop(process)
    text = first_output.read_text()
    # The link is what the operator needs: printed once, and nothing is said
    # after it (no hint to make a token, which would contradict it).
    assert text.count("#token=") == 1
    assert "token create --role admin" not in text
    before_stop = text.split("#token=", 1)[1].splitlines()[1:]
    assert not [line for line in before_stop if line.strip()], text
    # --log-level warning: no line per request, neither clusterd's nor elektrad's.
    assert ' HTTP/1.1" ' not in first_output.read_text()
    # Ctrl-C stops it cleanly (under uvloop it printed a CancelledError trace).
    assert "Traceback" not in text and process.returncode == 0, text
    again_output = tmp_path / "again.log"
    process = up(tmp_path, port, again_output)
    try:
        wait_until_serving(url, process, again_output)
        text = again_output.read_text()
        assert "Elektra Web is up" in text and "#token=" not in text
        assert "elektra-web token create --role admin" in text
    finally:
        stop(process)


def busy_port() -> socket.socket:
    """A port someone else listens on."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken


@pytest.mark.parametrize("which", ["--port", "--elektrad-port"])
def test_up_with_a_port_in_use_fails_at_once_and_creates_nothing(
    tmp_path: Path, which: str
) -> None:
    with busy_port() as taken:
        port = taken.getsockname()[1]
        ports = {"--port": str(free_port()), "--elektrad-port": str(free_port()), which: str(port)}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "elektra_web", "up", *(x for p in ports.items() for x in p)],
            env=environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"port {port} is in use; use {which}" in done.stderr
    assert "#token=" not in done.stdout + done.stderr
    assert "Elektra Web is up" not in done.stdout
    # Before anything: no elektrad started, no database (hence no token, no
    # registration) made, within the time of a Python start.
    assert not (tmp_path / ".local").exists()
    assert time.monotonic() - started < 15


def test_up_logs_only_what_matters_unless_asked_for_debug(tmp_path: Path) -> None:
    for level, chatty in ((None, False), ("debug", True)):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        output = tmp_path / f"{level}.log"
        process = up(tmp_path, port, output, log_level=level)
        try:
            wait_until_serving(url, process, output)
            with httpx.Client(base_url=url, timeout=30) as http:
                assert http.get("/").status_code == 200
                assert http.get("/healthz").status_code == 200
                assert http.post("/graphql", json={"query": "{ version { api } }"}).status_code
        finally:
            stop(process)
        text = output.read_text()
        assert "Elektra Web is up" in text
        # uvicorn's lines per request, per start-up step; elektrad's per read
        # (clusterd's health checks and long polls of /kdbChanges).
        noise = [' HTTP/1.1" ', "Application startup complete", '"GET /version" 200', "kdbChanges"]
        assert [n for n in noise if n in text] == (noise if chatty else []), text
        if not chatty:
            assert len(text.splitlines()) < 15, text


def test_ctrl_c_right_after_start_stops_cleanly(tmp_path: Path) -> None:
    # The moment an operator tries it out and stops it: the engine's first
    # rounds are still running (under uvloop this printed a CancelledError trace).
    port = free_port()
    output = tmp_path / "up.log"
    process = up(tmp_path, port, output, log_level=None)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", process, output)
    finally:
        stop(process)
    text = output.read_text()
    assert process.returncode == 0, text
    assert "Traceback" not in text and "ERROR" not in text, text
    assert "clusterd stopped" in text and "elektrad stopped" in text
