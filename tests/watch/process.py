"""``elektra-web watch`` as a real process, with its output read as it comes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

PROBE = "/probe"


class WatchProcess:
    """``python -m elektra_web watch ARGS``; stdout and stderr are read by
    threads so that a test can wait for a line with a bound."""

    def __init__(
        self, args: Sequence[str], env: dict[str, str] | None = None, token: str | None = None
    ) -> None:
        """``token``: in ``ELEKTRA_WEB_TOKEN`` (by default none: ``env`` may set it)."""
        base = {k: v for k, v in os.environ.items() if k != "ELEKTRA_WEB_TOKEN"}
        if token is not None:
            base["ELEKTRA_WEB_TOKEN"] = token
        self.process = subprocess.Popen(
            [sys.executable, "-m", "elektra_web", "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**base, **(env or {})},
        )
        self._stdout: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._stderr_changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._threads = [
            threading.Thread(target=self._read, args=(self.process.stdout, self._put_stdout)),
            threading.Thread(target=self._read, args=(self.process.stderr, self._put_stderr)),
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    @staticmethod
    def _read(stream: IO[str], put: Callable[[str | None], None]) -> None:
        for line in stream:
            put(line)
        put(None)

    def _put_stdout(self, line: str | None) -> None:
        self._stdout.put(line)

    def _put_stderr(self, line: str | None) -> None:
        with self._stderr_changed:
            if line is not None:
                self._stderr.append(line)
            self._stderr_changed.notify_all()

    @property
    def stderr(self) -> str:
        with self._stderr_changed:
            return "".join(self._stderr)

    def line(self, timeout: float) -> dict[str, Any] | None:
        """The next line of stdout, parsed (each must be one JSON object);
        None if none came within ``timeout``."""
        try:
            line = self._stdout.get(timeout=timeout)
        except queue.Empty:
            return None
        assert line is not None, f"watch ended; stderr:\n{self.stderr}"
        change: dict[str, Any] = json.loads(line)
        assert isinstance(change, dict), line
        return change

    def rest_of_stdout(self) -> list[str]:
        """What it printed on stdout and no test read yet (once it exited)."""
        assert self.process.poll() is not None
        lines = []
        while (line := self._stdout.get(timeout=5)) is not None:
            lines.append(line)
        return lines

    def change(self, timeout: float = 15) -> dict[str, Any]:
        """The next change that is not a probe (see ``wait_until_live``)."""
        deadline = time.monotonic() + timeout
        while True:
            change = self.line(max(deadline - time.monotonic(), 0))
            assert change is not None, f"no change within {timeout}s; stderr:\n{self.stderr}"
            if not change["path"].endswith(PROBE):
                return change

    def no_change(self, within: float) -> None:
        """Assert that nothing but probes comes within ``within`` seconds."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            change = self.line(left)
            assert change is None or change["path"].endswith(PROBE), change

    def wait_until_live(self, poke: Callable[[int], object], timeout: float = 30) -> None:
        """Make a change (``poke(n)``, to a key ending in ``/probe``) again and
        again until the watch prints one: its subscription is live then, which
        no message of graphql-transport-ws tells."""
        deadline = time.monotonic() + timeout
        attempt = 0
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"watch exited; stderr:\n{self.stderr}"
            attempt += 1
            poke(attempt)
            change = self.line(0.5)
            if change is not None:
                assert change["path"].endswith(PROBE), change
                return
        raise AssertionError(f"the watch printed no change; stderr:\n{self.stderr}")

    def wait_for_note(self, text: str, timeout: float = 15) -> None:
        """Wait until stderr contains ``text``."""
        deadline = time.monotonic() + timeout
        with self._stderr_changed:
            while text not in "".join(self._stderr):
                left = deadline - time.monotonic()
                assert left > 0, f"no {text!r} on stderr:\n{''.join(self._stderr)}"
                self._stderr_changed.wait(left)

    def wait(self, timeout: float = 15) -> int:
        """The exit status, once it exited (and its output was read)."""
        status = self.process.wait(timeout)
        for thread in self._threads:
            thread.join(timeout)
        return status

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum``; the exit status."""
        self.process.send_signal(signum)
        return self.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
