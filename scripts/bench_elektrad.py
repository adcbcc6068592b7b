"""Benchmark elektrad's hot paths against a bare Starlette baseline.

Measures, with N concurrent keep-alive clients (asyncio + httpx, in this process):

1. ``GET /kdb/user:/bench/one``: one key;
2. ``GET /kdb/user:/bench/tree?preload=2``: a 1,000-key subtree (10 groups x 100 keys,
   seeded through the API first), nested two levels deep;
3. ``PUT /kdb/user:/bench/put``: one durable (fsync'd SQLite) write, a new value each time.

Each: requests/s, p50/p99 latency and server CPU per request, after a short warm-up.
Absolute numbers mostly measure this machine, uvicorn and the client, so each is printed
next to a BASELINE: a bare Starlette app (this script run as ``--serve-baseline PORT
BODIES_FILE``) in its own process under the same uvicorn settings, answering with exactly
elektrad's response bytes (captured at run time). The ratio is what elektrad itself costs
over that floor: key parsing, database, views, JSON encoding, logging, and for PUT the fsync.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib.util
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ONE, TREE, PUT = "/kdb/user:/bench/one", "/kdb/user:/bench/tree", "/kdb/user:/bench/put"
TREE_QUERY = {"preload": "2"}
GROUPS, PER_GROUP = 10, 100


@dataclass
class Result:
    requests: int
    seconds: float
    latencies: list[float]  # seconds
    size: int  # response body bytes
    cpu: float  # the server process's CPU seconds (user + system) during the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: int) -> float:
        """The p-th percentile latency in ms."""
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


def serve_baseline(port: int, bodies_file: Path) -> None:
    """Return the captured bytes for GETs; read the body and answer 200 empty for PUT."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    captured = json.loads(bodies_file.read_text())
    bodies = {p: (base64.b64decode(b), ct) for p, (b, ct) in captured.items()}

    async def kdb(request: Request) -> Response:
        if request.method == "PUT":
            await request.body()
            return Response(status_code=200)
        body, content_type = bodies[request.url.path]
        return Response(body, media_type=content_type)

    app = Starlette(routes=[Route("/kdb/{path:path}", kdb, methods=["GET", "PUT"])])
    # The same settings as elektra_web.elektrad.server.serve.
    settings: dict[str, Any] = {"lifespan": "on", "timeout_graceful_shutdown": 5}
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", access_log=False, **settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def server(args: list[str], port: int, log: Path) -> Iterator[tuple[str, int]]:
    """Start a server process; yield its URL and pid once it answers; always stop it."""
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url + "/kdb", timeout=1)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args} did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(url: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=url, http1=True, http2=False, limits=limits, timeout=60)


async def load(
    srv: tuple[str, int], method: str, path: str, total: int, warmup: int, conc: int
) -> Result:
    """``total`` requests after ``warmup`` ones, by ``conc`` workers sharing one pool."""
    url, pid = srv
    params = TREE_QUERY if path == TREE else None
    headers = {"content-type": "text/plain"} if method == "PUT" else None
    async with client(url, conc) as http:

        async def run(count: int, latencies: list[float], sizes: list[int]) -> None:
            counter = iter(range(count))

            async def worker() -> None:
                for i in counter:
                    content = f"value {i}" if method == "PUT" else None
                    start = time.perf_counter()
                    r = await http.request(
                        method, path, params=params, content=content, headers=headers
                    )
                    latencies.append(time.perf_counter() - start)
                    if r.status_code != 200:
                        raise RuntimeError(f"{method} {path}: {r.status_code} {r.text}")
                    sizes.append(len(r.content))

            await asyncio.gather(*(worker() for _ in range(conc)))

        await run(warmup, [], [])
        latencies: list[float] = []
        sizes: list[int] = []
        cpu, start = cpu_seconds(pid), time.perf_counter()
        await run(total, latencies, sizes)
        seconds = time.perf_counter() - start
        return Result(total, seconds, latencies, max(sizes), cpu_seconds(pid) - cpu)


