"""Quiet garbage collection: a clusterd daemon freezes what start-up built and
collects less often; tests, which share one process, do not."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from elektra_web.clusterd.app import ClusterdConfig
from elektra_web.clusterd.collector import FULL, MIDDLE, YOUNG


def test_quiet_gc_freezes_what_start_up_built_and_raises_the_thresholds() -> None:
    # In a process of its own: freezing is for the life of a process.
    script = textwrap.dedent(
        """
        import gc
        from elektra_web.clusterd.collector import quiet_gc
        before = gc.get_freeze_count()
        quiet_gc()
        print(before, gc.get_freeze_count(), *gc.get_threshold())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    before, frozen, *thresholds = map(int, out)
    assert before == 0
    assert frozen > 1_000  # modules, their functions and classes
    assert thresholds == [YOUNG, MIDDLE, FULL]


def test_only_the_daemon_commands_ask_for_it() -> None:
    from elektra_web.cli import _clusterd_config, _parser

    parser = _parser()
    args = parser.parse_args(["clusterd", "--database", "sqlite:///tmp/never-opened.sqlite3"])
    assert _clusterd_config(args, parser).quiet_gc
    assert not ClusterdConfig(database_url="sqlite://:memory:").quiet_gc
