"""Benchmark clusterd's subscriptions: fan-out latency to 1,000 subscribers, memory per subscriber.

For each setting of uvicorn's per-message-deflate (``--deflate both``, the default: first
off, as ``elektra-web clusterd`` runs, then on) this starts a fresh clusterd in its own
process (this script run as ``--serve-clusterd PORT DATABASE_URL DEFLATE``: ``create_app(
ClusterdConfig(database_url, settings=Settings()))`` under ``uvicorn.Server`` with the
settings of ``elektra_web.clusterd.server.serve`` but ``ws_per_message_deflate=DEFLATE``, and
``ws`` as ``--ws`` asks: clusterd's own protocol, ``server.WS_PROTOCOL``, by default),
on a fresh SQLite file, with default ``Settings`` (health checks and feed following on),
and registers one real elektrad (``python -m elektra_web.elektrad``, its own process, one
for the whole run) with ``addInstance``. Then, as GraphQL clients of that clusterd:

1. WARM-UP: one websocket subscribes to ``configChanged``, one ``setKey`` on the instance
   is made, and the script waits for the event (this also waits until clusterd follows the
   instance's change feed, which it starts within ``follow_supervise_interval``); closed.
2. MEMORY: clusterd's RSS (``VmRSS`` of ``/proc/PID/status``) is read when it is idle
   (no CPU used for 0.5 s) before any subscriber, after ``--subscribers`` websockets are
   open and acknowledged (``connection_init`` -> ``connection_ack``), and after each of them
   sent its ``subscribe`` (``configChanged`` with no filter, or ``--filter instance``:
   ``instanceId`` of the instance) and clusterd went idle again: strawberry then ran every
   subscription up to its ``bus.subscribe``. That all were registered is proved by step 3,
   where every subscriber must get every event. Reported: (after - before) / N in KiB, and
   the split into the connection and the subscription. Also read after step 3 (the
   compressors of per-message-deflate touch their buffers on the first message sent).
3. LATENCY: ``--changes`` times (after one unmeasured warm-up change with all subscribers),
   one ``setKey(target: {instanceId}, path: "user:/bench/subscriptions", value: unique)``
   mutation over HTTP; the time from just before it is sent until each subscriber's
   ``recv()`` returned the event carrying that value. p50/p99/max per change and over all,
   and EVENTS LOST: subscribers without the event after ``--event-timeout`` (must be 0;
   the script exits 1 otherwise). Where the time goes: the mutation's own response time,
   when clusterd published the event (the event's ``at``, clusterd's clock: same host), the
   first and last arrival, the CPU clusterd and this client used meanwhile, clusterd's
   garbage collections meanwhile (the clusterd process of this script logs each one, with
   ``gc.callbacks``, to a file: a collection stops its event loop), and clusterd's RSS
   once idle after each change (does it grow with the events delivered?).

The client: all websockets in this process, on one asyncio loop, with the ``websockets``
package (as ``tests/clusterd/ws.py``), opened ``--concurrency`` at a time; each offers
permessage-deflate (the package's default, and every browser's), keep-alive pings off on
the client side (uvicorn still pings every 20 s). Only the fields ``operationId op path
value origin at`` are selected (``--with-instance`` adds ``instance { name }``, a database
read per subscriber per event). Everything runs on this machine, over 127.0.0.1: clusterd,
the elektrad and this client share its cores.

Every child process is stopped and the temporary directory removed at the end, also on
errors; the whole run is bounded by ``--time-limit`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import pstats
import re
import resource
import shlex
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
from benchlib import BENCH_TOKEN, profile_on_signals, trace_memory_on_signals
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from elektra_web.apiclient import ClusterdClient

try:
    from elektra_web.clusterd.server import WS_PROTOCOL
except ImportError:  # a tree from before it (to measure it with this client): uvicorn's default
    WS_PROTOCOL = "websockets-sansio"  # type: ignore[assignment,misc]

ROOT = Path(__file__).resolve().parent.parent
KEY = "user:/bench/subscriptions"
FIELDS = "operationId op path value origin at"
SET_KEY = (
    "mutation($i: ID!, $p: String!, $v: String!) "
    "{ setKey(target: {instanceId: $i}, path: $p, value: $v) "
    "{ operationId results { delivery error } } }"
)
ADD_INSTANCE = (
    "mutation($name: String!, $host: String!) "
    "{ addInstance(input: {name: $name, host: $host}) { id } }"
)
START_TIMEOUT = 60.0  # seconds for elektrad or clusterd to answer
QUIET_CPU = 0.01  # CPU seconds per QUIET_WINDOW under which clusterd counts as idle
QUIET_WINDOW = 0.5
PING_CPU = 4e-6  # CPU seconds per open socket per QUIET_WINDOW that still count as idle


# -- the child process: clusterd --------------------------------------------------------------


def raise_fd_limit() -> int:
    """Raise the soft limit of open files to the hard limit (1,000 sockets); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def serve_clusterd(
    port: int,
    database_url: str,
    deflate: bool,
    multiplex: bool,
    gc_log: Path,
    profile: str | None,
) -> int:
    """clusterd as ``elektra_web.clusterd.server.serve`` runs it, deflate and
    ``Settings.multiplex_subscriptions`` as asked.

    Every garbage collection is appended to ``gc_log`` as ``GENERATION MILLISECONDS
    END_WALL_TIME``. With ``profile``, SIGUSR1 starts cProfile on the event-loop thread
    and SIGUSR2 stops it and writes the stats to that file.
    """
    import uvicorn

    from elektra_web.clusterd.app import ClusterdConfig, create_app
    from elektra_web.engine.services import Settings

    raise_fd_limit()
    log_gc(gc_log)
    if profile and os.environ.get("BENCH_TRACE_MEMORY") == "1":
        # BENCH_TRACE_FRAMES=30 BENCH_TRACE_DUMP=/tmp/snap: tracebacks, kept for a closer look.
        frames = int(os.environ.get("BENCH_TRACE_FRAMES") or 1)
        trace_memory_on_signals(profile, frames, os.environ.get("BENCH_TRACE_DUMP"))
    elif profile:
        profile_on_signals(profile)
    settings = Settings(multiplex_subscriptions=multiplex)
    named = os.environ.get("BENCH_WS", "clusterd")
    ws = WS_PROTOCOL if named == "clusterd" else named
    config = ClusterdConfig(
        database_url=database_url,
        settings=settings,
        admin_token=BENCH_TOKEN,
        quiet_gc=os.environ.get("BENCH_QUIET_GC") == "1",
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=5,
            ws=ws,  # type: ignore[arg-type]
            ws_per_message_deflate=deflate,
            ws_max_size=1024 * 1024,  # as clusterd.server.serve
        )
    )
    server.run()
    return 0 if server.started else 1


