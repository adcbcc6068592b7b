"""Benchmark clusterd's fan-out: one request to N instances against N requests, one by one.

For each N of ``--sizes`` (default 10, 100, 1000) this starts a fresh clusterd and N real
elektrads, registers the N with ``addInstance`` (each is probed on ``/version``), puts them
all in one cluster with ``assignInstance`` (set-up is not measured), and then times, as a
GraphQL client over HTTP:

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
   - DIRECT, straight to the elektrads (the floor, no clusterd at all): N ``PUT /kdb/...``
     and N ``GET /kdb/...`` (each value checked) through one httpx client.

Each measurement is repeated ``--rounds`` times after one unmeasured warm-up round, each
starting once clusterd and the elektrads are idle again; the median is reported. A table
per N shows parallel and sequential wall time, the speed-up (sequential / parallel) and the
cost per instance; then how each time grows with N (t(1000)/t(100) = 10 is linear), and
where the CPU went during the parallel requests (clusterd's event-loop thread, its other
threads such as the SQLite worker, the elektrads, this client), read from /proc.

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
``elektra-web clusterd``, but with its own ``Settings``: ``write_wait`` 120 s), on a fresh
SQLite file, with its periodic health checks off (no probing of N instances may fall into a
measurement) and, unless ``--follow-feeds``, without following the instances' change feeds:
each follower holds one connection of clusterd's shared HTTP client (2 x fanout_limit = 128
by default) in a long poll, so with more instances than that every other call to the
elektrads waits for a free connection and times out. So client, clusterd and elektrads
never share an event loop, but they share this machine's cores: the numbers are for
everything on one host, over loopback.

For looking into the numbers: ``--profile-clusterd`` profiles one more parallel write and
read at the largest N inside clusterd (cProfile on its event loop); ``--parallel-only``
skips the sequential baselines; ``--fanout-limit``, ``--call-timeout``, ``--addressing``
and ``--clusterd-sqlite synchronous=NORMAL`` (PRAGMAs for clusterd's SQLite) vary the set-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import json
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
from benchlib import AUTH, BENCH_TOKEN, profile_on_signals

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
START_TIMEOUT = 120.0  # seconds for a helper or clusterd to come up
READY = "{ready}"  # in a child's arguments: the file it writes when it serves


# -- the helper processes ---------------------------------------------------------------------


def serve_elektrads(count: int, base_dir: Path, port_file: Path, addressing: str) -> None:
    """Serve ``count`` elektrad apps from one uvicorn server until SIGTERM.

    Writes ``{"urls": [...]}`` (base URL of app j at index j) to ``port_file`` once serving.
    """
    import uvicorn
    from starlette.types import ASGIApp, Receive, Scope, Send

    from elektra_web.elektrad.app import ElektradConfig, create_app

    apps = [create_app(ElektradConfig(data_dir=base_dir / f"e{j}")) for j in range(count)]
    sockets: list[socket.socket] = []
    for _ in range(count if addressing == "port" else 1):
        sockets.append(listen_socket())
    ports = [int(s.getsockname()[1]) for s in sockets]
    by_port: dict[int, ASGIApp] = dict(zip(ports, apps, strict=False))
    prefix = re.compile(r"/i([0-9]+)(?=/|$)")

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"unexpected {scope['type']} scope")
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
            _write_atomically(port_file, {"urls": urls})
            await task

    asyncio.run(main())


def serve_clusterd(database_url: str, port_file: Path, args: argparse.Namespace) -> None:
    """Serve clusterd with the benchmark's settings until SIGTERM; ``{"url": ...}`` to
    ``port_file`` once serving. With ``--profile FILE``, SIGUSR1 starts cProfile on the
    event-loop thread and SIGUSR2 stops it and writes the stats to FILE."""
    import uvicorn

    from elektra_web.clusterd.app import ClusterdConfig, create_app
    from elektra_web.resolvers.services import Settings

    settings = Settings(
        call_timeout=args.call_timeout,
        write_wait=args.write_wait,
        fanout_limit=args.fanout_limit,
        health_interval=3600.0,
    )
    config = ClusterdConfig(
        database_url,
        settings=settings,
        health_checks=False,
        follow_feeds=args.follow_feeds,
        admin_token=BENCH_TOKEN,
    )
    app = create_app(config)
    if args.profile:
        profile_on_signals(args.profile)
    sock = listen_socket()
    port = int(sock.getsockname()[1])
    # The settings of elektra_web.clusterd.server.serve.
    uv_config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(uv_config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("uvicorn stopped during start-up")
            await asyncio.sleep(0.02)
        _write_atomically(port_file, {"url": f"http://127.0.0.1:{port}"})
        await task

    asyncio.run(main())


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
def processes() -> Iterator[Callable[[str, list[str], Path], Proc]]:
    """``start(name, args, workdir)``: a child of this script (``READY`` in ``args`` becomes
    its readiness file); all are stopped at the end."""
    started: list[Proc] = []

    def start(name: str, args: list[str], workdir: Path) -> Proc:
        log = workdir / f"{name}.log"
        ready = workdir / f"{name}.ready"
        cmd = [sys.executable, __file__, *(str(ready) if a == READY else a for a in args)]
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
        raise RuntimeError(f"{what}: {len(results)} results, not APPLIED: {bad[:5]}")


@dataclass
class Usage:
    """CPU seconds spent during one measurement, by whom."""

    loop: float = 0.0  # clusterd's event-loop (main) thread
    other: float = 0.0  # clusterd's other threads: SQLite worker, getaddrinfo pool
    elektrads: float = 0.0  # all helper processes
    client: float = 0.0  # this process


@dataclass
class Env:
    clusterd: Clusterd
    clusterd_proc: Proc
    helpers: list[Proc]
    cluster: str
    ids: list[str]
    hosts: list[str]

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until clusterd and the elektrads are idle (< 5% of a core over 0.3 s): the
        work a request leaves behind (e.g. following N change feeds after a write) should
        not be timed as part of the next one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            procs = [self.clusterd_proc, *self.helpers]
            before = sum(p.cpu()[0] for p in procs)
            time.sleep(0.3)
            if sum(p.cpu()[0] for p in procs) - before < 0.015:
                return

    def measure(self, fn: Callable[[], None]) -> tuple[float, Usage]:
        self.settle()
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
        return wall, usage


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
    times: dict[str, list[float]] = field(default_factory=dict)
    usage: dict[str, list[Usage]] = field(default_factory=dict)
    memory: str = ""
    setup: float = 0.0

    def t(self, op: str) -> float:
        return statistics.median(self.times[op])


def run_size(
    n: int, args: argparse.Namespace, workdir: Path, say: Callable[[str], None]
) -> SizeResult:
    result = SizeResult(n)
    helpers_n = max(1, min(args.helpers, n))
    started = time.perf_counter()
    with processes() as start:
        counts = [len(range(h, n, helpers_n)) for h in range(helpers_n)]
        helpers = []
        for h, count in enumerate(counts):
            base = workdir / f"helper{h}"
            base.mkdir()
            cmd = [
                "--serve-elektrads",
                str(count),
                str(base),
                READY,
                "--addressing",
                args.addressing,
            ]
            helpers.append(start(f"helper{h}", cmd, workdir))
        settings = ["--write-wait", str(args.write_wait), "--call-timeout", str(args.call_timeout)]
        settings += ["--fanout-limit", str(args.fanout_limit)]
        settings += ["--follow-feeds" if args.follow_feeds else "--no-follow-feeds"]
        if args.profile_clusterd and n == max(args.sizes):
            settings += ["--profile", str(workdir / "clusterd.prof")]
        db = f"sqlite://{workdir / 'clusterd.sqlite3'}"
        if args.clusterd_sqlite:
            db += "?" + args.clusterd_sqlite  # Tortoise makes query parameters PRAGMAs
        clusterd_proc = start("clusterd", ["--serve-clusterd", db, READY, *settings], workdir)
        for proc in [*helpers, clusterd_proc]:
            proc.wait_ready(START_TIMEOUT)
        # Instance i lives in helper i % helpers_n, as app i // helpers_n.
        hosts = [helpers[i % helpers_n].info["urls"][i // helpers_n] for i in range(n)]
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
        say(f"N={n}: set up in {result.setup:.1f}s ({result.memory})")
        timeout = httpx.Timeout(args.write_wait + 120)
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        with (
            httpx.Client(base_url=url, timeout=timeout, limits=limits, headers=AUTH) as gql,
            httpx.Client(timeout=60) as direct,
        ):
            env = Env(Clusterd(gql), clusterd_proc, helpers, cluster, ids, hosts)
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
                if args.parallel_only:
                    ops = {op: fn for op, fn in ops.items() if op.startswith("par_")}
                for op, fn in ops.items():
                    wall, usage = env.measure(fn)
                    if not warmup:
                        result.times.setdefault(op, []).append(wall)
                        result.usage.setdefault(op, []).append(usage)
                label = "warm-up" if warmup else f"round {round_}/{args.rounds}"
                last = "" if warmup else f": parallel write {result.times['par_write'][-1]:.3f}s"
                say(f"N={n}: {label} done{last}")
            if args.profile_clusterd and n == max(args.sizes):
                profile_parallel(env, workdir / "clusterd.prof", say)
        say(f"N={n}: stopping")
    return result


def profile_parallel(env: Env, stats_file: Path, say: Callable[[str], None]) -> None:
    """The parallel write and read once more (unmeasured), with cProfile on clusterd's
    event-loop thread; prints where its time went."""
    value = f"profiled-{time.time_ns()}"
    ops: list[tuple[str, Callable[[], None]]] = [
        ("write", partial(parallel_write, env, value)),
        ("read", partial(parallel_read, env, value)),
    ]
    for name, fn in ops:
        stats_file.unlink(missing_ok=True)
        os.kill(env.clusterd_proc.pid, signal.SIGUSR1)
        time.sleep(0.2)
        fn()
        os.kill(env.clusterd_proc.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not stats_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # let the dump finish
        out = io.StringIO()
        stats = pstats.Stats(str(stats_file), stream=out)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(30)
        say(f"clusterd's event loop during one parallel {name} at N={len(env.ids)}, profiled:")
        print(out.getvalue(), flush=True)


# -- the report -------------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_each(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


def report(results: list[SizeResult], args: argparse.Namespace) -> None:
    print()
    if not results:
        return
    for r in results:
        print(f"N = {r.n}  ({r.memory})")
        head = (
            f"  {'':24} {'parallel':>10} {'spread':>17} | {'sequential':>10} {'speed-up':>8} | "
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
            line = f"  {label:24} {fmt_time(p):>10} {fmt_time(lo) + '-' + fmt_time(hi):>17} | "
            if seq in r.times:
                s, d = r.t(seq), r.t(direct)
                line += (
                    f"{fmt_time(s):>10} {s / p:>7.1f}x | {fmt_each(p / r.n):>17} "
                    f"{fmt_each(s / r.n):>8} | {fmt_time(d):>9} {d / p:>9.2f}x"
                )
            else:
                line += (
                    f"{'-':>10} {'-':>8} | {fmt_each(p / r.n):>17} {'-':>8} | {'-':>9} {'-':>10}"
                )
            print(line)
        print()
    print("parallel:   one GraphQL request to clusterd (cluster setKey / instances { key })")
    print("sequential: N GraphQL requests, one after another (setKey(instanceId) / instance(id))")
    print("direct:     N requests straight to the elektrads, one after another, one httpx client")
    print("            (PUT /kdb/... / GET /kdb/...): the floor, without clusterd")
    print("speed-up = sequential / parallel; par/direct > 1: the fan-out beats even the floor")
    print(f"times: median of {args.rounds} rounds (spread: min-max of the parallel request)")
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
            if op not in results[0].times:
                continue
            steps = [
                f"t({b.n})/t({a.n}) = {b.t(op) / a.t(op):5.2f}"
                for a, b in itertools.pairwise(results)
            ]
            print(f"  {name:17} " + ",  ".join(steps))
        print()
    print("CPU during the parallel requests (seconds, median round; 2 cores = 2 s per s of wall):")
    print(
        f"  {'':22} {'wall':>7} {'clusterd loop':>13} {'clusterd other':>14} "
        f"{'elektrads':>9} {'client':>7}"
    )
    for r in results:
        for op, name in [("par_write", "write"), ("par_read", "read")]:
            i = sorted(range(len(r.times[op])), key=r.times[op].__getitem__)[len(r.times[op]) // 2]
            u = r.usage[op][i]
            print(
                f"  N={r.n:<5} {name:14} {r.times[op][i]:>7.3f} {u.loop:>13.3f} "
                f"{u.other:>14.3f} {u.elektrads:>9.3f} {u.client:>7.3f}"
            )
    print("  clusterd loop: its event-loop thread (GraphQL, ORM, httpx); other: its SQLite")
    print("  worker thread (aiosqlite) and the thread pool that resolves addresses for httpx")


def machine_line(args: argparse.Namespace) -> None:
    nproc = len(os.sched_getaffinity(0))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print("command:", shlex.join([sys.executable, *sys.argv]))
    describe = ["git", "-C", str(ROOT), "describe", "--always", "--dirty"]
    revision = subprocess.run(describe, capture_output=True, text=True, check=False)
    print(f"code: elektra-web at {revision.stdout.strip() or 'unknown revision'}")
    print(f"machine: nproc={nproc}, {mem:.0f} GiB, Python {platform.python_version()}")
    versions = ", ".join(
        f"{p} {version(p)}" for p in ["httpx", "httpcore", "uvicorn", "starlette", "tortoise-orm"]
    )
    print(f"versions: {versions}, strawberry-graphql {version('strawberry-graphql')}")
    pragmas = f" ({args.clusterd_sqlite})" if args.clusterd_sqlite else ""
    print(
        f"clusterd: own process, SQLite{pragmas}, "
        f"Settings(write_wait={args.write_wait:g}, call_timeout={args.call_timeout:g}, "
        f"fanout_limit={args.fanout_limit}), health checks off, change-feed following "
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


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10, 100, 1000],
        help="numbers of instances, comma-separated (default 10,100,1000)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per size")
    parser.add_argument("--helpers", type=int, default=4, help="elektrad helper processes")
    parser.add_argument("--addressing", choices=["port", "prefix"], default="port")
    parser.add_argument("--write-wait", type=float, default=120.0)
    parser.add_argument("--call-timeout", type=float, default=5.0)
    parser.add_argument("--fanout-limit", type=int, default=64)
    parser.add_argument(
        "--follow-feeds",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="let clusterd follow every instance's change feed, as it does by default "
        "(off here: each follower holds one of the shared client's 2 x fanout-limit "
        "connections in a long poll, so beyond that many instances other calls starve)",
    )
    parser.add_argument(
        "--parallel-only",
        action="store_true",
        help="skip the sequential baselines (for quick experiments)",
    )
    parser.add_argument(
        "--clusterd-sqlite",
        metavar="PRAGMAS",
        help="an experiment: SQLite PRAGMAs for clusterd's database, as URL query "
        "parameters, e.g. synchronous=NORMAL (default: clusterd's own)",
    )
    parser.add_argument(
        "--profile-clusterd",
        action="store_true",
        help="after the largest size, profile one more parallel write inside clusterd",
    )
    # Internal modes: the child processes.
    parser.add_argument("--serve-elektrads", nargs=3, metavar=("COUNT", "BASEDIR", "PORTFILE"))
    parser.add_argument("--serve-clusterd", nargs=2, metavar=("DATABASE_URL", "PORTFILE"))
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_elektrads:
        count, base, port_file = args.serve_elektrads
        serve_elektrads(int(count), Path(base), Path(port_file), args.addressing)
        return 0
    if args.serve_clusterd:
        serve_clusterd(args.serve_clusterd[0], Path(args.serve_clusterd[1]), args)
        return 0

    began = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", flush=True)

    machine_line(args)
    results = []
    failed: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        for n in args.sizes:
            workdir = Path(tmp) / f"n{n}"
            workdir.mkdir()
            try:
                results.append(run_size(n, args, workdir, say))
            except (RuntimeError, httpx.HTTPError) as exc:  # one size failing ends only it
                failed[n] = f"{type(exc).__name__}: {str(exc)[:400]}"
                say(f"N={n}: FAILED: {failed[n]}")
    report(results, args)
    for n, why in failed.items():
        print(f"N = {n}: FAILED ({why})")
    say("done")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
