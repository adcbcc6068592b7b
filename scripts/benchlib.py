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


def trace_memory_on_signals(path: str, frames: int = 1, dump: str | None = None) -> None:
    """Trace allocations (tracemalloc) from now on; SIGUSR1 takes a snapshot,
    SIGUSR2 takes another and writes to ``path`` the 30 source lines whose
    live memory grew most in between: where each new connection's or
    subscription's bytes go. With ``dump``, both snapshots are also written to
    ``dump + ".before"`` and ``dump + ".after"`` (``tracemalloc.Snapshot.load``)."""
    import tracemalloc

    tracemalloc.start(frames)
    snapshots: list[tracemalloc.Snapshot] = []

    def begin(signum: int, frame: object) -> None:
        snapshots[:] = [tracemalloc.take_snapshot()]

    def end(signum: int, frame: object) -> None:
        after = tracemalloc.take_snapshot()
        stats = after.compare_to(snapshots[0], "lineno")
        total = sum(s.size_diff for s in stats)
        lines = [f"total {total / 1024:.0f} KiB in {sum(s.count_diff for s in stats)} blocks"]
        lines += [str(s) for s in stats[:30]]
        with open(path, "w") as out:
            out.write("\n".join(lines) + "\n")
        if dump:
            snapshots[0].dump(dump + ".before")
            after.dump(dump + ".after")

    signal.signal(signal.SIGUSR1, begin)
    signal.signal(signal.SIGUSR2, end)


def raise_file_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit (65,536 if that is
    unlimited) and return it: a clusterd following N change feeds holds a socket per
    instance, and an elektrad helper listens on a port per app and is connected to by
    clusterd twice per app (feed long poll, delivery), past the usual soft limit of 1024."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
