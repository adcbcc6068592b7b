"""Benchmark what one GraphQL request costs clusterd, against a bare Starlette route.

One run starts, each in its own process on 127.0.0.1:

- CLUSTERD (this script run as ``--serve-clusterd``): ``create_app(ClusterdConfig(...))`` on
  a fresh SQLite file, served by uvicorn with the settings ``elektra-web clusterd`` uses
  (``elektra_web.clusterd.server.uvicorn_config``) at ``--log-level`` (default warning). Its
  background work is off (health checks, change feeds): the instances are registered but not
  reachable (port 9 refuses at once, so each is OFFLINE), and what is measured is the
  request path only;
- the BASELINE (``--serve-bare``): a bare Starlette app with one route, POST /graphql, that
  reads the request body and answers with exactly the bytes and content type clusterd
  answers ``{ version { api clusterd } }`` with (captured at run time, compared before
  measuring), served by uvicorn with the same settings;
- the LOAD (``--load``, one process per measurement, so that its CPU is not the servers'):
  ``--concurrency`` (8) keep-alive HTTP/1.1 connections, each sending the same POST (with
  the admin token, to both servers) as soon as the previous answer is in. A small asyncio
  client on asyncio streams rather than httpx: it costs a fraction of httpx's CPU per
  request, and it runs on the same cores as the servers. ``--client httpx`` loads with
  an ``httpx.AsyncClient`` instead (8 connections), which is slower than the bare route
  itself: then the ratios of rps are mostly the client's.

Measured, ``--rounds`` times in turn, each for ``--seconds`` after ``--warmup`` seconds on
the same connections:

1. with 50 instances registered: the bare route, ``{ version { api clusterd } }`` and
   ``{ instances { id name host status description } }``;
2. after registering 950 more: the bare route, ``{ version }`` again and the same listing
   of 1,000 instances.

For each: requests per second, p50/p99 latency, and the server's CPU per request (user +
system of the whole process, /proc, read by the load process around its measured window),
median of the rounds; the ratio of rps to the bare route of the same phase. For the
listings, the CPU per resolved field: server CPU / (requests x fields), fields being 5 per
instance, and the marginal cost: (CPU per listing - CPU per ``{ version }``) / fields.

``--metrics`` starts a second clusterd the same way but with its metrics on
(``ClusterdConfig.metrics``, ``elektra-web clusterd --metrics``), with the same instances,
and measures ``{ version }`` and the listing on both at the same time (a load process each,
so that both see the same contention for the cores; on a shared machine, one after the
other differed by up to 30% between rounds); the load scrapes its ``GET /metrics`` once in
each measured window (Prometheus scrapes every 15 s by default: this is several times as
often), and the report ends with the CPU per request with metrics on against off, median of
the rounds' ratios.

``--profile FILE`` adds one run of each case under cProfile (inside clusterd, on its event
loop) and writes the statistics to FILE.CASE (``python -m pstats``), printing the top
functions by own time. ``PYTHONPATH=OTHER_TREE scripts/bench-graphql`` measures another
tree's code (the clusterd child prints which ``elektra_web`` it imported).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import importlib.util
import io
import json
import logging
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
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
from benchlib import AUTH, BENCH_TOKEN

ROOT = Path(__file__).resolve().parent.parent
VERSION = "{ version { api clusterd } }"
LISTING = "{ instances { id name host status description } }"
FIELDS_PER_INSTANCE = 5  # id name host status description
START_TIMEOUT = 60.0


# -- the servers ------------------------------------------------------------------------------


def uvicorn_config(app: Any, log_level: str) -> Any:
    """clusterd's uvicorn settings, on a port the kernel picks."""
    try:
        from elektra_web.clusterd.server import uvicorn_config as clusterd_config
    except ImportError:  # a tree from before server.uvicorn_config: its settings, as they were
        import uvicorn

        return uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level=log_level,
            lifespan="on",
            timeout_graceful_shutdown=5,
            ws_per_message_deflate=False,
            ws_max_size=1024 * 1024,
        )
    return clusterd_config(app, "127.0.0.1", 0, log_level)


