"""A watch outlives its clusterd: stopped (crashed or shut down) and started
again on the same port and database, it prints the changes made after the
restart."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ..clusterd.api import create_cluster, set_key, target
from ..clusterd.conftest import ADMIN_TOKEN, AUTH, Clusterd, spawn_clusterd
from ..elektrad.conftest import free_port
from .process import WatchProcess


@contextmanager
def clusterd_process(port: int, database: Path, log: Path, stop: int) -> Iterator[Clusterd]:
    """``elektra-web clusterd`` as a process, once it answers; stopped with
    signal ``stop`` at the end."""
    with log.open("ab") as output:
        process = spawn_clusterd(port, f"sqlite:///{database}", output=output)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10, headers=AUTH) as http:
            yield Clusterd(url, http)
    finally:
        process.send_signal(stop)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# A cluster's own config: its changes are published by clusterd as it writes
# them. An instance's come through its change feed, which a restarted clusterd
# follows again only once the lease of the crashed one ran out (30 s).
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "shutdown"])
def test_a_watch_reconnects_after_clusterd_restarts(
    tmp_path: Path, watches: list[WatchProcess], stop: int
) -> None:
    port = free_port()
    database, log = tmp_path / "c.sqlite3", tmp_path / "clusterd.log"
    with clusterd_process(port, database, log, stop) as first:
        prod = create_cluster(first, "prod")
        watch = WatchProcess(["--url", first.url, "--cluster", "prod"], token=ADMIN_TOKEN)
        watches.append(watch)
        watch.wait_until_live(
            lambda n: set_key(first, target(cluster=prod), "user:/probe", f"a{n}")
        )
        set_key(first, target(cluster=prod), "user:/mode", "before")
        assert watch.change()["value"] == "before"

    watch.wait_for_note("disconnected")
    with clusterd_process(port, database, log, stop) as second:
        watch.wait_until_live(
            lambda n: set_key(second, target(cluster=prod), "user:/probe", f"b{n}")
        )
        set_key(second, target(cluster=prod), "user:/mode", "after")
        change = watch.change()
        assert (change["cluster"]["name"], change["value"], change["previous"]) == (
            "prod",
            "after",
            "before",
        )
        assert "reconnected" in watch.stderr
    assert watch.process.poll() is None, "the watch must outlive clusterd"
    assert watch.stop() == 0
    assert "Traceback" not in watch.stderr
