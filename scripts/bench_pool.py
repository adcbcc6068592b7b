"""Benchmark clusterd's HTTP client pools: one shared pool against a pool per origin.

httpcore's connection pool looks at every pooled connection on each request
(encode/httpx#3215), so with N instances in one pool every call costs O(N).
For each N of ``--sizes`` (default 10, 100, 1000) this times ``--requests`` GETs
spread round-robin over N loopback origins, ``--concurrency`` in flight at once
(clusterd's fan-out limit), through

(a) SHARED: one ``httpx.AsyncClient`` with one big pool (room for a
    connection per origin, as clusterd's change-feed client had), and
(b) PER ORIGIN: ``httpx.AsyncClient(transport=PerOriginTransport(...))`` with
    the per-origin limits clusterd uses (``elektra_web.clusterd.app``).

Both first send one unmeasured request to every origin, so each pool holds a
kept-alive connection per origin, as it does in a running clusterd. Each
measurement is repeated ``--rounds`` times, alternating (a) and (b), and the
median is reported: requests per second (wall time) and the client's CPU
milliseconds per request (``time.process_time`` of this process, which runs
nothing else), and the ratio shared / per origin.

The origins are one helper process (this script run as ``--serve N``): raw
asyncio servers on N loopback ports answering every request with the same
small HTTP/1.1 keep-alive response, so nearly all the client's CPU is httpx's
and the server costs the client nothing but shared cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from elektra_web.connector.transport import PerOriginTransport  # noqa: E402

RESPONSE = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"api": 1}\n'
)
#: The per-origin limits of clusterd's client to the elektrads.
PER_ORIGIN_LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=4)


def raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the origins (helper process) ------------------------------------------------


class Answer(asyncio.Protocol):
    """Answers every request head (GETs: no body) with RESPONSE, keep-alive."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.buffer = self.buffer[end + 4 :]
            self.transport.write(RESPONSE)


async def serve(count: int) -> None:
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(Answer, "127.0.0.1", 0, backlog=1024) for _ in range(count)]
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    print(json.dumps(ports), flush=True)  # ready: the parent reads this line
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin


@contextlib.contextmanager
def origins(count: int) -> Iterator[list[str]]:
    """Start the helper with ``count`` origins; yield their URLs; always stop it."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the origin helper exited {proc.wait()}")
        yield [f"http://127.0.0.1:{port}" for port in json.loads(line)]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the client ------------------------------------------------------------------


def shared_client(count: int, concurrency: int) -> httpx.AsyncClient:
    room = max(count, concurrency) * 2
    limits = httpx.Limits(max_connections=room, max_keepalive_connections=room)
    return httpx.AsyncClient(limits=limits, timeout=60, follow_redirects=False)


def per_origin_client(count: int, concurrency: int) -> httpx.AsyncClient:
    transport = PerOriginTransport(limits=PER_ORIGIN_LIMITS)
    return httpx.AsyncClient(transport=transport, timeout=60, follow_redirects=False)


async def run(
    http: httpx.AsyncClient, urls: list[str], total: int, concurrency: int
) -> tuple[float, float]:
    """Warm every origin, then time ``total`` GETs: (wall s, client CPU s)."""
    semaphore = asyncio.Semaphore(concurrency)

    async def warm(url: str) -> None:
        async with semaphore:
            (await http.get(url + "/version")).raise_for_status()

    await asyncio.gather(*(warm(url) for url in urls))
    targets = iter(urls[i % len(urls)] + "/version" for i in range(total))

    async def worker() -> None:
        for url in targets:
            response = await http.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def measure(
    urls: list[str], total: int, concurrency: int, rounds: int
) -> dict[str, tuple[float, float]]:
    """Median (requests/s, CPU ms per request) of each variant."""
    samples: dict[str, list[tuple[float, float]]] = {"shared": [], "per origin": []}
    for _ in range(rounds):
        for name, make in (("shared", shared_client), ("per origin", per_origin_client)):
            async with make(len(urls), concurrency) as http:
                wall, cpu = await run(http, urls, total, concurrency)
            samples[name].append((total / wall, cpu * 1000 / total))
    return {
        name: (statistics.median(s[0] for s in got), statistics.median(s[1] for s in got))
        for name, got in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="numbers of origins")
    parser.add_argument("--requests", type=int, default=2000, help="GETs per measurement")
    parser.add_argument("--concurrency", type=int, default=64, help="GETs in flight at once")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per variant")
    parser.add_argument("--serve", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_file_limit()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
        return
    sizes = [int(n) for n in args.sizes.split(",")]
    print(
        f"{args.requests} GETs per measurement, {args.concurrency} in flight, "
        f"median of {args.rounds}; per origin: {PER_ORIGIN_LIMITS}"
    )
    print(
        f"{'origins':>8} | {'shared pool':^20} | {'pool per origin':^20} | {'ratio':^14}\n"
        f"{'':>8} | {'req/s':>9} {'cpu ms':>10} | {'req/s':>9} {'cpu ms':>10} |"
        f" {'req/s':>6} {'cpu':>7}"
    )
    for count in sizes:
        with origins(count) as urls:
            got = asyncio.run(measure(urls, args.requests, args.concurrency, args.rounds))
        (shared_rps, shared_cpu), (own_rps, own_cpu) = got["shared"], got["per origin"]
        print(
            f"{count:>8} | {shared_rps:>9.0f} {shared_cpu:>10.3f} | {own_rps:>9.0f} "
            f"{own_cpu:>10.3f} | {own_rps / shared_rps:>5.2f}x {shared_cpu / own_cpu:>6.2f}x",
            flush=True,
        )
    print(
        "ratio: req/s per origin / shared; cpu: shared / per origin (above 1: per origin is better)"
    )


if __name__ == "__main__":
    main()
