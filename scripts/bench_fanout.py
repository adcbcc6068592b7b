"""Benchmark clusterd's fan-out: one request to N instances against N requests, one by one.

For each N of ``--sizes`` (default 10, 100, 1000) this starts a fresh clusterd and N real
elektrads, registers the N with ``addInstance`` (each is probed on ``/version``), puts them
all in one cluster with ``assignInstance`` and waits until clusterd follows all N change
feeds (set-up is not measured), and then times, as a GraphQL client over HTTP:

1. PARALLEL WRITE: one ``setKey(target: {clusterId}, path: "user:/bench/k", ...)``; the
   mutation waits for its N deliveries (``write_wait`` is set to 120 s, so it returns when
   all have landed) and every one of the N results must be APPLIED;
2. PARALLEL READ: ``{ instances { name key(path: "user:/bench/k") { value } } }``, one
   query reading the key live from all N elektrads; every value must be the one written;
3. the same work ONE INSTANCE AFTER ANOTHER, in the same run, two ways:
   - SEQUENTIAL, through clusterd (the baseline of the speed-up): N
     ``setKey(target: {instanceId}, path: "user:/bench/s", ...)`` mutations (another key:
     members may not set ``user:/bench/k``, their cluster locks it), each result APPLIED,
     and N ``instance(id) { key(path: "user:/bench/k") { value } }`` queries, each checked;
     skipped with ``--parallel-only`` and for N above ``--seq-max`` (default 1000: at
     N=5,000 they would take minutes per round);
   - DIRECT, straight to the elektrads (the floor, no clusterd at all): N ``PUT /kdb/...``
     and N ``GET /kdb/...`` (each value checked) through one httpx client; always run.

Each measurement is repeated ``--rounds`` times after one unmeasured warm-up round, each
starting once clusterd and the elektrads are idle again; the median is reported. A table
per N shows parallel and sequential wall time, the speed-up (sequential / parallel), the
cost per instance and the parallel time against the direct floor (par/direct). Then, for the
parallel write: its time against the floor (write/floor), and clusterd's CPU (read from
/proc: its event-loop thread, and the whole process) per delivery, i.e. divided by N,
twice: at the moment the mutation returned, and once clusterd is idle again, i.e. with the
TAIL: after the mutation answered, each delivery's change comes back through the change
feed it is followed on (the echo), and processing it costs clusterd CPU too. Idle is two
200 ms samples in a row under 5% of a core (``--tail-timeout``, default 120 s, bounds the
wait). Next to it, the requests the elektrads served from the write's start until idle
(``PUT kdb``: deliveries; feed polls, ``GET kdbChanges`` with ``wait`` > 0, one per echo;
``GET version``: health probes, N per health check; each helper counts them by method and
first path segment and answers ``GET /__bench/counts``), so that a health check falling
into a measurement shows.

After the rounds, one more parallel write per N measures ``{ version }`` LATENCY while it
runs: a separate process (``--probe-version URL``, its own connection, so neither this
client nor its GIL slows it) sends ``{ version { api clusterd } }`` every ``--probe-interval``
(10 ms; back to back when one takes longer) from the moment the mutation is sent until it
returns; p50, p99, max and the count are printed, with that write's time. It is a write of
its own because the prober's queries cost clusterd CPU that would otherwise be counted as
the deliveries'. Last, how each time grows with N (t(1000)/t(100) = 10 is linear), and where
the CPU went until each parallel request returned (clusterd's event-loop thread, its other
threads such as the SQLite worker, the elektrads, this client). The load average (others'
work on the same cores) is printed at the start, per N and at the end.

The instances are many elektrad apps served by few processes (``--helpers``, default 4):
each helper (this script run as ``--serve-elektrads COUNT BASEDIR PORTFILE``) runs ONE
uvicorn server for COUNT real elektrad apps, each with its own data directory and key
database (whose lifespans the helper opens and closes itself), speaking the real REST
protocol over real HTTP on 127.0.0.1. With ``--addressing port`` (the default) the server
listens on one port per app and dispatches by the port a connection came in on, so every
instance is its own origin, as N machines would be: clusterd's connection pool treats them
as N hosts and opens a connection per instance. With ``--addressing prefix`` there is one
port per helper and instance n is ``http://127.0.0.1:PORT/i{n}`` (clusterd supports a path
prefix in the host URL); then instances share keep-alive connections, which real machines
cannot. Instance i is served by helper i % helpers, so calls in instance order spread over
the helpers.

clusterd runs in its own process too (this script run as ``--serve-clusterd DATABASE_URL
PORTFILE``: ``create_app(ClusterdConfig(...))`` under uvicorn with the settings of
``elektra-web clusterd``, on a fresh SQLite file) AS PEOPLE RUN IT: following every
instance's change feed (a long poll per instance) and with its periodic health checks (every
``health_interval`` of its ``Settings``, 10 s, unless ``--health-interval``); only
``write_wait`` is 120 s (see 1.). ``--no-follow-feeds`` and ``--no-health-checks`` turn
either off for comparison (``--follow-feeds`` is the default and a no-op). The clusterd
child prints which ``elektra_web`` it imported (so ``PYTHONPATH=`` a worktree measures that
tree's code). So client, clusterd and elektrads never share an event loop, but they share
this machine's cores: the numbers are for everything on one host, over loopback.

Open files: clusterd holds a socket per followed feed plus its delivery connections, and a
helper listens on a port per app and is connected to per app by clusterd's feed poll and
delivery; clusterd and the helpers raise their soft RLIMIT_NOFILE to the hard limit (a
helper refuses to start below ~3 per app; at N=5,000 with 4 helpers that is ~3,800) and
print it. Memory: an elektrad app is ~1.5 MiB in a helper (the set-up line shows RSS), so
N=5,000 needs ~8 GiB. Ports: N=5,000 listens on 5,000 ephemeral ports, and the direct
client and clusterd's pool open many short connections (loopback reuses TIME_WAIT ports,
net.ipv4.tcp_tw_reuse=2).

``--metrics on`` runs clusterd with its metrics on (``elektra-web clusterd --metrics``) and
scrapes its ``GET /metrics`` after each round (not measured: a scrape's cost does not grow
with writes, ``scripts/bench-metrics`` measures it); the elektrads count theirs either way,
unless ``--metrics off`` (the default), which turns theirs off too
(``ElektradConfig.metrics``). ``--metrics both`` measures each size twice in one run, off
and on (on first for every other size, so that the order does not decide), each with fresh
processes, and ends with the parallel write's time and CPU with metrics on against off.

For looking into the numbers: ``--profile-clusterd`` profiles one more parallel write (until
clusterd is idle again) and read at the largest N inside clusterd (cProfile on its event
loop); ``--fanout-limit``, ``--call-timeout``, ``--addressing`` and ``--clusterd-sqlite
synchronous=NORMAL`` (PRAGMAs for clusterd's SQLite) vary the set-up.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import io
import itertools
import json
import math
import os
import platform
import pstats
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
from benchlib import AUTH, BENCH_TOKEN, profile_on_signals, raise_file_limit

ROOT = Path(__file__).resolve().parent.parent
KEY = "user:/bench/k"  # written through the cluster, read everywhere
SEQ_KEY = "user:/bench/s"  # written through each instance (KEY is locked on members)
DIRECT_KEY = "user:/bench/d"  # written straight to each elektrad
RESULT = "{ operationId results { delivery error instance { name } } }"
CLUSTER_WRITE = (
    "mutation($c: ID!, $p: String!, $v: String!) "
    f"{{ setKey(target: {{clusterId: $c}}, path: $p, value: $v) {RESULT} }}"
)
INSTANCE_WRITE = (
    "mutation($i: ID!, $p: String!, $v: String!) "
    f"{{ setKey(target: {{instanceId: $i}}, path: $p, value: $v) {RESULT} }}"
)
READ_ALL = "query($p: String!) { instances { name key(path: $p) { value } } }"
READ_ONE = "query($i: ID!, $p: String!) { instance(id: $i) { name key(path: $p) { value } } }"
VERSION_QUERY = "{ version { api clusterd } }"
START_TIMEOUT = 120.0  # seconds for a helper or clusterd to come up
READY = "{ready}"  # in a child's arguments: the file it writes when it serves


# -- the helper processes ---------------------------------------------------------------------


def serve_elektrads(
    count: int, base_dir: Path, port_file: Path, addressing: str, metrics: bool
) -> None:
    """Serve ``count`` elektrad apps from one uvicorn server until SIGTERM.

    Writes ``{"urls": [...]}`` (base URL of app j at index j) to ``port_file`` once serving.
    """
    import uvicorn
    from starlette.types import ASGIApp, Receive, Scope, Send

    from elektra_web.elektrad.app import ElektradConfig, create_app

    limit = raise_file_limit()
    if limit < 3 * count + 100:
        raise RuntimeError(f"{count} apps need ~{3 * count + 100} open files, the limit is {limit}")
    apps = [
        create_app(ElektradConfig(data_dir=base_dir / f"e{j}", metrics=metrics))
        for j in range(count)
    ]
    sockets: list[socket.socket] = []
    for _ in range(count if addressing == "port" else 1):
        sockets.append(listen_socket())
    ports = [int(s.getsockname()[1]) for s in sockets]
    by_port: dict[int, ASGIApp] = dict(zip(ports, apps, strict=False))
    prefix = re.compile(r"/i([0-9]+)(?=/|$)")
    # Requests served, by method and first path segment ("PUT kdb", "GET version"; "POLL
    # kdbChanges" for a change-feed long poll, "GET kdbChanges" for wait=0): GET
    # /__bench/counts on any of the ports answers them, so that the benchmark sees what
    # clusterd sent during a measurement (deliveries, feed polls, health probes).
    counts: collections.Counter[str] = collections.Counter()
    segment = re.compile(r"(?:/i[0-9]+)?/([^/]*)")
    no_wait = re.compile(rb"(?:^|&)wait=0(?:\.0*)?(?:&|$)")

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"unexpected {scope['type']} scope")
        if scope["path"] == "/__bench/counts":
            body = json.dumps(counts).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        seg = segment.match(scope["path"])
        name = f"{scope['method']} {seg.group(1) if seg else '?'}"
        if name == "GET kdbChanges" and not no_wait.search(scope["query_string"]):
            name = "POLL kdbChanges"  # a long poll; wait=0 reads the position (addInstance)
        counts[name] += 1
        if addressing == "port":
            await by_port[scope["server"][1]](scope, receive, send)
            return
        # What Starlette's Mount does, without trying 250 routes in turn.
        match = prefix.match(scope["path"])
        app = apps[int(match.group(1))] if match and int(match.group(1)) < count else None
        if match is None or app is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"no such instance"})
            return
        root = scope.get("root_path", "")
        child = {**scope, "app_root_path": root, "root_path": root + match.group(0)}
        await app(child, receive, send)

    async def main() -> None:
        # Mount-style dispatch runs no sub-app lifespans: open each database here.
        async with contextlib.AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            config = uvicorn.Config(
                dispatch,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
                backlog=4096,
            )
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve(sockets=sockets))
            while not server.started:
                if task.done():
                    await task
                    raise RuntimeError("uvicorn stopped during start-up")
                await asyncio.sleep(0.02)
            if addressing == "port":
                urls = [f"http://127.0.0.1:{p}" for p in ports]
            else:
                urls = [f"http://127.0.0.1:{ports[0]}/i{j}" for j in range(count)]
            control = f"http://127.0.0.1:{ports[0]}"
            _write_atomically(port_file, {"urls": urls, "control": control, "nofile": limit})
            await task

    asyncio.run(main())


def serve_clusterd(
    database_url: str,
    port_file: Path,
    args: argparse.Namespace,
    *,
    settings_changes: dict[str, Any] | None = None,
    wrap: Callable[[Any], Any] | None = None,
) -> None:
    """Serve clusterd with the benchmark's settings until SIGTERM; ``{"url": ...}`` to
    ``port_file`` once serving. With ``--profile FILE``, SIGUSR1 starts cProfile on the
    event-loop thread and SIGUSR2 stops it and writes the stats to FILE.

    For other benchmarks: ``settings_changes`` go on top of the benchmark's settings, and
    ``wrap(app)`` is served in place of clusterd's ASGI app (e.g. to add a control route)."""
    import uvicorn

    import elektra_web
    from elektra_web.clusterd.app import ClusterdConfig, create_app

    limit = raise_file_limit()  # as elektra_web.clusterd.server.serve does
    # clusterd's default Settings (whichever module defines them), with ours on top.
    changes: dict[str, Any] = {
        "call_timeout": args.call_timeout,
        "write_wait": args.write_wait,
        "fanout_limit": args.fanout_limit,
    }
    if args.health_interval is not None:
        changes["health_interval"] = args.health_interval
    changes.update(settings_changes or {})
    settings = dataclasses.replace(ClusterdConfig(database_url).settings, **changes)
    config = ClusterdConfig(
        database_url,
        settings=settings,
        health_checks=args.health_checks,
        follow_feeds=args.follow_feeds,
        admin_token=BENCH_TOKEN,
    )
    if args.with_metrics:
        config.metrics = True
    app = create_app(config)
    if args.profile:
        profile_on_signals(args.profile)
    sock = listen_socket()
    port = int(sock.getsockname()[1])
    # The settings of elektra_web.clusterd.server.serve.
    uv_config = uvicorn.Config(
        wrap(app) if wrap is not None else app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
        ws_per_message_deflate=False,
        ws_max_size=1024 * 1024,
    )
    server = uvicorn.Server(uv_config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("uvicorn stopped during start-up")
            await asyncio.sleep(0.02)
        info = {
            "url": f"http://127.0.0.1:{port}",
            "nofile": limit,
            "health_interval": settings.health_interval,
        }
        _write_atomically(port_file, {**info, "elektra_web": elektra_web.__file__})
        await task

    asyncio.run(main())


def probe_version(url: str, interval: float) -> None:
    """Measure ``{ version }`` latency on demand, in its own process and connection.

    Prints "ready" once connected; after a line "start" on stdin it sends one query every
    ``interval`` seconds (back to back when one takes longer) until a line "stop", then
    prints ``{"latencies": [seconds, ...], "errors": [...]}``; "quit" (or EOF) ends it.
    """
    import threading

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=url, headers=AUTH, timeout=120, limits=limits) as http:

        def once() -> None:
            r = http.post("/graphql", json={"query": VERSION_QUERY})
            if r.status_code != 200 or "errors" in r.json():
                raise GraphQLError(f"HTTP {r.status_code}: {r.text[:200]}")

        once()  # connected
        print("ready", flush=True)
        stop = threading.Event()
        latencies: list[float] = []
        errors: list[str] = []

        def run() -> None:
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    once()
                except (httpx.HTTPError, GraphQLError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                latencies.append(time.perf_counter() - began)
                stop.wait(began + interval - time.perf_counter())

        thread: threading.Thread | None = None
        for line in sys.stdin:
            command = line.strip()
            if command == "start" and thread is None:
                stop.clear()
                latencies.clear()
                errors.clear()
                thread = threading.Thread(target=run)
                thread.start()
            elif command == "stop" and thread is not None:
                stop.set()
                thread.join()
                thread = None
                print(json.dumps({"latencies": latencies, "errors": errors}), flush=True)
            elif command == "quit":
                break


def listen_socket() -> socket.socket:
    """A socket on a free port of 127.0.0.1 for uvicorn, as its own bind would make it.

    ``proto=IPPROTO_TCP`` matters: asyncio sets TCP_NODELAY only on sockets whose proto
    says TCP, and without it every response on a kept-alive connection after the first
    waits 40 ms for the client's delayed ACK (Nagle), which measures the kernel, not us.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _write_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.rename(path)


# -- processes --------------------------------------------------------------------------------


@dataclass
class Proc:
    """A child process of this script that reports readiness in a JSON file."""

    name: str
    popen: subprocess.Popen[bytes]
    ready_file: Path
    log: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.popen.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start in {timeout:g}s:\n{self.tail()}")
            time.sleep(0.05)
        self.info = json.loads(self.ready_file.read_text())

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def cpu(self) -> tuple[float, float]:
        """(CPU seconds of the whole process, of its main thread): user + system."""
        return _cpu(f"/proc/{self.pid}/stat"), _cpu(f"/proc/{self.pid}/task/{self.pid}/stat")

    def busy(self) -> float:
        """CPU seconds of the process's live threads, to the nanosecond (schedstat; the
        ticks of ``cpu`` are 10 ms): for telling idle from busy over 200 ms."""
        total = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9

    def memory(self) -> tuple[float, int]:
        """(resident MiB, threads)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return rss, threads


