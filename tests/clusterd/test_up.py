"""``elektra-web up``: this machine's elektrad and clusterd, and a sign-in
link for the first admin, shown once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..elektrad.conftest import free_port
from .conftest import Clusterd


def up(home: Path, port: int, output: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ELEKTRA_WEB_"))}
    with output.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "elektra_web", "--log-level", "warning", "up",
             "--port", str(port), "--elektrad-port", str(free_port())],
            env={**env, "HOME": str(home)},
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
    # --log-level warning: no line per request, neither clusterd's nor elektrad's.
    assert ' HTTP/1.1" ' not in first_output.read_text()
    again_output = tmp_path / "again.log"
    process = up(tmp_path, port, again_output)
    try:
        wait_until_serving(url, process, again_output)
        text = again_output.read_text()
        assert "Elektra Web is up" in text and "#token=" not in text
        assert "elektra-web token create --role admin" in text
    finally:
        stop(process)
