"""What the benchmark scripts share."""

from __future__ import annotations

import cProfile
import signal

#: The admin token the benchmarks' clusterds are started with.
BENCH_TOKEN = "ewt_benchmark-admin-token"
AUTH = {"Authorization": f"Bearer {BENCH_TOKEN}"}


def profile_on_signals(path: str) -> None:
    """Profile this process between SIGUSR1 and SIGUSR2, into ``path``: the
    benchmark signals its server around the part it wants to see."""
    profilers: list[cProfile.Profile] = []

    def begin(signum: int, frame: object) -> None:
        profilers.append(cProfile.Profile())
        profilers[-1].enable()

    def end(signum: int, frame: object) -> None:
        profilers[-1].disable()
        profilers[-1].dump_stats(path)

    signal.signal(signal.SIGUSR1, begin)
    signal.signal(signal.SIGUSR2, end)
