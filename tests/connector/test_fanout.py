"""fan_out: bounded concurrency, one outcome per call, failures and timeouts
kept to their own key, and cancellation reaching the calls in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from elektra_web.connector.client import ElektradClient
from elektra_web.connector.exceptions import InstanceUnreachable
from elektra_web.connector.fanout import Result, fan_out

from .conftest import closed_port_url

pytestmark = pytest.mark.anyio


class Gauge:
    """Counts the calls in flight and remembers the most seen at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.started: list[int] = []
        self.cancelled: list[int] = []

    def call(self, key: int, seconds: float = 0.01) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            self.started.append(key)
            self.now += 1
            self.most = max(self.most, self.now)
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                self.cancelled.append(key)
                raise
            finally:
                self.now -= 1
            return key * 10

        return run


@pytest.mark.parametrize(("calls", "limit"), [(50, 5), (50, 1), (3, 10), (100, 100)])
async def test_at_most_limit_calls_are_in_flight(calls: int, limit: int) -> None:
    gauge = Gauge()
    results = await fan_out({k: gauge.call(k) for k in range(calls)}, limit=limit, timeout=5)
    assert gauge.most == min(limit, calls)
    assert list(results) == list(range(calls))  # the order of the calls
    assert all(results[k] == Result(value=k * 10) for k in range(calls))
    assert gauge.started == list(range(calls))


async def test_a_failing_call_fails_only_its_own_key() -> None:
    async def fail() -> int:
        raise ValueError("broken")

    def not_even_a_coroutine() -> Awaitable[int]:
        raise KeyError("sync")

    gauge = Gauge()
    calls = {"a": gauge.call(1), "bad": fail, "sync": not_even_a_coroutine, "b": gauge.call(2)}
    results = await fan_out(calls, limit=2, timeout=5)
    assert (results["a"].value, results["b"].value) == (10, 20)
    assert isinstance(results["bad"].error, ValueError) and not results["bad"].ok
    assert isinstance(results["sync"].error, KeyError)
    with pytest.raises(ValueError, match="broken"):
        results["bad"].unwrap()
    assert results["a"].unwrap() == 10


async def test_a_slow_call_times_out_alone_and_frees_its_slot() -> None:
    gauge = Gauge()
    calls = {0: gauge.call(0, seconds=30), **{k: gauge.call(k) for k in range(1, 20)}}
    start = time.monotonic()
    results = await fan_out(calls, limit=2, timeout=0.2)
    assert time.monotonic() - start < 2
    error = results[0].error
    assert isinstance(error, TimeoutError) and "0.2s" in str(error)
    assert gauge.cancelled == [0]
    assert all(results[k].value == k * 10 for k in range(1, 20))


async def test_a_timeout_error_of_the_call_itself_is_kept() -> None:
    own = TimeoutError("the call's own timeout")

    async def call() -> int:
        raise own

    assert (await fan_out({"x": call}, limit=1, timeout=5))["x"].error is own


async def test_a_call_that_cancels_itself_does_not_cancel_the_others() -> None:
    async def cancel_self() -> int:
        raise asyncio.CancelledError

    gauge = Gauge()
    results = await fan_out({"self": cancel_self, "ok": gauge.call(1)}, limit=1, timeout=5)
    assert isinstance(results["self"].error, RuntimeError)
    assert results["ok"].value == 10


async def test_cancelling_the_caller_cancels_the_calls_in_flight() -> None:
    gauge = Gauge()
    calls = {k: gauge.call(k, seconds=30) for k in range(10)}
    task = asyncio.create_task(fan_out(calls, limit=3, timeout=60))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(gauge.cancelled) == [0, 1, 2]
    assert gauge.started == [0, 1, 2]  # the others never started
    assert gauge.now == 0


async def test_nothing_to_do() -> None:
    empty: dict[str, Callable[[], Awaitable[int]]] = {}
    assert await fan_out(empty, limit=3, timeout=1) == {}


@pytest.mark.parametrize(("limit", "seconds"), [(0, 1.0), (-1, 1.0), (1, 0.0), (1, -5.0)])
async def test_nonsense_bounds_are_refused(limit: int, seconds: float) -> None:
    with pytest.raises(ValueError):
        await fan_out({}, limit=limit, timeout=seconds)


async def test_real_elektrads_and_a_dead_one(
    http: httpx.AsyncClient, start_elektrad: Callable[..., str]
) -> None:
    urls = [start_elektrad(), closed_port_url(), start_elektrad()]
    clients = [ElektradClient(http, url, timeout=2) for url in urls]
    results = await fan_out({c.base_url: c.version for c in clients}, limit=2, timeout=5)
    live, dead, other = (results[url] for url in urls)
    assert live.ok and other.ok
    assert live.unwrap()["instanceId"] != other.unwrap()["instanceId"]
    assert isinstance(dead.error, InstanceUnreachable) and urls[1] in str(dead.error)
