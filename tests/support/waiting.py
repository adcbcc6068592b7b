"""Waiting for a condition that another process or thread makes true."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(condition: Callable[[], object], seconds: float = 15, what: str = "") -> None:
    """Poll ``condition`` until it is true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds} s: {what}"
        time.sleep(0.05)