def log_gc(path: Path) -> Callable[[str, dict[str, int]], None]:
    """Append every collection of the cyclic garbage collector to ``path``: its pauses
    stop the event loop, and so every subscriber's event behind them. The callback."""
    out = path.open("a", buffering=1)
    began = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            ms = (time.perf_counter() - began[0]) * 1000
            out.write(f"{info['generation']} {ms:.3f} {time.time():.6f}\n")

    gc.callbacks.append(callback)
    return callback


#: Where this client's own collections are logged (``log_gc``), once set up.
CLIENT_GC_LOG: list[Path] = []


@dataclass
class GCPauses:
    """The collections in clusterd during a change."""

    total: float = 0.0  # seconds
    longest: float = 0.0
    full: int = 0  # generation-2 collections

    @classmethod
    def read(cls, path: Path, start: float, end: float) -> GCPauses:
        pauses = cls()
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                generation, ms, at = line.split()
                if start <= float(at) <= end:
                    pauses.total += float(ms) / 1000
                    pauses.longest = max(pauses.longest, float(ms) / 1000)
                    pauses.full += generation == "2"
        return pauses


# -- processes --------------------------------------------------------------------------------


@dataclass
class Proc:
    """A child process, its log file and how to read its resources."""

    name: str
    popen: asyncio.subprocess.Process
    log: Path
    gc_log: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+)\s+kB", status)
        assert match is not None, status
        return int(match.group(1))

    def cpu(self) -> float:
        """CPU seconds (user + system) of the whole process."""
        return _cpu(f"/proc/{self.pid}/stat")

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def stop(self) -> None:
        if self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.terminate()
            try:
                await asyncio.wait_for(self.popen.wait(), 20)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.popen.kill()
                await self.popen.wait()


