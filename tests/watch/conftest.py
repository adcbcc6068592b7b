"""The watch tests run against the real clusterd and elektrads of the clusterd tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..clusterd.conftest import clusterd, elektrads  # noqa: F401
from .process import WatchProcess


@pytest.fixture
def watches() -> Iterator[list[WatchProcess]]:
    """Watch processes a test started (``watches.append``): killed if still running."""
    started: list[WatchProcess] = []
    yield started
    for watch in started:
        watch.kill()
