"""Run many calls at once, with a bound, and keep every outcome.

clusterd talks to a thousand instances at a time: opening a thousand
connections at once would exhaust sockets and stall the event loop, and one
dead instance must neither fail nor delay the answers of the others.
:func:`fan_out` is the one place that gets this right, for any kind of call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Result", "fan_out"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """The outcome of one call: ``value`` if it returned, else ``error``."""

    value: T | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True if the call returned (its value may be ``None``)."""
        return self.error is None

    def unwrap(self) -> T:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # None when T allows it


async def fan_out(
    calls: Mapping[K, Callable[[], Awaitable[T]]],
    *,
    limit: int,
    timeout: float,  # noqa: ASYNC109  (per call: a caller's asyncio.timeout cannot say that)
) -> dict[K, Result[T]]:
    """Run ``calls`` concurrently, at most ``limit`` at a time, each given
    ``timeout`` seconds from its start; return every key's :class:`Result`.

    A call that raises or times out (a :class:`TimeoutError`) fails only its
    own key: this never raises for a call. The results keep the order of
    ``calls``. If the caller is cancelled, the calls in flight are cancelled
    and the ones not started never start.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout}")
    results: dict[K, Result[T]] = {}
    # Workers pulling from one iterator, not a task per call: a thousand
    # calls cost `limit` tasks, and calls start in the order given.
    pending: Iterator[tuple[K, Callable[[], Awaitable[T]]]] = iter(calls.items())

    async def worker() -> None:
        for key, call in pending:
            results[key] = await _run(call, timeout)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(limit, len(calls))):
            group.create_task(worker())
    return {key: results[key] for key in calls}


async def _run(call: Callable[[], Awaitable[T]], seconds: float) -> Result[T]:
    try:
        async with asyncio.timeout(seconds) as deadline:
            value = await call()
    except TimeoutError as exc:
        if deadline.expired():
            return Result(error=TimeoutError(f"no result within {seconds:g}s"))
        return Result(error=exc)
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled: let it through
        # The call cancelled itself (not us): that is its failure alone.
        error = RuntimeError("the call was cancelled")
        error.__cause__ = exc
        return Result(error=error)
    except Exception as exc:
        return Result(error=exc)
    return Result(value=value)