def _cpu(stat_file: str) -> float:
    fields = Path(stat_file).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_file(path: Path, seconds: float) -> None:
    """Wait until ``path`` exists and has not grown for a moment (a profile being dumped)."""
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def process(name: str, args: list[str], workdir: Path, ready_url: str) -> AsyncIterator[Proc]:
    """A child process that serves ``ready_url`` (GET, any status) once up; stopped on exit."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        popen = await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    proc = Proc(name, popen, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if popen.returncode is not None:
                    raise RuntimeError(f"{name} exited {popen.returncode}:\n{proc.tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start in {START_TIMEOUT:g}s")
                try:
                    await http.get(ready_url)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield proc
    except BaseException:
        if tail := proc.tail():
            print(f"--- last lines of {name}'s log:\n{tail}", file=sys.stderr)
        raise
    finally:
        await proc.stop()


async def quiesce(proc: Proc, limit: float = 30.0, sockets: int = 0) -> float:
    """Wait until ``proc`` used almost no CPU for QUIET_WINDOW seconds; the seconds waited.

    Idle is relative to ``sockets`` open: uvicorn pings each every 20 s, which at
    10,000 sockets is 250 pings per window."""
    began = time.monotonic()
    before = proc.cpu()
    quiet = QUIET_CPU + sockets * PING_CPU
    # Tracing every allocation makes even the keep-alive pings of idle sockets cost.
    quiet *= 5 if os.environ.get("BENCH_TRACE_MEMORY") == "1" else 1
    while time.monotonic() - began < limit:
        await asyncio.sleep(QUIET_WINDOW)
        now = proc.cpu()
        if now - before <= quiet:
            return time.monotonic() - began
        before = now
    raise RuntimeError(f"{proc.name} did not go idle in {limit:g}s")


# -- the client -------------------------------------------------------------------------------


@dataclass
class Tracker:
    """The arrivals of one change's event (by its unique value) at the subscribers."""

    expected: int
    times: dict[int, float] = field(default_factory=dict)
    duplicates: int = 0
    change: dict[str, Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def arrive(self, index: int, change: dict[str, Any], at: float) -> None:
        if index in self.times:
            self.duplicates += 1
            return
        self.times[index] = at
        if self.change is None:
            self.change = change
        if len(self.times) >= self.expected:
            self.done.set()


@dataclass
class Events:
    """What the subscribers' reader tasks received."""

    trackers: dict[str, Tracker] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    closed: int = 0

    def track(self, value: str, expected: int) -> Tracker:
        self.trackers[value] = tracker = Tracker(expected)
        return tracker


@dataclass
class Subscriber:
    index: int
    conn: ClientConnection
    deflate: bool
    reader: asyncio.Task[None] | None = None


async def open_subscriber(index: int, ws_url: str) -> Subscriber:
    """A websocket with graphql-transport-ws, initialised and acknowledged."""
    conn = await connect(
        ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        ping_interval=None,
        open_timeout=30,
        close_timeout=5,
    )
    try:
        extensions = (
            conn.response.headers.get("Sec-WebSocket-Extensions", "") if conn.response else ""
        )
        await conn.send(json.dumps({"type": "connection_init", "payload": {"token": BENCH_TOKEN}}))
        ack = json.loads(await asyncio.wait_for(conn.recv(), 30))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"subscriber {index}: expected connection_ack, got {ack}")
    except BaseException:
        await conn.close()
        raise
    return Subscriber(index, conn, "permessage-deflate" in extensions)


async def subscribe(
    sub: Subscriber, document: str, variables: dict[str, Any], events: Events
) -> None:
    """Send ``subscribe`` and start the task that receives this subscriber's events."""
    message = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": document, "variables": variables},
    }
    await sub.conn.send(json.dumps(message))
    sub.reader = asyncio.create_task(read_events(sub, events))


async def read_events(sub: Subscriber, events: Events) -> None:
    try:
        async for raw in sub.conn:
            now = time.perf_counter()
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "next" and not message["payload"].get("errors"):
                change = message["payload"]["data"]["configChanged"]
                tracker = events.trackers.get(change["value"])
                if tracker is not None:
                    tracker.arrive(sub.index, change, now)
                else:
                    events.unexpected.append(f"subscriber {sub.index}: event {change}")
            elif kind == "ping":
                await sub.conn.send(json.dumps({"type": "pong"}))
            elif kind != "pong":
                events.unexpected.append(f"subscriber {sub.index}: {str(message)[:300]}")
    except ConnectionClosed:
        pass
    finally:
        events.closed += 1


