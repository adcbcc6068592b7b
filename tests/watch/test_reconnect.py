"""A watch outlives its clusterd: killed and started again on the same port
and database, it prints the changes made after the restart."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ..clusterd.api import add_instance, set_key, target
from ..clusterd.conftest import Clusterd, Elektrad
from ..elektrad.conftest import free_port
from .process import WatchProcess


@contextmanager
def clusterd_process(port: int, database: Path, log: Path) -> Iterator[Clusterd]:
    """``elektra-web clusterd`` as a process, once it answers; killed at the end."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "elektra_web", "clusterd", "--log-level", "warning",
             "--port", str(port), "--database", f"sqlite:///{database}"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "clusterd did not start"
                try:
                    http.post("/graphql", json={"query": "{ version { api } }"})
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            yield Clusterd(url, http)
    finally:
        process.kill()  # as a crash would: no goodbye to the websockets
        process.wait(10)


def test_a_watch_reconnects_after_clusterd_restarts(
    tmp_path: Path, elektrads: Callable[..., list[Elektrad]], watches: list[WatchProcess]
) -> None:
    (daemon,) = elektrads(1)
    port = free_port()
    database, log = tmp_path / "c.sqlite3", tmp_path / "clusterd.log"
    with clusterd_process(port, database, log) as first:
        web = add_instance(first, "web", daemon.url)
        watch = WatchProcess(["--url", first.url, "--instance", "web"])
        watches.append(watch)
        watch.wait_until_live(lambda n: set_key(first, target(instance=web), "user:/probe", f"a{n}"))
        set_key(first, target(instance=web), "user:/mode", "before")
        assert watch.change()["value"] == "before"

    watch.wait_for_note("disconnected")
    with clusterd_process(port, database, log) as second:
        watch.wait_until_live(lambda n: set_key(second, target(instance=web), "user:/probe", f"b{n}"))
        set_key(second, target(instance=web), "user:/mode", "after")
        change = watch.change()
        assert (change["instance"]["name"], change["value"], change["previous"]) == (
            "web",
            "after",
            "before",
        )
    watch.wait_for_note("reconnected")
    assert watch.process.poll() is None, "the watch must outlive clusterd"
    assert watch.stop() == 0
    assert "Traceback" not in watch.stderr
