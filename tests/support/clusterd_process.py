"""clusterd as a process with any :class:`~elektra_web.engine.services.Settings`
(the command line sets only a few): for tests that kill, pause or restart it.

``python -m tests.support.clusterd_process PORT DATABASE SETTINGS_JSON`` serves
clusterd on 127.0.0.1:PORT; :func:`spawn` starts it and returns once it
answers. The admin token comes from ``ELEKTRA_WEB_ADMIN_TOKEN``, as for
``elektra-web clusterd``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def spawn(
    port: int,
    database: str,
    settings: dict[str, Any],
    *,
    admin_token: str,
    output: IO[bytes] | None = None,
    log_level: str = "warning",
) -> subprocess.Popen[bytes]:
    """A clusterd process with these settings, returned once it answers."""
    command = [
        sys.executable, "-m", "tests.support.clusterd_process",
        str(port), database, json.dumps(settings), log_level,
    ]  # fmt: skip
    env = {**os.environ, "ELEKTRA_WEB_ADMIN_TOKEN": admin_token}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=output, stderr=output and subprocess.STDOUT
    )
    return wait_ready(process, port, admin_token)


def wait_ready(
    process: subprocess.Popen[bytes], port: int, token: str, seconds: float = 30
) -> subprocess.Popen[bytes]:
    """``process`` once clusterd on ``port`` answers (it must not exit first)."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/graphql?query={{version{{api}}}}", headers=headers)
            return process
        except httpx.TransportError:
            assert process.poll() is None, "clusterd exited"
            assert time.monotonic() < deadline, "clusterd did not start"
            time.sleep(0.05)


def main(argv: list[str]) -> int:
    from elektra_web.clusterd.app import ClusterdConfig
    from elektra_web.clusterd.server import serve
    from elektra_web.engine.services import Settings

    port, database, settings = int(argv[0]), argv[1], json.loads(argv[2])
    log_level = argv[3] if len(argv) > 3 else "warning"
    for name, value in settings.items():
        if isinstance(value, list):
            settings[name] = tuple(value)
    config = ClusterdConfig(
        database_url=database,
        settings=Settings(**settings),
        admin_token=os.environ.get("ELEKTRA_WEB_ADMIN_TOKEN") or None,
    )
    return serve(config, "127.0.0.1", port, log_level=log_level)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