def run_server(app: Any, log_level: str, ready_file: Path, extra: dict[str, Any]) -> None:
    """Serve ``app`` until SIGTERM; ``{"url", "pid", ...}`` to ``ready_file`` once serving."""
    import uvicorn

    # What elektra_web.cli.main sets up before it serves.
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    server = uvicorn.Server(uvicorn_config(app, log_level))

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("uvicorn stopped during start-up")
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        info = {"url": f"http://127.0.0.1:{port}", "pid": os.getpid(), **extra}
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.rename(ready_file)
        await task

    asyncio.run(main())


def profile_on_signals(path: str) -> None:
    """Profile the event loop's thread between SIGUSR1 and SIGUSR2, into ``path``. By the
    thread's CPU time, not the wall clock (``benchlib``'s): on a shared machine the wall
    clock charges a function for the time others ran, and a call that hands the GIL to
    the SQLite thread for the time that thread ran."""
    import cProfile

    profilers: list[cProfile.Profile] = []

    def begin(signum: int, frame: object) -> None:
        profilers.append(cProfile.Profile(time.thread_time))
        profilers[-1].enable()

    def end(signum: int, frame: object) -> None:
        profilers[-1].disable()
        profilers[-1].dump_stats(path)

    signal.signal(signal.SIGUSR1, begin)
    signal.signal(signal.SIGUSR2, end)


def serve_clusterd(
    database_url: str, ready_file: Path, log_level: str, profile: str, metrics: bool
) -> None:
    import elektra_web
    from elektra_web.clusterd.app import ClusterdConfig, create_app

    config = ClusterdConfig(
        database_url, health_checks=False, follow_feeds=False, admin_token=BENCH_TOKEN
    )
    if metrics:
        config.metrics = True
    if profile:
        profile_on_signals(profile)
    run_server(create_app(config), log_level, ready_file, {"elektra_web": elektra_web.__file__})


def serve_bare(body_file: Path, ready_file: Path, log_level: str) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    captured = json.loads(body_file.read_text())
    body, media_type = base64.b64decode(captured["body"]), captured["content_type"]

    async def graphql(request: Request) -> Response:
        await request.body()
        return Response(body, media_type=media_type)

    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
    run_server(app, log_level, ready_file, {})


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    info: dict[str, Any]

    @property
    def url(self) -> str:
        url: str = self.info["url"]
        return url

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def child(name: str, args: list[str], workdir: Path) -> Iterator[Proc]:
    """This script run with ``args`` (its ready file appended), once it serves; stopped after."""
    log, ready = workdir / f"{name}.log", workdir / f"{name}.ready"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, __file__, *args, "--ready", str(ready)],
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
    proc = Proc(name, popen, log, {})
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.exists():
            if popen.poll() is not None:
                raise RuntimeError(f"{name} exited {popen.returncode}:\n{proc.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{proc.tail()}")
            time.sleep(0.05)
        proc.info = json.loads(ready.read_text())
        yield proc
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