def _cpu(stat_file: str) -> float:
    fields = Path(stat_file).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def processes(script: str = __file__) -> Iterator[Callable[[str, list[str], Path], Proc]]:
    """``start(name, args, workdir)``: a child running ``script`` (this one by default;
    ``READY`` in ``args`` becomes its readiness file); all are stopped at the end."""
    started: list[Proc] = []

    def start(name: str, args: list[str], workdir: Path) -> Proc:
        log = workdir / f"{name}.log"
        ready = workdir / f"{name}.ready"
        cmd = [sys.executable, script, *(str(ready) if a == READY else a for a in args)]
        with log.open("wb") as out:
            popen = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=out)
        proc = Proc(name, popen, ready, log)
        started.append(proc)
        return proc

    try:
        yield start
    except BaseException:
        for proc in started:
            if tail := proc.tail(15):
                print(f"--- last lines of {proc.name}'s log:\n{tail}", file=sys.stderr)
        raise
    finally:
        for proc in started:
            if proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in started:
            try:
                proc.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()


# -- the client -------------------------------------------------------------------------------


class GraphQLError(RuntimeError):
    pass


@dataclass
class Clusterd:
    http: httpx.Client

    def ok(self, document: str, **variables: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": document, "variables": variables})
        if response.status_code != 200:
            raise GraphQLError(f"HTTP {response.status_code}: {response.text[:500]}")
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise GraphQLError(json.dumps(body["errors"])[:2000])
        data: dict[str, Any] = body["data"]
        return data


async def set_up(url: str, hosts: list[str], concurrency: int = 8) -> tuple[str, list[str]]:
    """Register the instances, create a cluster, assign them all: (cluster id, instance ids)."""
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=AUTH) as http:
        sem = asyncio.Semaphore(concurrency)

        async def ok(document: str, **variables: Any) -> dict[str, Any]:
            async with sem:
                r = await http.post("/graphql", json={"query": document, "variables": variables})
            body: dict[str, Any] = r.json()
            if r.status_code != 200 or body.get("errors"):
                raise GraphQLError(r.text[:2000])
            data: dict[str, Any] = body["data"]
            return data

        add = (
            "mutation($n: String!, $h: String!) "
            "{ addInstance(input: {name: $n, host: $h}) { id status } }"
        )
        added = await asyncio.gather(*(ok(add, n=f"i{i:04d}", h=h) for i, h in enumerate(hosts)))
        offline = [a for a in added if a["addInstance"]["status"] != "ONLINE"]
        if offline:
            raise RuntimeError(f"{len(offline)} instances did not answer the probe")
        ids = [str(a["addInstance"]["id"]) for a in added]
        create = 'mutation { createCluster(input: {name: "bench"}) { id } }'
        cluster = str((await ok(create))["createCluster"]["id"])
        assign = (
            "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }"
        )
        await asyncio.gather(*(ok(assign, c=cluster, i=i) for i in ids))
        return cluster, ids


