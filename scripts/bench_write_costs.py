"""Benchmark what a cluster write's extras cost: history, the dry run, the up-front check.

One run starts N real elektrads (default ``--members 1000``) in a few helper processes and
one clusterd process, with ``scripts/bench_fanout.py``'s processes and set-up (the same
helpers, the same clusterd child, ``write_wait`` 120 s so that a cluster write returns when
all its deliveries landed, change feeds followed), puts the N in one cluster, and then
measures against that same clusterd and the same elektrads, as a GraphQL client over HTTP,
each the median of ``--rounds`` (default 5) after one unmeasured warm-up round, each starting
once clusterd and the elektrads are idle again:

1. HISTORY: a cluster ``setKey(target: {clusterId}, ...)`` (every result must be APPLIED)
   with history recorded (``Settings.history_enabled``, the default) and without. The
   setting is switched in the running clusterd: its child answers ``POST
   /__bench/history?on=0|1`` by replacing its ``Services.settings`` with
   ``history_enabled`` changed (what ``engine/events.publish`` reads on every change), so
   both are measured on the same process, database and connections. Besides the write's
   time, clusterd's CPU until it is idle again: the members' entries are recorded as their
   echoes come back through the change feeds, mostly after the write returned. Each round
   checks that the cluster's own entry of the write is there with history on, and not with
   it off.
2. DRY RUN: ``setKey(..., dryRun: true)`` of the cluster (every member's plan must be
   APPLY) against the reads it needs, done as one GraphQL query: every instance's key and
   its ``spec:/`` key with value and metadata (what ``resolvers/preview.py`` reads of each
   member for a setKey), ``{ instances { name key(path) { value meta { key value } }
   spec: key(path: "spec:/...") { value meta { key value } } } }``.
3. UP-FRONT CHECK: the cluster ``setKey`` of 1. (checked against every online member's
   validation before anything is stored, the default) against the same write with
   ``force: true``, which skips the check.

The operations of a round run in one order, the next round in the reverse order, so that
a drift of the machine's load does not favour one side. Health checks run every
``--health-interval`` seconds (default 600 here: a check probes all N instances, which
would fall into some measurements and not others; bench-fanout keeps clusterd's 10 s).
The load average is printed at the start, per round and at the end: other people's work on
the same 2 cores makes these numbers noisy, which is why they are ratios of medians of
the same run.

``--profile-clusterd`` profiles one more of the write, the dry run and the reads inside
clusterd (cProfile on its event loop, as bench-fanout's option does) and prints where the
time went.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import bench_fanout as fanout
import httpx
from bench_fanout import READY, START_TIMEOUT, Clusterd, Env, Usage, fmt_time, load
from benchlib import AUTH

KEY = "user:/bench/k"
SPEC_KEY = "spec:/bench/k"
RESULT = "{ operationId results { delivery error instance { name } } }"
WRITE = (
    "mutation($c: ID!, $p: String!, $v: String!, $force: Boolean!) "
    f"{{ setKey(target: {{clusterId: $c}}, path: $p, value: $v, force: $force) {RESULT} }}"
)
CONTENT = "{ value meta { key value } }"
DRY_RUN = (
    "mutation($c: ID!, $p: String!, $v: String!) "
    "{ setKey(target: {clusterId: $c}, path: $p, value: $v, dryRun: true) "
    "{ dryRun plan { instance { name } outcome reason error "
    f"changes {{ path before {CONTENT} after {CONTENT} }} }} }} }}"
)
READS = (
    "query($p: String!, $s: String!) "
    f"{{ instances {{ name key(path: $p) {CONTENT} spec: key(path: $s) {CONTENT} }} }}"
)
NEWEST = (
    "query($c: ID!, $p: String!) "
    "{ history(target: {clusterId: $c}, pathPrefix: $p, first: 1) { entries { value } } }"
)
MEMBER_HISTORY = (
    "query($i: ID!, $p: String!) "
    "{ history(target: {instanceId: $i}, pathPrefix: $p, first: 500) { entries { value } } }"
)

#: The measured operations: (name, label).
OPS = {
    "write": "cluster setKey (history on, checked)",
    "no_history": "cluster setKey, history off",
    "forced": "cluster setKey, force: true (no check)",
    "dry_run": "setKey dryRun: true",
    "reads": "the reads it needs (one query)",
}
#: Targets: (op, against, what, at most).
TARGETS = [
    ("write", "no_history", "history: write with / without", 1.10),
    ("dry_run", "reads", "dry run / the reads it needs", 1.20),
    ("write", "forced", "up-front check: checked / forced", None),
]


# -- the clusterd child: the history switch ---------------------------------------------------


def with_history_switch(app: Any) -> Any:
    """``app`` answering ``POST /__bench/history?on=0|1``: history recording off or on in
    the running clusterd (its ``Services.settings``, which every publish reads)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/__bench/history":
            await app(scope, receive, send)
            return
        services = app.state.services
        on = scope["query_string"] == b"on=1"
        services.settings = dataclasses.replace(services.settings, history_enabled=on)
        body = json.dumps({"history_enabled": services.settings.history_enabled}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return wrapped


# -- the measured operations ------------------------------------------------------------------


@dataclass
class State:
    env: Env
    url: str
    #: The value every member holds now.
    value: str = ""
    counter: int = 0
    #: The values written, and whether history was on.
    written: dict[str, bool] = field(default_factory=dict)

    def fresh(self) -> str:
        self.counter += 1
        return f"v{self.counter}-{time.time_ns()}"

    def switch_history(self, on: bool) -> None:
        r = httpx.post(f"{self.url}/__bench/history?on={int(on)}", timeout=30)
        if r.status_code != 200 or r.json() != {"history_enabled": on}:
            raise RuntimeError(f"the history switch answered {r.status_code} {r.text[:200]}")

    def newest_entry(self) -> str | None:
        found = self.env.clusterd.ok(NEWEST, c=self.env.cluster, p=KEY)["history"]["entries"]
        return found[0]["value"] if found else None


def write(state: State, value: str, force: bool) -> None:
    data = state.env.clusterd.ok(WRITE, c=state.env.cluster, p=KEY, v=value, force=force)
    fanout.check_applied(data, len(state.env.ids), "cluster write")
    state.value = value


def check_members_history(state: State) -> str:
    """That the members' entries (recorded from the echoes) are there for the writes made
    with history on, and not for those made with it off (on the first and last member)."""
    lines = []
    for instance in (state.env.ids[0], state.env.ids[-1]):
        page = state.env.clusterd.ok(MEMBER_HISTORY, i=instance, p=KEY)["history"]["entries"]
        values = {e["value"] for e in page}
        on = [v for v, recorded in state.written.items() if recorded]
        off = [v for v, recorded in state.written.items() if not recorded]
        found_on, found_off = sum(v in values for v in on), sum(v in values for v in off)
        if found_on != len(on) or found_off:
            raise RuntimeError(
                f"member {instance}'s history holds {found_on} of {len(on)} writes made with "
                f"history on and {found_off} of {len(off)} made with it off"
            )
        lines.append(f"member {instance}: {found_on}/{len(on)} on, {found_off}/{len(off)} off")
    return "; ".join(lines)


def dry_run(state: State, value: str) -> None:
    data = state.env.clusterd.ok(DRY_RUN, c=state.env.cluster, p=KEY, v=value)["setKey"]
    plans = data["plan"]
    wrong = [
        p
        for p in plans
        if p["outcome"] != "APPLY"
        or [(c["before"] or {}).get("value") for c in p["changes"]] != [state.value]
        or [c["after"]["value"] for c in p["changes"]] != [value]
    ]
    if not data["dryRun"] or len(plans) != len(state.env.ids) or wrong:
        raise RuntimeError(f"dry run: {len(plans)} plans, not as expected: {wrong[:3]}")


def reads(state: State) -> None:
    instances = state.env.clusterd.ok(READS, p=KEY, s=SPEC_KEY)["instances"]
    wrong = [i for i in instances if (i["key"] or {}).get("value") != state.value]
    if len(instances) != len(state.env.ids) or wrong:
        raise RuntimeError(f"reads: {len(instances)} answers, wrong: {wrong[:3]}")


@dataclass
class Results:
    n: int
    times: dict[str, list[float]] = field(default_factory=dict)
    usage: dict[str, list[Usage]] = field(default_factory=dict)
    setup: float = 0.0

    def t(self, op: str) -> float:
        return statistics.median(self.times[op])

    def cpu(self, op: str, what: Callable[[Usage], float]) -> float:
        return statistics.median(what(u) for u in self.usage[op])


def measure_round(state: State, results: Results | None, order: list[str]) -> None:
    """The operations once, in ``order``; recorded in ``results`` unless a warm-up."""
    env = state.env
    for op in order:
        value = state.fresh()
        tail = op in ("write", "no_history", "forced")
        fn: Callable[[], None] = {
            "write": partial(write, state, value, False),
            "no_history": partial(write, state, value, False),
            "forced": partial(write, state, value, True),
            "dry_run": partial(dry_run, state, value),
            "reads": partial(reads, state),
        }[op]
        if op == "no_history":
            state.switch_history(False)
        try:
            wall, usage = env.measure(fn, tail=tail)  # with tail: until clusterd is idle
        finally:
            if op == "no_history":
                state.switch_history(True)
        if tail:  # the cluster's own entry is stored before the write answers
            state.written[value] = op != "no_history"
            newest = state.newest_entry()
            if (newest == value) != (op != "no_history"):
                raise RuntimeError(f"{op}: the newest history entry is {newest!r}")
        if results is not None:
            results.times.setdefault(op, []).append(wall)
            results.usage.setdefault(op, []).append(usage)


def run(
    results: Results, args: argparse.Namespace, workdir: Path, say: Callable[[str], None]
) -> None:
    n = results.n
    started = time.perf_counter()
    with fanout.processes(__file__) as start:
        helpers = fanout.start_elektrads(start, n, args.helpers, args.addressing, workdir)
        options = fanout.clusterd_options(args)
        stats_file = workdir / "clusterd.prof"
        if args.profile_clusterd:
            options += ["--profile", str(stats_file)]
        db = fanout.clusterd_database(workdir)
        clusterd = start("clusterd", ["--serve-clusterd", db, READY, *options], workdir)
        for proc in [*helpers, clusterd]:
            proc.wait_ready(START_TIMEOUT)
        hosts = fanout.elektrad_hosts(helpers, n)
        say(f"clusterd imports {clusterd.info['elektra_web']}; {len(helpers)} helper(s) up")
        url = clusterd.info["url"]
        say(f"registering and assigning {n} instances")
        cluster, ids = asyncio.run(fanout.set_up(url, hosts))
        timeout = httpx.Timeout(args.write_wait + 120)
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        with (
            httpx.Client(base_url=url, timeout=timeout, limits=limits, headers=AUTH) as gql,
            httpx.Client(timeout=60) as control,
        ):
            env = Env(Clusterd(gql), clusterd, helpers, cluster, ids, hosts, control)
            env.tail_timeout = args.tail_timeout
            polls = fanout.wait_following(env, START_TIMEOUT)
            results.setup = time.perf_counter() - started
            say(f"set up in {results.setup:.1f}s; clusterd follows the feeds ({polls} polls)")
            state = State(env, url)
            order = list(OPS)
            for round_ in range(args.rounds + 1):
                warmup = round_ == 0
                measure_round(state, None if warmup else results, order)
                order.reverse()
                if warmup:
                    say(f"warm-up done; load {load()}")
                    continue
                line = ", ".join(f"{op} {fmt_time(results.times[op][-1])}" for op in OPS)
                say(f"round {round_}/{args.rounds}: {line}; load {load()}")
            say(f"history entries of the writes as expected: {check_members_history(state)}")
            if args.profile_clusterd:
                ops: list[tuple[str, Callable[[], None], bool]] = [
                    ("cluster write", partial(write, state, state.fresh(), False), True),
                    ("dry run", partial(dry_run, state, state.fresh()), False),
                    ("read of what the dry run needs", partial(reads, state), False),
                ]
                focus = r"engine/history\.py|resolvers/(preview|cluster_write)\.py|publish"
                fanout.profile_ops(env, stats_file, say, ops, lines=40, focus=focus)


def report(r: Results, args: argparse.Namespace) -> None:
    print()
    print(
        f"N = {r.n} members; medians of {args.rounds} rounds (spread: min-max); clusterd CPU "
        "(whole process, from /proc)\nuntil the answer, and for writes until idle again "
        "(the echoes through the change feeds)"
    )
    head = (
        f"  {'':40} {'wall':>9} {'spread':>19} | {'clusterd CPU':>12} {'to idle':>8} "
        f"{'ms/member':>9}"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for op, label in OPS.items():
        lo, hi = min(r.times[op]), max(r.times[op])
        cpu = r.cpu(op, lambda u: u.process)
        idle = r.cpu(op, lambda u: u.process_idle) if op in ("write", "no_history", "forced") else 0
        per = (idle or cpu) * 1000 / r.n
        print(
            f"  {label:40} {fmt_time(r.t(op)):>9} {fmt_time(lo) + '-' + fmt_time(hi):>19} | "
            f"{cpu:>11.2f}s {f'{idle:.2f}s' if idle else '-':>8} {per:>9.2f}"
        )
    print()
    print("ratios (of the medians; target):")
    for op, against, what, target in TARGETS:
        ratio = r.t(op) / r.t(against)
        cpu = r.cpu(op, lambda u: u.process_idle or u.process)
        cpu_against = r.cpu(against, lambda u: u.process_idle or u.process)
        verdict = ""
        if target is not None:
            verdict = f"  target <= {target:.2f}x: {'met' if ratio <= target else 'MISSED'}"
        print(f"  {what:36} wall {ratio:5.2f}x   clusterd CPU {cpu / cpu_against:5.2f}x{verdict}")
    print("  (clusterd CPU of writes: until idle, the echoes included)")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1000, help="instances in the cluster")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds")
    fanout.add_setup_arguments(parser)
    parser.set_defaults(health_interval=600.0, clusterd_sqlite=None)
    parser.add_argument(
        "--tail-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for clusterd to be idle after a write returned",
    )
    parser.add_argument(
        "--profile-clusterd",
        action="store_true",
        help="after the rounds, profile one write, dry run and read inside clusterd",
    )
    args = parser.parse_args()
    if args.serve_elektrads:
        count, base, port_file = args.serve_elektrads
        fanout.serve_elektrads(
            int(count), Path(base), Path(port_file), args.addressing, args.with_metrics
        )
        return 0
    if args.serve_clusterd:
        database, port_file = args.serve_clusterd
        fanout.serve_clusterd(database, Path(port_file), args, wrap=with_history_switch)
        return 0

    began = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", flush=True)

    fanout.machine_line(args)
    results = Results(args.members)
    with tempfile.TemporaryDirectory(prefix="bench-write-costs-") as tmp:
        try:
            run(results, args, Path(tmp), say)
        except (RuntimeError, httpx.HTTPError) as exc:
            say(f"FAILED: {type(exc).__name__}: {str(exc)[:1000]}")
            return 1
    report(results, args)
    print(f"load average at the end: {load()}  (others share these cores: numbers are noisy)")
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