async def bounded(count: int, concurrency: int, make: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """``make(i)`` for i in range(count), at most ``concurrency`` at once, in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Any:
        async with gate:
            return await make(i)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def close_all(subs: list[Subscriber]) -> None:
    async def close(sub: Subscriber) -> None:
        with contextlib.suppress(Exception):
            await sub.conn.close()
        if sub.reader is not None:
            sub.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sub.reader

    try:
        async with asyncio.timeout(30):
            await bounded(len(subs), 100, lambda i: close(subs[i]))
    except TimeoutError:
        for sub in subs:
            sub.conn.transport.abort()


# -- one change -------------------------------------------------------------------------------


@dataclass
class ChangeResult:
    label: str
    latencies: list[float]  # seconds from just before the mutation, per subscriber that got it
    lost: int
    duplicates: int
    mutation: float  # the mutation's response time
    published: float | None  # the event's "at" (clusterd's publication), from the same origin
    clusterd_cpu: float
    client_cpu: float
    gc: GCPauses
    client_gc: GCPauses  # this client's collections meanwhile (its loop stops too)
    operation_ok: bool  # the events carry the mutation's operationId, origin "clusterd"
    rss_kib: int = 0  # clusterd's, idle after the change

    @property
    def received(self) -> int:
        return len(self.latencies)


async def one_change(
    label: str,
    api: ClusterdClient,
    instance_id: str,
    subscribers: int,
    events: Events,
    clusterd: Proc,
    wait_seconds: float,
) -> ChangeResult:
    value = f"{label}-{time.time_ns()}"
    tracker = events.track(value, subscribers)
    cpu0, client0 = clusterd.cpu(), time.process_time()
    wall0 = time.time()
    t0 = time.perf_counter()
    data = await api.query(SET_KEY, i=instance_id, p=KEY, v=value)
    mutation = time.perf_counter() - t0
    results = data["setKey"]["results"]
    if [r["delivery"] for r in results] != ["APPLIED"]:
        raise RuntimeError(f"setKey was not applied: {results}")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tracker.done.wait(), max(0.0, wait_seconds - mutation))
    cpu1, client1 = clusterd.cpu(), time.process_time()
    wall1 = time.time()
    events.trackers.pop(value)
    published = None
    ok = False
    if tracker.change is not None:
        at = dt.datetime.fromisoformat(tracker.change["at"]).timestamp()
        published = at - wall0
        ok = (
            tracker.change["operationId"] == data["setKey"]["operationId"]
            and tracker.change["origin"] == "clusterd"
            and tracker.change["path"] == KEY
        )
    return ChangeResult(
        label=label,
        latencies=sorted(t - t0 for t in tracker.times.values()),
        lost=subscribers - len(tracker.times),
        duplicates=tracker.duplicates,
        mutation=mutation,
        published=published,
        clusterd_cpu=cpu1 - cpu0,
        client_cpu=client1 - client0,
        gc=GCPauses.read(clusterd.gc_log, wall0, wall1) if clusterd.gc_log else GCPauses(),
        client_gc=GCPauses.read(CLIENT_GC_LOG[0], wall0, wall1) if CLIENT_GC_LOG else GCPauses(),
        operation_ok=ok,
    )


# -- one clusterd -----------------------------------------------------------------------------


@dataclass
class RunResult:
    deflate: bool
    multiplex: bool
    negotiated: int = 0
    rss: dict[str, int] = field(default_factory=dict)  # KiB at: before, connected, ...
    open_seconds: float = 0.0
    subscribe_seconds: float = 0.0
    warmup: ChangeResult | None = None
    changes: list[ChangeResult] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    profile: str = ""


async def run_clusterd(
    deflate: bool,
    multiplex: bool,
    elektrad_url: str,
    args: argparse.Namespace,
    workdir: Path,
    say: Callable[[str], None],
) -> RunResult:
    result = RunResult(deflate, multiplex)
    name = f"clusterd-deflate-{on_off(deflate)}-multiplex-{on_off(multiplex)}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ws_url = f"ws://127.0.0.1:{port}/graphql"
    database = f"sqlite://{workdir / (name + '.sqlite3')}"
    profile = workdir / f"{name}.prof"
    gc_log = workdir / f"{name}.gc"
    cmd = [sys.executable, __file__, "--serve-clusterd", str(port), database]
    cmd += [str(int(deflate)), str(int(multiplex))]
    cmd += ["--gc-log", str(gc_log)]
    if args.profile_clusterd or args.trace_memory:
        cmd += ["--profile", str(profile)]
    subs: list[Subscriber] = []
    events = Events()
    async with (
        process(name, cmd, workdir, url + "/graphql") as clusterd,
        httpx.AsyncClient(timeout=60) as http,
    ):
        api = ClusterdClient(url, http=http, token=BENCH_TOKEN)
        clusterd.gc_log = gc_log
        try:
            data = await api.query(ADD_INSTANCE, name="bench", host=elektrad_url)
            instance_id: str = data["addInstance"]["id"]
            documents = [document_for(args, k) for k in range(args.distinct)]
            variables: dict[str, Any] = {"i": instance_id} if args.filter == "instance" else {}
            document = documents[0]
            say(f"{name}: up (pid {clusterd.pid}); warming up with one subscriber")

            # 1. Warm-up: clusterd follows the feed; websocket and subscription code loaded.
            probe = await open_subscriber(-1, ws_url)
            await subscribe(probe, document, variables, events)
            warm = await one_change(
                "probe", api, instance_id, 1, events, clusterd, args.event_timeout
            )
            await close_all([probe])
            if warm.lost:
                raise RuntimeError("the warm-up event did not arrive: is the feed followed?")
            say(f"{name}: warm-up event after {warm.latencies[0] * 1000:.0f} ms")

            # 2. Memory: before, connected + acknowledged, subscribed.
            await quiesce(clusterd)
            result.rss["before"] = clusterd.rss_kib()
            if args.trace_memory:
                os.kill(clusterd.pid, signal.SIGUSR1)
            n = args.subscribers
            began = time.perf_counter()
            subs.extend(await bounded(n, args.concurrency, lambda i: open_subscriber(i, ws_url)))
            result.open_seconds = time.perf_counter() - began
            result.negotiated = sum(s.deflate for s in subs)
            await quiesce(clusterd, sockets=n)
            result.rss["connected"] = clusterd.rss_kib()
            began = time.perf_counter()
            await bounded(
                n,
                args.concurrency,
                lambda i: subscribe(subs[i], documents[i % len(documents)], variables, events),
            )
            result.subscribe_seconds = time.perf_counter() - began
            await quiesce(clusterd, sockets=n)
            result.rss["subscribed"] = clusterd.rss_kib()
            if args.client_gc == "freeze":
                # This client's 10,000 connections out of its own collector's way, as
                # clusterd's (quiet GC): a full collection of them stopped its loop for
                # about half a second in the middle of a change, which it then measured.
                gc.collect()
                gc.freeze()
            if args.trace_memory:
                os.kill(clusterd.pid, signal.SIGUSR2)
                await asyncio.to_thread(wait_for_file, profile, 60.0)
                result.profile = profile.read_text()
            say(
                f"{name}: {n} subscribers open in {result.open_seconds:.1f}s, subscribed in "
                f"{result.subscribe_seconds:.1f}s; RSS {result.rss['before'] / 1024:.1f} -> "
                f"{result.rss['subscribed'] / 1024:.1f} MiB"
            )

            # 3. Latency: a warm-up change, then the measured ones.
            for k in range(args.changes + 1):
                label = "warm-up" if k == 0 else f"change {k}"
                change = await one_change(
                    label, api, instance_id, n, events, clusterd, args.event_timeout
                )
                if k == 0:
                    result.warmup = change
                else:
                    result.changes.append(change)
                say(
                    f"{name}: {label}: {change.received}/{n} received, max "
                    f"{fmt_ms(change.latencies[-1]) if change.latencies else '-'} ms, "
                    f"lost {change.lost}"
                )
                await quiesce(clusterd, sockets=n)
                change.rss_kib = clusterd.rss_kib()
            result.rss["after changes"] = clusterd.rss_kib()

            if args.profile_clusterd:
                os.kill(clusterd.pid, signal.SIGUSR1)
                await asyncio.sleep(0.2)
                await one_change("profiled", api, instance_id, n, events, clusterd, 30)
                os.kill(clusterd.pid, signal.SIGUSR2)
                await asyncio.to_thread(wait_for_file, profile, 10.0)
                out = io.StringIO()
                stats = pstats.Stats(str(profile), stream=out)
                stats.sort_stats("tottime").print_stats(20)
                result.profile = out.getvalue()
        finally:
            result.unexpected = events.unexpected
            say(f"{name}: closing {len(subs)} websockets and stopping")
            await close_all(subs)
            gc.unfreeze()
    return result


def document_for(args: argparse.Namespace, k: int) -> str:
    """The ``k``-th of ``--distinct`` documents: all get the benchmark's event,
    each asks for it differently (an alias of its own), so none shares an
    execution with another."""
    selection = FIELDS + (" instance { name }" if args.with_instance else "")
    if args.distinct > 1:
        selection += f" d{k}: op"
    if args.filter == "instance":
        return f"subscription($i: ID) {{ configChanged(instanceId: $i) {{ {selection} }} }}"
    return f"subscription {{ configChanged {{ {selection} }} }}"


def on_off(flag: bool) -> str:
    return "on" if flag else "off"


# -- the report -------------------------------------------------------------------------------


def pct(sorted_values: list[float], p: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.1f}" if seconds < 1 else f"{seconds * 1000:.0f}"


def report(results: list[RunResult], args: argparse.Namespace) -> bool:
    """Print the tables; whether every subscriber got every event."""
    n = args.subscribers
    ok = True
    for r in results:
        mode = "ON" if r.deflate else "OFF (as elektra-web clusterd runs)"
        print()
        print(
            f"== uvicorn ws_per_message_deflate {mode}, multiplexed subscriptions "
            f"{on_off(r.multiplex).upper()}"
        )
        print(f"   permessage-deflate negotiated on {r.negotiated} of {n} websockets")
        print(
            f"   {n} websockets opened in {r.open_seconds:.2f} s "
            f"({args.concurrency} at a time), subscribed in {r.subscribe_seconds:.2f} s"
        )
        print()
        head = (
            f"   {'':10} {'got':>5} {'lost':>4} {'dup':>3} | {'mutation':>8} {'publish':>7} "
            f"{'first':>6} {'p50':>6} {'p99':>6} {'max':>6} | {'clusterd':>8} {'client':>6} | "
            f"{'GC total':>8} {'longest':>7} {'full':>4} {'client':>6} | {'RSS MiB':>7}"
        )
        print("   times in ms from just before the setKey mutation is sent; CPU and GC in ms")
        print(head)
        rule = "   " + "-" * (len(head) - 3)
        print(rule)
        for c in ([r.warmup] if r.warmup else []) + r.changes:
            lat = c.latencies
            print(
                f"   {c.label:10} {c.received:>5} {c.lost:>4} {c.duplicates:>3} | "
                f"{fmt_ms(c.mutation):>8} {fmt_ms(c.published):>7} "
                f"{fmt_ms(lat[0] if lat else None):>6} "
                f"{fmt_ms(pct(lat, 50) if lat else None):>6} "
                f"{fmt_ms(pct(lat, 99) if lat else None):>6} "
                f"{fmt_ms(lat[-1] if lat else None):>6} | {c.clusterd_cpu * 1000:>8.0f} "
                f"{c.client_cpu * 1000:>6.0f} | {c.gc.total * 1000:>8.0f} "
                f"{c.gc.longest * 1000:>7.0f} {c.gc.full:>4} {c.client_gc.total * 1000:>6.0f} | "
                f"{c.rss_kib / 1024:>7.1f}"
            )
            if not c.operation_ok:
                print(f"   !! {c.label}: the event does not carry the mutation's operationId")
        all_lat = sorted(x for c in r.changes for x in c.latencies)
        lost = sum(c.lost for c in r.changes)
        dups = sum(c.duplicates for c in r.changes)
        print(rule)
        if all_lat:
            print(
                f"   {'all ' + str(len(r.changes)):10} {len(all_lat):>5} {lost:>4} {dups:>3} | "
                f"{fmt_ms(statistics.median(c.mutation for c in r.changes)):>8} "
                f"{fmt_ms(statistics.median(c.published or 0 for c in r.changes)):>7} "
                f"{fmt_ms(all_lat[0]):>6} {fmt_ms(pct(all_lat, 50)):>6} "
                f"{fmt_ms(pct(all_lat, 99)):>6} {fmt_ms(all_lat[-1]):>6} | "
                "(mutation, publish: median of the changes)"
            )
            maxima = ", ".join(fmt_ms(c.latencies[-1]) if c.latencies else "-" for c in r.changes)
            print(f"   per-change max: {maxima} ms")
        print(
            f"   EVENTS LOST: {lost} of {n * len(r.changes)} "
            f"(no event within {args.event_timeout:g} s), duplicates: {dups}"
        )
        ok = ok and lost == 0 and dups == 0 and all(c.operation_ok for c in r.changes)
        before = r.rss["before"]
        print()
        print(f"   clusterd RSS (VmRSS), {n} subscribers:")
        prev = before
        events = len(r.changes) + (r.warmup is not None)
        for point in ["before", "connected", "subscribed", "after changes"]:
            if point not in r.rss:
                continue
            kib = r.rss[point]
            step = "" if point == "before" else f"   {(kib - prev) / n:+7.1f} KiB per subscriber"
            if point == "after changes":
                step += f" ({events} events: warm-up + {len(r.changes)})"
            print(f"     {point:14} {kib / 1024:8.1f} MiB{step}")
            prev = kib
        if "subscribed" in r.rss:
            per = (r.rss["subscribed"] - before) / n
            print(f"   => MEMORY PER IDLE SUBSCRIBER: {per:.1f} KiB  ((subscribed - before) / N)")
        if "after changes" in r.rss and events:
            grew = (r.rss["after changes"] - r.rss["subscribed"]) / n / events
            print(f"   => growth per event delivered: {grew:+.2f} KiB per subscriber")
        if r.unexpected:
            print(f"   {len(r.unexpected)} unexpected messages, e.g.: {r.unexpected[:3]}")
        if r.profile and args.trace_memory:
            print(f"\n   clusterd's memory growth from before to subscribed, for {n}, by line:")
            print(r.profile)
        elif r.profile:
            print("\n   clusterd's event loop during one more change, profiled (cProfile):")
            print(r.profile)
    compare_multiplexing(results, n)
    deflates = [r for r in results if r.multiplex == results[-1].multiplex]
    if len(deflates) == 2 and all("subscribed" in r.rss for r in deflates):
        per = {r.deflate: (r.rss["subscribed"] - r.rss["before"]) / n for r in deflates}
        after = {r.deflate: (r.rss.get("after changes", 0) - r.rss["before"]) / n for r in deflates}
        print()
        print("== per-message-deflate: memory per subscriber (KiB), idle and after the changes")
        print(f"   {'':6} {'idle':>8} {'after changes':>14}")
        for flag in (False, True):
            print(f"   {'on' if flag else 'off':6} {per[flag]:>8.1f} {after[flag]:>14.1f}")
        idle_diff, after_diff = per[True] - per[False], after[True] - after[False]
        print(f"   on - off: {idle_diff:+.1f} KiB idle, {after_diff:+.1f} KiB after the changes")
    print()
    print("got/lost/dup: subscribers that received the change's event / did not within the")
    print("  timeout / received it more than once (warm-up: unmeasured, not in 'all').")
    print("mutation: the setKey's response time. publish: when clusterd published the event")
    print("  (its 'at'; clusterd learns of the change from the elektrad's change feed).")
    print("first/p50/p99/max: arrival at the subscribers (recv() returned, in this client).")
    print("clusterd/client: CPU used from the mutation to the last arrival (10 ms ticks).")
    print("GC: clusterd's garbage collections meanwhile (total, longest, full = generation 2);")
    print("  a collection stops clusterd's event loop; client: this client's, in total (its")
    print(f"  collector frozen after subscribing: --client-gc {args.client_gc}).")
    print("  RSS: clusterd's, idle after the change.")
    return ok


def compare_multiplexing(results: list[RunResult], n: int) -> None:
    """Multiplexing on against off, for each deflate setting run both ways."""
    for deflate in (False, True):
        pair = {r.multiplex: r for r in results if r.deflate == deflate and r.changes}
        if len(pair) != 2:
            continue
        print()
        print(f"== multiplexed subscriptions on against off (deflate {on_off(deflate)}), {n} subs")
        columns = ("p50 ms", "p99 ms", "max ms")
        print(
            f"   {'':4} " + " ".join(f"{c:>8}" for c in columns) + f" {'CPU/change ms':>14} KiB/sub"
        )
        rows = {}
        for flag in (False, True):
            r = pair[flag]
            lat = sorted(x for c in r.changes for x in c.latencies)
            cpu = statistics.median(c.clusterd_cpu for c in r.changes) * 1000
            kib = (r.rss["subscribed"] - r.rss["before"]) / n if "subscribed" in r.rss else 0.0
            rows[flag] = (pct(lat, 50) * 1000, pct(lat, 99) * 1000, lat[-1] * 1000, cpu, kib)
            print(
                f"   {on_off(flag):4} {rows[flag][0]:>8.0f} {rows[flag][1]:>8.0f} "
                f"{rows[flag][2]:>8.0f} {cpu:>14.0f} {kib:>8.1f}"
            )
        ratios = [
            on / off if off else float("nan")
            for on, off in zip(rows[True], rows[False], strict=True)
        ]
        print(
            "   on/off " + " ".join(f"{x:>8.2f}" for x in ratios[:3]) + f" {ratios[3]:>14.2f}"
            f" {ratios[4]:>8.2f}"
        )


def print_machine(args: argparse.Namespace, fd_limit: int) -> None:
    nproc = len(os.sched_getaffinity(0))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = ""
    with contextlib.suppress(OSError):
        found = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1).strip() if found else ""
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(
        f"machine: nproc={nproc} ({cpu}), {mem:.0f} GiB, Linux {platform.release()}, "
        f"Python {platform.python_version()}, open files limit {fd_limit}"
    )
    names = ["uvicorn", "websockets", "strawberry-graphql", "starlette", "tortoise-orm", "httpx"]
    print("versions: " + ", ".join(f"{p} {version(p)}" for p in names))
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    ws = args.ws if args.ws != "clusterd" else getattr(WS_PROTOCOL, "__name__", WS_PROTOCOL)
    print(
        f"clusterd and this client: loop={loop}; clusterd: own process, uvicorn ws={ws}, "
        "SQLite, "
        f"Settings() defaults, quiet GC {args.quiet_gc}, 1 real elektrad"
    )
    what = "instanceId of the instance" if args.filter == "instance" else "no filter"
    fields = FIELDS + (" instance { name }" if args.with_instance else "")
    print(
        f"subscribers: {args.subscribers} websockets in this process (one asyncio loop), "
        f"configChanged with {what}, fields {{ {fields} }}"
    )


# -- main -------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, say: Callable[[str], None]) -> list[RunResult]:
    modes = {"both": [False, True], "off": [False], "on": [True]}[args.deflate]
    multiplexing = {"both": [False, True], "off": [False], "on": [True]}[args.multiplex]
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-subscriptions-") as tmp:
        workdir = Path(tmp)
        CLIENT_GC_LOG[:] = [workdir / "client.gc"]
        callback = log_gc(CLIENT_GC_LOG[0])
        try:
            port = free_port()
            elektrad_url = f"http://127.0.0.1:{port}"
            cmd = [sys.executable, "-m", "elektra_web.elektrad", "--log-level", "warning"]
            cmd += ["--port", str(port), "--data-dir", str(workdir / "elektrad")]
            async with process("elektrad", cmd, workdir, elektrad_url + "/version") as elektrad:
                say(f"elektrad: up (pid {elektrad.pid})")
                for deflate in modes:
                    for multiplex in multiplexing:
                        results.append(
                            await run_clusterd(deflate, multiplex, elektrad_url, args, workdir, say)
                        )
        finally:
            gc.callbacks.remove(callback)
    return results


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=5, help="measured changes per clusterd")
    parser.add_argument(
        "--filter",
        choices=["none", "instance"],
        default="none",
        help="configChanged without arguments, or with instanceId (default none)",
    )
    parser.add_argument(
        "--deflate",
        choices=["both", "off", "on"],
        default="both",
        help="uvicorn's ws_per_message_deflate: run clusterd with it off, then on (default)",
    )
    parser.add_argument(
        "--multiplex",
        choices=["both", "off", "on"],
        default="both",
        help="Settings.multiplex_subscriptions: run clusterd without (the baseline), then with "
        "it (default)",
    )
    parser.add_argument(
        "--distinct",
        type=int,
        default=1,
        help="distinct documents among the subscribers, round-robin (default 1: all the same)",
    )
    parser.add_argument(
        "--quiet-gc",
        choices=["on", "off"],
        default="on",
        help="ClusterdConfig.quiet_gc (gc.freeze and larger thresholds), on as elektra-web "
        "clusterd runs (default)",
    )
    parser.add_argument(
        "--ws",
        choices=["clusterd", "websockets-sansio", "websockets", "wsproto"],
        default="clusterd",
        help="uvicorn's websocket implementation: clusterd's (default: "
        "elektra_web.clusterd.server.WS_PROTOCOL, websockets-sansio made leaner) or uvicorn's",
    )
    parser.add_argument(
        "--client-gc",
        choices=["freeze", "default"],
        default="freeze",
        help="this client's garbage collector once its subscribers are open: frozen (gc.freeze, "
        "as clusterd's quiet GC; default), or left as Python sets it",
    )
    parser.add_argument("--concurrency", type=int, default=50, help="websockets opened at once")
    parser.add_argument("--event-timeout", type=float, default=30.0, help="seconds per change")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds, all in all")
    parser.add_argument(
        "--with-instance",
        action="store_true",
        help="also select the event's instance { name } (one database read per subscriber)",
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="trace clusterd's allocations (tracemalloc) from before the subscribers to "
        "subscribed, and show the lines that grew most (slows clusterd; not with "
        "--profile-clusterd)",
    )
    parser.add_argument(
        "--profile-clusterd",
        action="store_true",
        help="after the measured changes, profile one more inside clusterd (cProfile)",
    )
    # The child process.
    parser.add_argument(
        "--serve-clusterd", nargs=4, metavar=("PORT", "DATABASE_URL", "DEFLATE", "MULTIPLEX")
    )
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    parser.add_argument("--gc-log", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_clusterd:
        port, database_url, deflate, multiplex = args.serve_clusterd
        return serve_clusterd(
            int(port), database_url, deflate == "1", multiplex == "1", args.gc_log, args.profile
        )

    # The clusterd children read it (a fourth positional argument each would do too).
    os.environ["BENCH_QUIET_GC"] = "1" if args.quiet_gc == "on" else "0"
    os.environ["BENCH_WS"] = args.ws
    if args.trace_memory and args.profile_clusterd:
        parser.error("--trace-memory and --profile-clusterd both need the same signals")
    os.environ["BENCH_TRACE_MEMORY"] = "1" if args.trace_memory else "0"
    fd_limit = raise_fd_limit()
    if fd_limit < args.subscribers + 100:
        parser.error(f"{args.subscribers} websockets need more open files than {fd_limit}")
    began = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", flush=True)

    print_machine(args, fd_limit)

    async def bounded_bench() -> list[RunResult]:
        async with asyncio.timeout(args.time_limit):
            return await bench(args, say)

    try:
        # The client's 10,000 sockets on the same loop as clusterd's (uvloop when installed):
        # on this machine the client's CPU, not clusterd's, bounds the latency otherwise.
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            results = runner.run(bounded_bench())
    except TimeoutError:
        print(f"gave up: the benchmark took longer than {args.time_limit:g} s", file=sys.stderr)
        return 2
    ok = report(results, args)
    say("done" if ok else "done: EVENTS LOST or wrong (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