def check_applied(data: dict[str, Any], count: int, what: str) -> None:
    results = data["setKey"]["results"]
    bad = [r for r in results if r["delivery"] != "APPLIED"]
    if len(results) != count or bad:
        states = dict(collections.Counter(r["delivery"] for r in results))
        raise RuntimeError(f"{what}: {len(results)} results {states}, not APPLIED: {bad[:3]}")


@dataclass
class Usage:
    """CPU seconds spent during one measurement, by whom."""

    loop: float = 0.0  # clusterd's event-loop (main) thread
    other: float = 0.0  # clusterd's other threads: SQLite worker, getaddrinfo pool
    elektrads: float = 0.0  # all helper processes
    client: float = 0.0  # this process
    # Until clusterd was idle again after the request returned (``tail``: seconds after it
    # returned; None: not idle within --tail-timeout), CPU since the request was sent:
    tail: float | None = None
    loop_idle: float = 0.0
    process_idle: float = 0.0
    # Requests the elektrads served from the request's start until idle ("PUT kdb", ...).
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def process(self) -> float:
        return self.loop + self.other


@dataclass
class Env:
    clusterd: Clusterd
    clusterd_proc: Proc
    helpers: list[Proc]
    cluster: str
    ids: list[str]
    hosts: list[str]
    control: httpx.Client
    tail_timeout: float = 120.0
    #: Scrape clusterd's /metrics after each round (to see it answers).
    scrape: bool = False

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until clusterd and the elektrads are idle (< 5% of a core over 0.3 s): the
        work a request leaves behind (e.g. the echoes of a write through the change feeds)
        should not be timed as part of the next one."""
        deadline = time.monotonic() + timeout
        procs = [self.clusterd_proc, *self.helpers]
        while time.monotonic() < deadline:
            before = sum(p.busy() for p in procs)
            time.sleep(0.3)
            if sum(p.busy() for p in procs) - before < 0.015:
                return

    def wait_idle(self, began: float) -> float | None:
        """Wait until clusterd is idle: two 200 ms samples in a row under 5% of a core.
        Returns the seconds from ``began`` to the end of the last busy sample, or None if
        clusterd was still busy after ``tail_timeout`` seconds."""
        deadline = time.perf_counter() + self.tail_timeout
        busy_until = time.perf_counter()
        quiet = 0
        last = self.clusterd_proc.busy()
        while quiet < 2:
            if time.perf_counter() > deadline:
                return None
            time.sleep(0.2)
            now = self.clusterd_proc.busy()
            if now - last < 0.2 * 0.05:
                quiet += 1
            else:
                quiet, busy_until = 0, time.perf_counter()
            last = now
        return max(0.0, busy_until - began)

    def requests(self) -> collections.Counter[str]:
        """Requests served by the elektrads so far, by method and first path segment."""
        total: collections.Counter[str] = collections.Counter()
        for helper in self.helpers:
            total.update(self.control.get(f"{helper.info['control']}/__bench/counts").json())
        return total

    def scrape_metrics(self) -> None:
        url = f"{self.clusterd_proc.info['url']}/metrics"
        response = httpx.get(url, headers=AUTH, timeout=60)
        if response.status_code != 200 or b"clusterd_deliveries" not in response.content:
            raise RuntimeError(f"GET /metrics: {response.status_code} {response.text[:300]}")

    def measure(self, fn: Callable[[], None], tail: bool = False) -> tuple[float, Usage]:
        """Time ``fn`` (after waiting for idle) and the CPU it costs; with ``tail`` also
        the CPU clusterd spends after it returned, until it is idle again."""
        self.settle()
        r0 = self.requests()
        c0, h0, p0 = (
            self.clusterd_proc.cpu(),
            [h.cpu()[0] for h in self.helpers],
            time.process_time(),
        )
        start = time.perf_counter()
        fn()
        wall = time.perf_counter() - start
        c1, h1, p1 = (
            self.clusterd_proc.cpu(),
            [h.cpu()[0] for h in self.helpers],
            time.process_time(),
        )
        loop = c1[1] - c0[1]
        usage = Usage(loop, max(0.0, (c1[0] - c0[0]) - loop), sum(h1) - sum(h0), p1 - p0)
        if tail:
            returned = time.perf_counter()
            usage.tail = self.wait_idle(returned)
            c2 = self.clusterd_proc.cpu()
            usage.loop_idle, usage.process_idle = c2[1] - c0[1], c2[0] - c0[0]
        usage.requests = dict(self.requests() - r0)
        return wall, usage


class VersionProbe:
    """The ``{ version }`` prober (``--probe-version``): its own process and connection,
    so that neither this client nor its GIL slows it."""

    def __init__(self, url: str, interval: float, workdir: Path) -> None:
        cmd = [sys.executable, __file__, "--probe-version", url, "--probe-interval", str(interval)]
        self.log = (workdir / "version-probe.log").open("wb")
        self.popen = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log
        )
        if self._line() != "ready":
            raise RuntimeError("the { version } prober did not start")

    def _line(self) -> str:
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline().decode().strip()
        if not line:
            raise RuntimeError(f"the {{ version }} prober exited {self.popen.poll()}")
        return line

    def _send(self, command: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(f"{command}\n".encode())
        self.popen.stdin.flush()

    def start(self) -> None:
        self._send("start")

    def stop(self) -> dict[str, Any]:
        self._send("stop")
        result: dict[str, Any] = json.loads(self._line())
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send("quit")
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.log.close()


# The measured operations: each checks what it got.


def parallel_write(env: Env, value: str) -> None:
    data = env.clusterd.ok(CLUSTER_WRITE, c=env.cluster, p=KEY, v=value)
    check_applied(data, len(env.ids), "cluster write")


def parallel_read(env: Env, value: str) -> None:
    instances = env.clusterd.ok(READ_ALL, p=KEY)["instances"]
    wrong = [i for i in instances if (i["key"] or {}).get("value") != value]
    if len(instances) != len(env.ids) or wrong:
        raise RuntimeError(f"read of all: {len(instances)} answers, wrong: {wrong[:5]}")


def sequential_write(env: Env, value: str, ids: list[str]) -> None:
    for instance in ids:
        check_applied(env.clusterd.ok(INSTANCE_WRITE, i=instance, p=SEQ_KEY, v=value), 1, instance)


def sequential_read(env: Env, value: str, ids: list[str]) -> None:
    for instance in ids:
        got = env.clusterd.ok(READ_ONE, i=instance, p=KEY)["instance"]["key"]["value"]
        if got != value:
            raise RuntimeError(f"instance {instance}: read {got!r}, wrote {value!r}")


def direct_put(http: httpx.Client, value: str, hosts: list[str]) -> None:
    for host in hosts:
        r = http.put(
            f"{host}/kdb/{DIRECT_KEY}", content=value, headers={"content-type": "text/plain"}
        )
        if r.status_code != 200:
            raise RuntimeError(f"PUT {host}: {r.status_code} {r.text[:200]}")


def direct_get(http: httpx.Client, value: str, hosts: list[str]) -> None:
    for host in hosts:
        r = http.get(f"{host}/kdb/{KEY}")
        if r.status_code != 200 or r.json().get("value") != value:
            raise RuntimeError(f"GET {host}: {r.status_code} {r.text[:200]}")


OPS = ["par_write", "par_read", "seq_write", "seq_read", "dir_put", "dir_get"]


@dataclass
class SizeResult:
    n: int
    #: Measured with clusterd's and the elektrads' metrics on.
    metrics: bool = False
    times: dict[str, list[float]] = field(default_factory=dict)
    usage: dict[str, list[Usage]] = field(default_factory=dict)
    memory: str = ""
    setup: float = 0.0
    #: The parallel write timed with the { version } prober running: its wall time,
    #: the latencies (seconds) and errors of the queries.
    probed_write: float = 0.0
    latencies: list[float] = field(default_factory=list)
    latency_errors: list[str] = field(default_factory=list)

    def t(self, op: str) -> float:
        return statistics.median(self.times[op])

    @property
    def label(self) -> str:
        """N, and "+m" with metrics on."""
        return f"{self.n}+m" if self.metrics else str(self.n)


def run_size(
    result: SizeResult, args: argparse.Namespace, workdir: Path, say: Callable[[str], None]
) -> None:
    """Measure one size into ``result`` (what was measured stays there if a later step
    fails)."""
    n = result.n
    started = time.perf_counter()
    with processes() as start:
        helpers = start_elektrads(start, n, args.helpers, args.addressing, workdir, result.metrics)
        helpers_n = len(helpers)
        settings = clusterd_options(args, result.metrics)
        if args.profile_clusterd and n == max(args.sizes):
            settings += ["--profile", str(workdir / "clusterd.prof")]
        db = clusterd_database(workdir, args.clusterd_sqlite)
        clusterd_proc = start("clusterd", ["--serve-clusterd", db, READY, *settings], workdir)
        for proc in [*helpers, clusterd_proc]:
            proc.wait_ready(START_TIMEOUT)
        hosts = elektrad_hosts(helpers, n)
        if n == args.sizes[0]:
            say(
                f"clusterd imports {clusterd_proc.info['elektra_web']}; open-files limit: "
                f"clusterd {clusterd_proc.info['nofile']}, "
                f"helpers {min(h.info['nofile'] for h in helpers)}; health checks "
                + (
                    f"every {clusterd_proc.info['health_interval']:g}s"
                    if args.health_checks
                    else "off"
                )
            )
        say(f"N={n}: {helpers_n} helper process(es) up; registering and assigning {n} instances")
        url = clusterd_proc.info["url"]
        cluster, ids = asyncio.run(set_up(url, hosts))
        mem = [p.memory() for p in helpers]
        c_rss, c_threads = clusterd_proc.memory()
        result.memory = (
            f"elektrad helpers: {helpers_n} x ~{n // helpers_n} apps, RSS "
            f"{sum(m[0] for m in mem):.0f} MiB total ({sum(m[0] for m in mem) / n:.2f} MiB "
            f"per instance), {sum(m[1] for m in mem)} threads; "
            f"clusterd RSS {c_rss:.0f} MiB, {c_threads} threads"
        )
        result.setup = time.perf_counter() - started
        say(f"N={n}: set up in {result.setup:.1f}s ({result.memory}); load {load()}")
        timeout = httpx.Timeout(args.write_wait + 120)
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        with (
            httpx.Client(base_url=url, timeout=timeout, limits=limits, headers=AUTH) as gql,
            httpx.Client(timeout=60) as direct,
        ):
            env = Env(Clusterd(gql), clusterd_proc, helpers, cluster, ids, hosts, direct)
            env.tail_timeout = args.tail_timeout
            env.scrape = result.metrics
            sequential = not args.parallel_only and n <= args.seq_max
            if args.follow_feeds:
                # clusterd claims new instances' feeds every follow_supervise_interval
                # (5 s): measure only once it follows all N, as it would in production.
                polls = wait_following(env, START_TIMEOUT)
                say(f"N={n}: clusterd follows the change feeds ({polls} polls); load {load()}")
            for round_ in range(args.rounds + 1):
                warmup = round_ == 0
                value = f"v{round_}-{n}-{time.time_ns()}"
                seq_ids = ids[: min(n, 10)] if warmup else ids
                seq_hosts = hosts[: min(n, 10)] if warmup else hosts
                ops: dict[str, Callable[[], None]] = {
                    "par_write": partial(parallel_write, env, value),
                    "par_read": partial(parallel_read, env, value),
                    "seq_write": partial(sequential_write, env, value, seq_ids),
                    "seq_read": partial(sequential_read, env, value, seq_ids),
                    "dir_put": partial(direct_put, direct, value, seq_hosts),
                    "dir_get": partial(direct_get, direct, value, seq_hosts),
                }
                if not sequential:
                    ops = {op: fn for op, fn in ops.items() if not op.startswith("seq_")}
                for op, fn in ops.items():
                    wall, usage = env.measure(fn, tail=op == "par_write")
                    if not warmup:
                        result.times.setdefault(op, []).append(wall)
                        result.usage.setdefault(op, []).append(usage)
                if env.scrape:
                    env.scrape_metrics()
                label = "warm-up" if warmup else f"round {round_}/{args.rounds}"
                last = "" if warmup else f": parallel write {result.times['par_write'][-1]:.3f}s"
                say(f"N={n}: {label} done{last}; load {load()}")
            try:
                probed_write(env, result, args.probe_interval, workdir)
            except (RuntimeError, httpx.HTTPError) as exc:
                result.latency_errors.append(f"the probed write failed: {exc}"[:400])
            say(
                f"N={n}: parallel write with {{ version }} queries running: "
                f"{result.probed_write:.3f}s, {len(result.latencies)} queries"
            )
            if args.profile_clusterd and n == max(args.sizes):
                profile_parallel(env, workdir / "clusterd.prof", say)
        say(f"N={n}: stopping")


def start_elektrads(
    start: Callable[[str, list[str], Path], Proc],
    n: int,
    helpers: int,
    addressing: str,
    workdir: Path,
    metrics: bool = False,
) -> list[Proc]:
    """Start N elektrad apps in up to ``helpers`` helper processes of this script (not yet
    ready: ``wait_ready`` each, then :func:`elektrad_hosts`)."""
    helpers_n = max(1, min(helpers, n))
    counts = [len(range(h, n, helpers_n)) for h in range(helpers_n)]
    started = []
    for h, count in enumerate(counts):
        base = workdir / f"helper{h}"
        base.mkdir()
        cmd = [
            "--serve-elektrads",
            str(count),
            str(base),
            READY,
            "--addressing",
            addressing,
            *(["--with-metrics"] if metrics else []),
        ]
        started.append(start(f"helper{h}", cmd, workdir))
    return started


def elektrad_hosts(helpers: list[Proc], n: int) -> list[str]:
    """The base URLs of the N instances, once the helpers are ready: instance i lives in
    helper i % helpers, as app i // helpers."""
    return [helpers[i % len(helpers)].info["urls"][i // len(helpers)] for i in range(n)]


def clusterd_options(args: argparse.Namespace, metrics: bool = False) -> list[str]:
    """The options of ``--serve-clusterd`` for the benchmark's settings in ``args``."""
    settings = ["--write-wait", str(args.write_wait), "--call-timeout", str(args.call_timeout)]
    settings += ["--fanout-limit", str(args.fanout_limit)]
    settings += ["--follow-feeds" if args.follow_feeds else "--no-follow-feeds"]
    settings += ["--health-checks" if args.health_checks else "--no-health-checks"]
    if metrics:
        settings += ["--with-metrics"]
    if args.health_interval is not None:
        settings += ["--health-interval", str(args.health_interval)]
    return settings


def clusterd_database(workdir: Path, pragmas: str | None = None) -> str:
    """A fresh SQLite database for clusterd in ``workdir``."""
    db = f"sqlite://{workdir / 'clusterd.sqlite3'}"
    if pragmas:
        db += "?" + pragmas  # Tortoise makes query parameters PRAGMAs
    return db


def wait_following(env: Env, timeout: float) -> int:
    """Wait until the elektrads have had N change-feed polls (one per instance: nothing
    changes during set-up, so clusterd then follows all N); returns the polls so far."""
    deadline = time.monotonic() + timeout
    while True:
        polls = env.requests()["POLL kdbChanges"]
        if polls >= len(env.hosts):
            return polls
        if time.monotonic() > deadline:
            raise RuntimeError(f"clusterd follows only {polls} of {len(env.hosts)} feeds")
        time.sleep(0.5)


def probed_write(env: Env, result: SizeResult, interval: float, workdir: Path) -> None:
    """One more parallel write, with the { version } prober querying clusterd from the
    moment the mutation is sent until it returns (its CPU is not counted: the prober's
    queries would be part of it)."""
    probe = VersionProbe(env.clusterd_proc.info["url"], interval, workdir)
    try:
        env.settle()
        probe.start()
        began = time.perf_counter()
        try:
            parallel_write(env, f"probed-{time.time_ns()}")
        finally:
            result.probed_write = time.perf_counter() - began
            got = probe.stop()
            result.latencies, result.latency_errors = got["latencies"], got["errors"]
    finally:
        probe.close()


def profile_parallel(env: Env, stats_file: Path, say: Callable[[str], None]) -> None:
    """The parallel write and read once more (unmeasured), with cProfile on clusterd's
    event-loop thread (for the write until clusterd is idle again, so the echoes through
    the change feeds are in it); prints where its time went."""
    value = f"profiled-{time.time_ns()}"
    ops: list[tuple[str, Callable[[], None], bool]] = [
        ("parallel write", partial(parallel_write, env, value), True),
        ("parallel read", partial(parallel_read, env, value), False),
    ]
    profile_ops(env, stats_file, say, ops)


def profile_ops(
    env: Env,
    stats_file: Path,
    say: Callable[[str], None],
    ops: list[tuple[str, Callable[[], None], bool]],
    lines: int = 30,
    focus: str | None = None,
) -> None:
    """Run each ``(name, fn, tail)`` once (unmeasured) with cProfile on clusterd's event-loop
    thread (started with ``--profile stats_file``), with ``tail`` until clusterd is idle
    again; prints where its time went, by own time and cumulative (``lines`` of each), and
    with ``focus`` (a regular expression of ``file:line(function)``) the functions matching
    it, cumulative."""
    for name, fn, tail in ops:
        stats_file.unlink(missing_ok=True)
        env.settle()
        os.kill(env.clusterd_proc.pid, signal.SIGUSR1)
        time.sleep(0.2)
        try:
            fn()
        except (RuntimeError, httpx.HTTPError) as exc:  # still show the profile
            say(f"the profiled {name} failed: {exc}"[:400])
        if tail:
            env.wait_idle(time.perf_counter())
        os.kill(env.clusterd_proc.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not stats_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # let the dump finish
        out = io.StringIO()
        stats = pstats.Stats(str(stats_file), stream=out)
        stats.sort_stats("tottime").print_stats(lines // 2)
        stats.sort_stats("cumulative").print_stats(lines)
        if focus:
            stats.print_stats(focus, lines)
        say(f"clusterd's event loop during one {name} at N={len(env.ids)}, profiled:")
        print(out.getvalue(), flush=True)


# -- the report -------------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_each(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def median_round(r: SizeResult, op: str) -> int:
    """The index of the round whose time is the median (the upper one of an even count)."""
    return sorted(range(len(r.times[op])), key=r.times[op].__getitem__)[len(r.times[op]) // 2]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def report(results: list[SizeResult], args: argparse.Namespace) -> None:
    print()
    if not results:
        return
    for r in results:
        print(f"N = {r.label}  ({r.memory})")
        if "par_read" not in r.times:
            r.times["par_read"], r.usage["par_read"] = [math.nan], [Usage()]
        head = (
            f"  {'':16} {'parallel':>10} {'spread':>17} | {'sequential':>10} {'speed-up':>8} | "
            f"{'per instance: par':>17} {'seq':>8} | {'direct':>9} {'par/direct':>10}"
        )
        print(head)
        print("  " + "-" * (len(head) - 2))
        for label, par, seq, direct in [
            ("write one key", "par_write", "seq_write", "dir_put"),
            ("read one key", "par_read", "seq_read", "dir_get"),
        ]:
            p = r.t(par)
            lo, hi = min(r.times[par]), max(r.times[par])
            line = f"  {label:16} {fmt_time(p):>10} {fmt_time(lo) + '-' + fmt_time(hi):>17} | "
            if seq in r.times:
                s = r.t(seq)
                line += f"{fmt_time(s):>10} {s / p:>7.1f}x | {fmt_each(p / r.n):>17} "
                line += f"{fmt_each(s / r.n):>8} | "
            else:
                line += f"{'-':>10} {'-':>8} | {fmt_each(p / r.n):>17} {'-':>8} | "
            if direct in r.times:
                d = r.t(direct)
                line += f"{fmt_time(d):>9} {p / d:>9.2f}x"
            else:
                line += f"{'-':>9} {'-':>10}"
            print(line)
        print()
    print("parallel:   one GraphQL request to clusterd (cluster setKey / instances { key })")
    print("sequential: N GraphQL requests, one after another (setKey(instanceId) / instance(id));")
    print(f"            '-': skipped (--parallel-only, or N > --seq-max {args.seq_max})")
    print("direct:     N requests straight to the elektrads, one after another, one httpx client")
    print("            (PUT /kdb/... / GET /kdb/...): the floor, without clusterd")
    print("speed-up = sequential / parallel; par/direct < 1: the fan-out beats even the floor")
    print(f"times: median of {args.rounds} rounds (spread: min-max of the parallel request)")
    print()
    print(
        "the parallel write against the floor, and clusterd's CPU for it (median round; CPU "
        "from /proc,\nat the moment the write returned and until clusterd was idle again):"
    )
    head = (
        f"  {'N':>5} {'write':>8} {'floor':>8} {'write/':>7} | {'CPU at return (s)':>17} "
        f"{'ms/delivery':>12} | {'+tail':>6} {'CPU to idle (s)':>15} {'ms/delivery':>12} | "
        f"{'elektrads served, write to idle':>31}"
    )
    print(head)
    print(
        f"  {'':5} {'':8} {'':8} {'floor':>7} | {'loop':>8} {'process':>8} "
        f"{'loop':>5} {'proc':>6} | {'':6} {'loop':>7} {'process':>7} {'loop':>5} "
        f"{'proc':>6} | {'PUT kdb':>8} {'feed poll':>9} {'GET version':>12}"
    )
    print("  " + "-" * (len(head) - 2))
    for r in results:
        i = median_round(r, "par_write")
        w, u = r.times["par_write"][i], r.usage["par_write"][i]
        floor = r.t("dir_put") if "dir_put" in r.times else math.nan
        ms = 1000 / r.n
        tail = f"{u.tail:5.1f}s" if u.tail is not None else " >" + f"{args.tail_timeout:g}s"
        q = u.requests
        print(
            f"  {r.label:>5} {fmt_time(w):>8} {fmt_time(floor):>8} {w / floor:>6.2f}x | "  # nan
            f"{u.loop:>8.3f} {u.process:>8.3f} {u.loop * ms:>5.2f} {u.process * ms:>6.2f} | "
            f"{tail:>6} {u.loop_idle:>7.3f} {u.process_idle:>7.3f} {u.loop_idle * ms:>5.2f} "
            f"{u.process_idle * ms:>6.2f} | {q.get('PUT kdb', 0):>8} "
            f"{q.get('POLL kdbChanges', 0):>9} {q.get('GET version', 0):>12}"
        )
    print("  ms/delivery: clusterd CPU / N, of its event-loop thread (loop) and the whole process;")
    print("  +tail: seconds clusterd stayed busy after the write returned (the deliveries'")
    print("  echoes through the change feeds; a health check that fell in is counted too, see")
    print("  GET version: N per health check); idle = two 200 ms samples under 5% of a core")
    print()
    print(
        f"{{ version }} latency while one more parallel write runs (own process and connection, "
        f"a query every {args.probe_interval * 1000:g} ms or back to back):"
    )
    print(f"  {'N':>5} {'write':>8} {'queries':>8} {'p50':>9} {'p99':>9} {'max':>9} {'errors':>7}")
    for r in results:
        if not r.latencies:
            print(f"  {r.label:>5} {fmt_time(r.probed_write):>8} {0:>8}")
            continue
        lat = r.latencies
        print(
            f"  {r.label:>5} {fmt_time(r.probed_write):>8} {len(lat):>8} "
            f"{percentile(lat, 0.5) * 1000:>6.1f} ms {percentile(lat, 0.99) * 1000:>6.1f} ms "
            f"{max(lat) * 1000:>6.1f} ms {len(r.latency_errors):>7}"
        )
        for error in r.latency_errors[:3]:
            print(f"        error: {error}")
    print()
    if len(results) > 1:
        print("growth with N (ratio of medians; equal to the ratio of the N's = linear):")
        names = {
            "par_write": "parallel write",
            "par_read": "parallel read",
            "seq_write": "sequential write",
            "seq_read": "sequential read",
            "dir_put": "direct PUTs",
            "dir_get": "direct GETs",
        }
        for op, name in names.items():
            steps = [
                f"t({b.n})/t({a.n}) = {b.t(op) / a.t(op):5.2f}"
                for a, b in itertools.pairwise(results)
                if op in a.times and op in b.times and a.metrics == b.metrics
            ]
            if steps:
                print(f"  {name:17} " + ",  ".join(steps))
        print()
    print("CPU during the parallel requests (seconds, median round; 2 cores = 2 s per s of wall):")
    print(
        f"  {'':22} {'wall':>7} {'clusterd loop':>13} {'clusterd other':>14} "
        f"{'elektrads':>9} {'client':>7}"
    )
    for r in results:
        for op, name in [("par_write", "write"), ("par_read", "read")]:
            if op not in r.times:
                continue
            i = median_round(r, op)
            u = r.usage[op][i]
            print(
                f"  N={r.label:<5} {name:14} {r.times[op][i]:>7.3f} {u.loop:>13.3f} "
                f"{u.other:>14.3f} {u.elektrads:>9.3f} {u.client:>7.3f}"
            )
    print("  until the request returned. clusterd loop: its event-loop thread (GraphQL, ORM,")
    print("  httpx); other: its SQLite worker thread (aiosqlite) and the thread pool that")
    print("  resolves addresses for httpx")
    compare_metrics(results)


def compare_metrics(results: list[SizeResult]) -> None:
    """With --metrics both: each N's parallel write with metrics on against off."""
    pairs = [
        (a, b) if b.metrics else (b, a)
        for i, (a, b) in enumerate(itertools.pairwise(results))
        if i % 2 == 0 and a.n == b.n and a.metrics != b.metrics
    ]
    if not pairs:
        return
    print()
    print("metrics on against off, the parallel write (medians of the rounds; on / off - 1):")
    print(
        f"  {'N':>5} {'write':>8} {'clusterd CPU to idle':>21} {'ms/delivery off':>16} "
        f"{'elektrads CPU':>14}"
    )

    def cpu(r: SizeResult, what: Callable[[Usage], float]) -> float:
        return statistics.median(what(u) for u in r.usage["par_write"])

    for off, on in pairs:
        clusterd_off = cpu(off, lambda u: u.process_idle)
        clusterd_on = cpu(on, lambda u: u.process_idle)
        helpers_off, helpers_on = cpu(off, lambda u: u.elektrads), cpu(on, lambda u: u.elektrads)
        print(
            f"  {off.n:>5} {on.t('par_write') / off.t('par_write') - 1:>+8.1%} "
            f"{clusterd_on / clusterd_off - 1:>+21.1%} {clusterd_off * 1000 / off.n:>16.2f} "
            f"{helpers_on / helpers_off - 1:>+14.1%}"
        )
    print("  clusterd CPU to idle: its whole process, from the write until idle again (the")
    print("  echoes included); elektrads: all helper processes until the write returned;")
    print("  CPU from /proc in 10 ms ticks")


def load() -> str:
    """The load averages (1, 5, 15 min): others' work on this machine's cores."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_line(args: argparse.Namespace) -> None:
    nproc = len(os.sched_getaffinity(0))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print("command:", shlex.join([sys.executable, *sys.argv]))
    describe = ["git", "-C", str(ROOT), "describe", "--always", "--dirty"]
    revision = subprocess.run(describe, capture_output=True, text=True, check=False)
    print(f"code: elektra-web at {revision.stdout.strip() or 'unknown revision'}")
    print(f"machine: nproc={nproc}, {mem:.0f} GiB, Python {platform.python_version()}")
    print(f"load average at start: {load()}")
    versions = ", ".join(
        f"{p} {version(p)}" for p in ["httpx", "httpcore", "uvicorn", "starlette", "tortoise-orm"]
    )
    print(f"versions: {versions}, strawberry-graphql {version('strawberry-graphql')}")
    pragmas = f" ({args.clusterd_sqlite})" if args.clusterd_sqlite else ""
    print(
        f"clusterd: own process, SQLite{pragmas}, "
        f"Settings(write_wait={args.write_wait:g}, call_timeout={args.call_timeout:g}, "
        f"fanout_limit={args.fanout_limit}), health checks "
        f"{'on' if args.health_checks else 'off'}, change-feed following "
        f"{'on' if args.follow_feeds else 'off'}"
    )
    how = {
        "port": "one port, i.e. one origin, per instance",
        "prefix": "one port per helper, /i{n} path prefixes",
    }[args.addressing]
    print(
        f"elektrads: up to {args.helpers} helper processes, one uvicorn each, "
        f"addressing={args.addressing} ({how})"
    )


def add_setup_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the set-up (helpers, clusterd's settings) and of the child processes,
    which :func:`serve_clusterd`, :func:`serve_elektrads` and :func:`clusterd_options` read:
    for every benchmark built on this one's processes."""
    parser.add_argument("--helpers", type=int, default=4, help="elektrad helper processes")
    parser.add_argument("--addressing", choices=["port", "prefix"], default="port")
    parser.add_argument("--write-wait", type=float, default=120.0)
    parser.add_argument("--call-timeout", type=float, default=5.0)
    parser.add_argument("--fanout-limit", type=int, default=64)
    parser.add_argument(
        "--follow-feeds",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let clusterd follow every instance's change feed, as elektra-web clusterd "
        "and up do (default: on; --no-follow-feeds to compare)",
    )
    parser.add_argument(
        "--health-checks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let clusterd probe every instance every --health-interval seconds, as "
        "elektra-web clusterd and up do (default: on; --no-health-checks to compare)",
    )
    parser.add_argument(
        "--health-interval",
        type=float,
        help="seconds between health checks (default: clusterd's, Settings.health_interval)",
    )
    # Internal modes: the child processes.
    parser.add_argument("--serve-elektrads", nargs=3, metavar=("COUNT", "BASEDIR", "PORTFILE"))
    parser.add_argument("--serve-clusterd", nargs=2, metavar=("DATABASE_URL", "PORTFILE"))
    parser.add_argument("--with-metrics", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10, 100, 1000],
        help="numbers of instances, comma-separated (default 10,100,1000)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per size")
    add_setup_arguments(parser)
    parser.add_argument(
        "--parallel-only",
        action="store_true",
        help="skip the sequential baselines through clusterd (the direct floor stays)",
    )
    parser.add_argument(
        "--seq-max",
        type=int,
        default=1000,
        metavar="N",
        help="skip the sequential baselines through clusterd for sizes above N "
        "(default 1000: at 5,000 they take minutes per round)",
    )
    parser.add_argument(
        "--tail-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for clusterd to be idle after a parallel write returned",
    )
    parser.add_argument(
        "--probe-interval",
        type=float,
        default=0.01,
        help="seconds between { version } queries during the probed write (back to back "
        "when one takes longer; default 0.01)",
    )
    parser.add_argument(
        "--clusterd-sqlite",
        metavar="PRAGMAS",
        help="an experiment: SQLite PRAGMAs for clusterd's database, as URL query "
        "parameters, e.g. synchronous=NORMAL (default: clusterd's own)",
    )
    parser.add_argument(
        "--metrics",
        choices=["off", "on", "both"],
        default="off",
        help="clusterd's and the elektrads' metrics: off (clusterd's default), on (clusterd "
        "scraped once per parallel write), or both: each size off, then on",
    )
    parser.add_argument(
        "--profile-clusterd",
        action="store_true",
        help="after the largest size, profile one more parallel write inside clusterd",
    )
    parser.add_argument("--probe-version", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_version:
        probe_version(args.probe_version, args.probe_interval)
        return 0
    if args.serve_elektrads:
        count, base, port_file = args.serve_elektrads
        serve_elektrads(int(count), Path(base), Path(port_file), args.addressing, args.with_metrics)
        return 0
    if args.serve_clusterd:
        serve_clusterd(args.serve_clusterd[0], Path(args.serve_clusterd[1]), args)
        return 0

    began = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", flush=True)

    machine_line(args)
    results = []
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        modes = {"off": [False], "on": [True], "both": [False, True]}[args.metrics]
        runs = [(n, m) for i, n in enumerate(args.sizes) for m in modes[:: 1 - 2 * (i % 2)]]
        for run, (n, metrics) in enumerate(runs):
            result = SizeResult(n, metrics)
            workdir = Path(tmp) / f"run{run}-n{result.label}"
            workdir.mkdir()
            try:
                run_size(result, args, workdir, say)
            except (RuntimeError, httpx.HTTPError) as exc:  # one size failing ends only it
                failed[result.label] = f"{type(exc).__name__}: {str(exc)[:400]}"
                say(f"N={result.label}: FAILED: {failed[result.label]}")
            if "par_write" in result.times:
                results.append(result)  # a measured parallel write at least: report what is
    report(results, args)
    for label, why in failed.items():
        print(f"N = {label}: FAILED ({why})")
    print(f"load average at the end: {load()}")
    say("done")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
