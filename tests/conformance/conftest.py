"""Public conformance suites, run with Node against a real clusterd.

``tests/conformance`` is a small Node project (``package.json`` with pinned
versions, ``package-lock.json``): npm ``graphql-http`` (the GraphQL-over-HTTP
audit) and the reference websocket client npm ``graphql-ws`` on npm ``ws``.
``scripts/setup test`` installs it with ``npm ci`` when Node is there. Without
Node or the packages these tests are skipped, except under CI (``CI`` set),
where they fail.

The scripts (``*.mjs``) take clusterd's URL on the command line and the token
in ``ELEKTRA_WEB_TOKEN``, and print their observations as one JSON object; the
tests decide what is right.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from elektra_web.clusterd.app import ClusterdConfig

from ..clusterd.conftest import ADMIN_TOKEN, AUTH, TEST_SETTINGS, Clusterd, serve_clusterd
from ..clusterd.conftest import elektrads as elektrads  # the fixture, shared

HERE = Path(__file__).resolve().parent
#: Subscriptions one socket may hold: small, so that a test sees them freed.
MAX_SUBSCRIPTIONS = 2


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required under CI; scripts/setup test installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, once the pinned packages are installed."""
    executable = shutil.which("node")
    if executable is None:
        _missing("no node on PATH")
    pinned: dict[str, str] = json.loads((HERE / "package.json").read_text())["dependencies"]
    for name, version in pinned.items():
        manifest = HERE / "node_modules" / name / "package.json"
        installed = json.loads(manifest.read_text())["version"] if manifest.exists() else None
        if installed != version:
            _missing(
                f"npm {name} {version} is not installed in {HERE} (found {installed}): "
                "run scripts/setup test, or npm ci there"
            )
    return executable


def run_node(node: str, script: str, *args: str, token: str = ADMIN_TOKEN, **env: str) -> Any:
    """Run ``script`` of this folder with ``args``; the JSON it printed."""
    finished = subprocess.run(
        [node, script, *args],
        cwd=HERE,
        env={**os.environ, "ELEKTRA_WEB_TOKEN": token, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, f"{script} exited {finished.returncode}:\n{finished.stderr}"
    return json.loads(finished.stdout)


@pytest.fixture(scope="module")
def clusterd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clusterd]:
    """A real clusterd on an SQLite file, for all the tests of a module."""
    database = tmp_path_factory.mktemp("clusterd") / "clusterd.sqlite3"
    settings = dataclasses.replace(TEST_SETTINGS, max_subscriptions_per_socket=MAX_SUBSCRIPTIONS)
    config = ClusterdConfig(database_url=f"sqlite://{database}", settings=settings)
    with (
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        yield Clusterd(url, http)