# -- the load ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a whole process (all its threads; Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request_bytes(port: int, document: str) -> bytes:
    body = json.dumps({"query": document}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nAccept: application/json\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
#: One request and its answer's body, on one connection.
Exchange = Callable[[], Awaitable[bytes]]


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec``: ``concurrency`` connections sending ``request`` for ``warmup`` seconds,
    then for ``seconds``, measured. Every answer must be 200; with ``expect`` it must be
    exactly those bytes, else it must not contain ``"errors"``."""
    port, pid = spec["port"], spec["server_pid"]
    request = base64.b64decode(spec["request"])
    expect = base64.b64decode(spec["expect"]) if spec["expect"] else None

    def check(body: bytes) -> None:
        if expect is not None and body != expect:
            raise RuntimeError(f"unexpected body: {body[:300]!r}")
        if expect is None and b'"errors"' in body:
            raise RuntimeError(f"errors: {body[:300]!r}")

    def raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Exchange:
        async def exchange() -> bytes:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            if not head.startswith(b"HTTP/1.1 200 ") or length is None:
                raise RuntimeError(f"unexpected answer: {head[:300]!r}")
            return await reader.readexactly(int(length.group(1)))

        return exchange

    def with_httpx(http: httpx.AsyncClient) -> Exchange:
        head, body = request.split(b"\r\n\r\n", 1)
        lines = [line.split(b": ", 1) for line in head.split(b"\r\n")[1:]]
        headers = {k.decode(): v.decode() for k, v in lines if k.lower() != b"content-length"}

        async def exchange() -> bytes:
            response = await http.post("/graphql", content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"unexpected answer: {response.status_code}")
            return response.content

        return exchange

    async def connection(exchange: Exchange, until: float, latencies: list[float]) -> int:
        size = 0
        while time.perf_counter() < until:
            began = time.perf_counter()
            body = await exchange()
            latencies.append(time.perf_counter() - began)
            check(body)
            size = len(body)
        return size

    async def scrape(after: float) -> None:
        """One GET /metrics, as Prometheus would send it, ``after`` seconds in."""
        await asyncio.sleep(after)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            response = await http.get("/metrics", headers=AUTH)
            if response.status_code != 200 or b"clusterd_instances" not in response.content:
                raise RuntimeError(f"GET /metrics: {response.status_code} {response.text[:300]}")

    async def main() -> dict[str, Any]:
        exchanges: list[Exchange] = []
        closing: list[Callable[[], Any]] = []
        if spec["client"] == "httpx":
            limits = httpx.Limits(max_connections=spec["concurrency"])
            http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits)
            exchanges = [with_httpx(http) for _ in range(spec["concurrency"])]
            closing.append(http.aclose)
        else:
            for _ in range(spec["concurrency"]):
                reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**24)
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                exchanges.append(raw(reader, writer))
                closing.append(writer.close)
        warm: list[float] = []
        until = time.perf_counter() + spec["warmup"]
        await asyncio.gather(*(connection(e, until, warm) for e in exchanges))
        latencies: list[float] = []
        cpu, client_cpu, began = cpu_seconds(pid), time.process_time(), time.perf_counter()
        until = began + spec["seconds"]
        scraped = asyncio.ensure_future(scrape(spec["seconds"] / 2)) if spec["scrape"] else None
        sizes = await asyncio.gather(*(connection(e, until, latencies) for e in exchanges))
        if scraped is not None:
            await scraped
        seconds = time.perf_counter() - began
        cpu, client_cpu = cpu_seconds(pid) - cpu, time.process_time() - client_cpu
        for close in closing:
            if asyncio.iscoroutine(done := close()):
                await done
        quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
        return {
            "requests": len(latencies),
            "seconds": seconds,
            "cpu": cpu,
            "client_cpu": client_cpu,
            "p50": quantiles[49],
            "p99": quantiles[98],
            "size": max(sizes),
        }

    return asyncio.run(main())


@dataclass
class Result:
    requests: int
    seconds: float
    cpu: float
    client_cpu: float
    p50: float
    p99: float
    size: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per request."""
        return self.cpu / self.requests * 1000


def measure(proc: Proc, document: str, expect: bytes | None, args: argparse.Namespace) -> Result:
    (result,) = measure_together([(proc, document, expect)], args)
    return result


def measure_together(
    loads: list[tuple[Proc, str, bytes | None]], args: argparse.Namespace
) -> list[Result]:
    """Load each server with its document at the same time (a load process each): the
    servers share the machine's cores alike, whatever else runs on them meanwhile."""
    running = [
        subprocess.Popen(
            [sys.executable, __file__, "--load", json.dumps(load_spec(*load, args))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for load in loads
    ]
    results = []
    for popen in running:
        out, err = popen.communicate(timeout=args.seconds + args.warmup + 120)
        if popen.returncode != 0:
            raise RuntimeError(f"the load process failed:\n{err}")
        results.append(Result(**json.loads(out)))
    return results


def load_spec(
    proc: Proc, document: str, expect: bytes | None, args: argparse.Namespace
) -> dict[str, Any]:
    port = int(proc.url.rsplit(":", 1)[1])
    return {
        "port": port,
        "server_pid": proc.info["pid"],
        "request": base64.b64encode(request_bytes(port, document)).decode(),
        "expect": base64.b64encode(expect).decode() if expect is not None else None,
        "concurrency": args.concurrency,
        "client": args.client,
        "warmup": args.warmup,
        "seconds": args.seconds,
        "scrape": proc.name == "metrics",
    }


# -- set-up -----------------------------------------------------------------------------------


async def register(url: str, first: int, count: int, concurrency: int) -> None:
    """Register instances ``first`` .. ``first + count - 1`` through the API."""
    add = (
        "mutation($n: String!, $h: String!, $d: String) "
        "{ addInstance(input: {name: $n, host: $h, description: $d, allowOffline: true}) "
        "{ id status } }"
    )
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=60, limits=limits) as http:
        numbers = iter(range(first, first + count))

        async def worker() -> None:
            for n in numbers:
                # Port 9 (discard) refuses at once on loopback: registered OFFLINE (allowOffline).
                host = f"http://127.{n // 250 % 250}.{n % 250 + 1}.{n // 62500 + 1}:9"
                variables = {"n": f"bench-{n:04d}", "h": host, "d": f"benchmark instance {n}"}
                r = await http.post("/graphql", json={"query": add, "variables": variables})
                if r.status_code != 200 or "errors" in r.json():
                    raise RuntimeError(f"addInstance: {r.status_code} {r.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def capture(url: str, document: str) -> tuple[bytes, str]:
    r = httpx.post(
        url + "/graphql",
        json={"query": document},
        headers={**AUTH, "Accept": "application/json"},
        timeout=60,
    )
    if r.status_code != 200 or "errors" in r.json():
        raise RuntimeError(f"{document}: {r.status_code} {r.text[:300]}")
    return r.content, r.headers["content-type"]


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    label: str
    document: str | None  # None: the bare route
    fields: int = 0
    #: The server it is measured on: "bare" for the bare route, "clusterd", or
    #: "metrics" (the clusterd with metrics on).
    server: str = "clusterd"
    results: list[Result] = dataclasses.field(default_factory=list)

    def median(self, what: Callable[[Result], float]) -> float:
        return statistics.median(what(r) for r in self.results)


def run_phase(
    cases: list[Case],
    servers: dict[str, Proc],
    expect: bytes,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> None:
    for round_ in range(args.rounds):
        for case in cases:
            if case.server == "metrics":
                continue  # measured with its partner
            # The same document on the clusterd with metrics, at the same time.
            together = [case] + [
                c for c in cases if c.server == "metrics" and c.document == case.document
            ]
            check = expect if case.document in (None, VERSION) else None
            loads = [(servers[c.server], case.document or VERSION, check) for c in together]
            for c, result in zip(together, measure_together(loads, args), strict=True):
                c.results.append(result)
        results = ", ".join(f"{c.name} {c.results[-1].rps:.0f} rps" for c in cases)
        say(f"round {round_ + 1}/{args.rounds}: {results}")


def profile(
    cases: list[Case], size: int, clusterd: Proc, stats_file: Path, args: argparse.Namespace
) -> list[str]:
    """One more run of each clusterd case under cProfile; the top lines of each."""
    lines = []
    for case in cases:
        if case.server != "clusterd":
            continue
        name = f"{case.name}-{size}"  # { version } is measured in every phase
        os.kill(clusterd.info["pid"], signal.SIGUSR1)
        result = measure(clusterd, case.document, None, args)
        os.kill(clusterd.info["pid"], signal.SIGUSR2)
        time.sleep(1.0)  # the stats are written by the server after the signal
        target = stats_file.with_name(f"{stats_file.name}.{name}")
        Path(args.profile_raw).rename(target)
        out = io.StringIO()
        stats = pstats.Stats(str(target), stream=out)
        stats.sort_stats("tottime").print_stats(args.profile_top)
        # Our own code, by the time spent in it and below it.
        stats.sort_stats("cumulative").print_stats(r"elektra_web/", args.profile_top // 2)
        lines.append(f"--- {case.label}: {result.requests} requests under cProfile -> {target}")
        lines.extend(line for line in out.getvalue().splitlines() if line.strip())
    return lines


def report(phases: list[list[Case]], args: argparse.Namespace, info: dict[str, Any]) -> None:
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print("command:", shlex.join(["scripts/bench-graphql", *sys.argv[1:]]))
    nproc = len(os.sched_getaffinity(0))
    print(
        f"machine: nproc={nproc}, Python {platform.python_version()}, load average "
        f"{info['load_before']} before, {' '.join(f'{x:.2f}' for x in os.getloadavg())} after"
    )
    print(
        f"servers: uvicorn {version('uvicorn')} ({http}, {loop}), starlette "
        f"{version('starlette')}, strawberry-graphql {version('strawberry-graphql')}, "
        f"graphql-core {version('graphql-core')}; log level {args.log_level}"
    )
    print(f"clusterd: {info['elektra_web']}")
    print(
        f"load: {args.concurrency} keep-alive connections ({args.client} client) from another "
        f"process; {args.warmup:g} s warm-up, {args.seconds:g} s measured, median of "
        f"{args.rounds} rounds; cpu = the server's CPU ms per request, client = the load's"
    )
    print("x bare: rps / the bare route's rps, and the bare route's cpu / cpu (1.00: as cheap)")
    print()
    header = (
        f"{'':44} {'bytes':>6} | {'rps':>6} {'p50 ms':>7} {'p99 ms':>7} {'cpu':>6} "
        f"{'client':>6} | {'x bare':>6} {'(cpu)':>6}"
    )
    print(header, "-" * len(header), sep="\n")
    version_cpu = 0.0
    per_field: list[str] = []
    for cases in phases:
        bare_rps = cases[0].median(lambda r: r.rps)
        bare_cpu = cases[0].median(lambda r: r.cpu_ms)
        for case in cases:
            rps = case.median(lambda r: r.rps)
            cpu = case.median(lambda r: r.cpu_ms)
            client = case.median(lambda r: r.client_cpu / r.requests * 1000)
            p50 = case.median(lambda r: r.p50 * 1000)
            p99 = case.median(lambda r: r.p99 * 1000)
            size = case.results[0].size
            print(
                f"{case.label:44} {size:>6} | {rps:>6.0f} {p50:>7.2f} {p99:>7.2f} "
                f"{cpu:>6.2f} {client:>6.2f} | {rps / bare_rps:>6.2f} {bare_cpu / cpu:>6.2f}"
            )
            if case.document == VERSION and case.server == "clusterd":
                version_cpu = cpu
            if case.fields:
                each = cpu * 1000 / case.fields
                marginal = (cpu - version_cpu) * 1000 / case.fields
                per_field.append(
                    f"{case.label}: {each:.2f} us CPU per resolved field "
                    f"({case.fields} fields), {marginal:.2f} us beyond {{ version }}'s cost"
                )
        print()
    print("\n".join(per_field))
    compared = [
        (off, on)
        for cases in phases
        for off in cases
        for on in cases
        if on.server == "metrics" and off.server == "clusterd" and on.document == off.document
    ]
    if compared:
        print("\nmetrics on against off (server CPU per request; median of the rounds' ratios):")
        for off, on in compared:
            ratios = [b.cpu_ms / a.cpu_ms for a, b in zip(off.results, on.results, strict=True)]
            lo, hi = min(ratios), max(ratios)
            print(
                f"  {off.label:44} {statistics.median(ratios) - 1:+7.1%} "
                f"(rounds {lo - 1:+.1%} .. {hi - 1:+.1%})"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="measured per case and round")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="the load's HTTP client: a minimal one on asyncio streams (default), or "
        "httpx.AsyncClient, which costs several times more CPU per request",
    )
    parser.add_argument(
        "--instances",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[50, 1000],
        help="listing sizes (default 50,1000)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="also measure { version } and the listings on a clusterd with --metrics on "
        "(scraped once per measured window), against the one without",
    )
    parser.add_argument("--profile", metavar="FILE", help="also profile each case inside clusterd")
    parser.add_argument("--profile-top", type=int, default=25, help="functions shown per case")
    # The children.
    parser.add_argument("--serve-clusterd", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--with-metrics", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", metavar="BODY_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--ready", help=argparse.SUPPRESS)
    parser.add_argument("--profile-raw", default="", help=argparse.SUPPRESS)
    parser.add_argument("--load", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_clusterd:
        serve_clusterd(
            args.serve_clusterd, Path(args.ready), args.log_level, args.profile_raw,
            args.with_metrics,
        )  # fmt: skip
        return 0
    if args.serve_bare:
        serve_bare(Path(args.serve_bare), Path(args.ready), args.log_level)
        return 0
    if args.load:
        print(json.dumps(load(json.loads(args.load))))
        return 0

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-graphql-") as tmp:
        workdir = Path(tmp)
        args.profile_raw = str(workdir / "profile.raw") if args.profile else ""
        level = ["--log-level", args.log_level]
        database = f"sqlite://{workdir / 'clusterd.sqlite3'}"
        clusterd_args = ["--serve-clusterd", database, *level]
        if args.profile:
            clusterd_args += ["--profile-raw", args.profile_raw]
        with child("clusterd", clusterd_args, workdir) as clusterd:
            say(f"clusterd at {clusterd.url} ({clusterd.info['elektra_web']})")
            body, content_type = capture(clusterd.url, VERSION)
            body_file = workdir / "version.json"
            captured = {"body": base64.b64encode(body).decode(), "content_type": content_type}
            body_file.write_text(json.dumps(captured))
            with contextlib.ExitStack() as stack:
                bare = stack.enter_context(
                    child("bare", ["--serve-bare", str(body_file), *level], workdir)
                )
                if capture(bare.url, VERSION) != (body, content_type):
                    raise RuntimeError("the bare route's answer differs from clusterd's")
                servers = {"bare": bare, "clusterd": clusterd}
                if args.metrics:
                    other = f"sqlite://{workdir / 'metrics.sqlite3'}"
                    metrics_args = ["--serve-clusterd", other, "--with-metrics", *level]
                    servers["metrics"] = stack.enter_context(
                        child("metrics", metrics_args, workdir)
                    )
                    if capture(servers["metrics"].url, VERSION) != (body, content_type):
                        raise RuntimeError("the clusterd with metrics answers differently")
                phases: list[list[Case]] = []
                registered = 0
                profiles: list[str] = []
                for size in args.instances:
                    began = time.perf_counter()
                    for name in ("clusterd", "metrics"):
                        if name in servers:
                            url = servers[name].url
                            asyncio.run(register(url, registered, size - registered, 8))
                    say(
                        f"registered {size - registered} instances in "
                        f"{time.perf_counter() - began:.1f} s"
                    )
                    registered = size
                    cases = [
                        Case("bare", f"bare Starlette route ({size} registered)", None, 0, "bare"),
                        Case("version", VERSION, VERSION),
                        Case(
                            f"list{size}",
                            f"instances {{ 5 fields }} x {size}",
                            LISTING,
                            fields=size * FIELDS_PER_INSTANCE,
                        ),
                    ]
                    if args.metrics:
                        # Each right after the same case without metrics, in every round.
                        cases.insert(
                            2, Case("version+m", "  ... metrics on", VERSION, 0, "metrics")
                        )
                        cases.append(
                            Case(f"list{size}+m", "  ... metrics on", LISTING, 0, "metrics")
                        )
                    run_phase(cases, servers, body, args, say)
                    phases.append(cases)
                    if args.profile:
                        profiles += profile(cases, size, clusterd, Path(args.profile), args)
        report(phases, args, {"load_before": load_before, **clusterd.info})
        if profiles:
            print("\nprofiles (cProfile inside clusterd, by own time):")
            print("\n".join(profiles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
