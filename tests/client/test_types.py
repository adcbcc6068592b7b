"""The web client's modules that start with ``// @ts-check`` pass TypeScript's
checker (JSDoc types; nothing is built or emitted). tsc comes from
tests/conformance's npm packages (``scripts/setup test``); without Node or
them this test is skipped, except under CI, where it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TSC = ROOT / "tests" / "conformance" / "node_modules" / "typescript" / "bin" / "tsc"
CONFIG = Path(__file__).resolve().parent / "tsconfig.json"


def test_the_client_type_checks() -> None:
    node = shutil.which("node")
    if node is None or not TSC.exists():
        reason = "no node or no TypeScript in tests/conformance/node_modules"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required under CI; scripts/setup test installs it)")
        pytest.skip(reason)
    done = subprocess.run(
        [node, str(TSC), "-p", str(CONFIG), "--pretty", "false"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
