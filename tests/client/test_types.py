"""The web client passes TypeScript's checker: every module, each marked
``// @ts-check`` (JSDoc types; nothing is built or emitted). tsc comes from
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
STATIC = ROOT / "elektra_web" / "client" / "static"


def test_the_client_type_checks() -> None:
    node = shutil.which("node")
    if node is None or not TSC.exists():
        reason = "no node or no TypeScript in tests/conformance/node_modules"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required under CI; scripts/setup test installs it)")
        pytest.skip(reason)
    done = subprocess.run(
        [node, str(TSC), "-p", str(CONFIG), "--pretty", "false", "--listFiles"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [line for line in done.stdout.splitlines() if ": error TS" in line]
    assert done.returncode == 0 and not errors, "\n".join(errors) or done.stderr
    checked = {Path(line).name for line in done.stdout.splitlines() if line.startswith("/")}
    modules = sorted(STATIC.glob("*.js"))
    assert modules
    assert [m.name for m in modules if m.name not in checked] == [], "not reached from app.js"
    unmarked = [m.name for m in modules if "// @ts-check" not in m.read_text().split("\n", 1)[0]]
    assert unmarked == [], "not marked // @ts-check on their first line"