async def seed_and_capture(url: str, conc: int) -> dict[str, tuple[str, str]]:
    """Create the keys through the API; return each GET path's body and content type."""
    async with client(url, conc) as http:
        names = ["user:/bench/one", "user:/bench/put"] + [
            f"user:/bench/tree/g{g}/k{k}" for g in range(GROUPS) for k in range(PER_GROUP)
        ]
        sem = asyncio.Semaphore(conc)

        async def put(name: str) -> None:
            async with sem:
                r = await http.put(f"/kdb/{name}", content=f"seed {name}")
                r.raise_for_status()

        await asyncio.gather(*(put(n) for n in names))
        captured = {}
        for path in (ONE, TREE):
            r = await http.get(path, params=TREE_QUERY if path == TREE else None)
            r.raise_for_status()
            captured[path] = (base64.b64encode(r.content).decode(), r.headers["content-type"])
        assert len(r.json()["ls"]) == GROUPS * PER_GROUP  # r: the tree
        return captured


async def check_same(elektrad: str, baseline: str) -> None:
    """The baseline must answer with exactly elektrad's bytes and content type."""
    async with httpx.AsyncClient() as http:
        for path in (ONE, TREE):
            params = TREE_QUERY if path == TREE else None
            a, b = [await http.get(u + path, params=params) for u in (elektrad, baseline)]
            same = a.content == b.content and a.headers["content-type"] == b.headers["content-type"]
            assert same, f"the baseline's {path} differs from elektrad's"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--get-requests", type=int, default=3000)
    parser.add_argument("--put-requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=200, help="requests before each run")
    parser.add_argument("--serve-baseline", nargs=2, metavar=("PORT", "BODIES_FILE"))
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(int(args.serve_baseline[0]), Path(args.serve_baseline[1]))
        return 0

    conc, warm = args.concurrency, args.warmup
    cases = [
        ("GET one key", "GET", ONE, args.get_requests),
        ("GET 1000-key tree, preload=2", "GET", TREE, args.get_requests),
        ("PUT one key (fsync)", "PUT", PUT, args.put_requests),
    ]
    results: list[tuple[str, Result, Result]] = []
    with tempfile.TemporaryDirectory(prefix="bench-elektrad-") as tmp:
        tmpdir = Path(tmp)
        ek_port = free_port()
        base_port = next(p for p in iter(free_port, None) if p != ek_port)
        ek_args = ["-m", "elektra_web.elektrad", "--port", str(ek_port)]
        ek_args += ["--data-dir", str(tmpdir / "data")]
        with server(ek_args, ek_port, tmpdir / "elektrad.log") as ek_srv:
            bodies = tmpdir / "bodies.json"
            bodies.write_text(json.dumps(asyncio.run(seed_and_capture(ek_srv[0], conc))))
            base_args = [__file__, "--serve-baseline", str(base_port), str(bodies)]
            with server(base_args, base_port, tmpdir / "baseline.log") as base_srv:
                asyncio.run(check_same(ek_srv[0], base_srv[0]))
                for label, method, path, n in cases:
                    ek = asyncio.run(load(ek_srv, method, path, n, warm, conc))
                    base = asyncio.run(load(base_srv, method, path, n, warm, conc))
                    results.append((label, ek, base))

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print("command:", shlex.join([sys.executable, *sys.argv]))
    nproc = len(os.sched_getaffinity(0))
    print(f"machine: nproc={nproc}, Python {platform.python_version()}")
    print(
        f"servers: uvicorn {version('uvicorn')} ({http}, {loop}), starlette {version('starlette')}"
    )
    print(f"client: httpx {version('httpx')}, {conc} concurrent keep-alive HTTP/1.1 connections")
    print(f"each run: {warm} warm-up requests, then the n measured; server cpu = ms per request")
    print(f"note: the load generator runs in this process, on the same {nproc} cores as servers.")
    print()
    cols = f"{'rps':>6} {'p50 ms':>7} {'p99 ms':>7} {'cpu':>5}"
    print(f"{'':30} {'n':>5} {'bytes':>6} | {'elektrad':^28} | {'baseline':^28} | ratio")
    sub = f"{'':43} | {cols} | {cols} | {'rps':>5} {'p50':>5}"
    print(sub, "-" * len(sub), sep="\n")
    for label, ek, base in results:
        row = [f"{label:30} {ek.requests:>5} {ek.size:>6}"]
        for r in (ek, base):
            cpu = r.cpu / r.requests * 1000
            row.append(f"{r.rps:>6.0f} {r.pct(50):>7.2f} {r.pct(99):>7.2f} {cpu:>5.2f}")
        row.append(f"{ek.rps / base.rps:>5.2f} {ek.pct(50) / base.pct(50):>5.2f}")
        print(" | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
