"""``elektra-web backup`` and ``restore`` as the operator runs them (a process),
and a look inside a backup file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["backup_rows", "elektra_web", "start_elektra_web"]


def elektra_web(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``elektra-web ARGS`` to its end; with ``check``, it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "elektra_web", "--log-level", "warning", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def start_elektra_web(*args: str) -> subprocess.Popen[bytes]:
    """Start ``elektra-web ARGS`` and return at once (to kill it half-way)."""
    return subprocess.Popen(
        [sys.executable, "-m", "elektra_web", "--log-level", "warning", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def backup_rows(file: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A clusterd backup's header, and its rows by table as column -> value."""
    lines = file.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert "end" in json.loads(lines[-1]), "the backup has no trailer"
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines[1:-1]:
        table, *values = json.loads(line)
        rows[table].append(dict(zip(header["tables"][table], values, strict=True)))
    return header, rows
