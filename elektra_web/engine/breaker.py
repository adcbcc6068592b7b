"""Circuit breakers: an instance that just failed to answer costs nothing more.

One :class:`Breakers` per replica keeps, per instance, how often calls to it
failed in a row and until when it is left alone. While a circuit is *open*,
cluster writes answer PENDING for the instance at once (its deliveries wait in
the queue), reads of it fail at once, and the sender does not try it. When the
time is up the circuit is *half-open*: the next attempt (a delivery, or a
health check) goes through, and its outcome closes or re-opens the circuit,
with a longer pause each time (exponential, with jitter so that instances that
failed together do not come back in step).

State lives in memory: another replica learns on its own first attempt, and a
restart forgets (costing one attempt per offline instance).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

__all__ = ["Breakers"]


@dataclass(slots=True)
class _Circuit:
    failures: int
    retry_at: float  # time.monotonic()
    reason: str
    failed_at: float


class Breakers:
    """Per-instance circuits; pauses from ``base`` doubling up to ``limit`` seconds."""

    def __init__(self, base: float = 1.0, limit: float = 60.0) -> None:
        self.base = base
        self.limit = limit
        self._open: dict[int, _Circuit] = {}

    def configure(self, base: float, limit: float) -> None:
        self.base, self.limit = base, limit

    def failed(self, instance_id: int, reason: str) -> float:
        """A call failed: open the circuit; the seconds until the next try.
        While it is open already (a health check that failed during the pause)
        only the reason is updated: the pause is not pushed further, so the
        next try (the sender's) still comes when it was due."""
        circuit = self._open.get(instance_id)
        now = time.monotonic()
        if circuit is not None and now < circuit.retry_at:
            circuit.reason = reason
            return circuit.retry_at - now
        failures = circuit.failures + 1 if circuit else 1
        pause = min(self.limit, self.base * 2.0 ** min(failures - 1, 20)) * random.uniform(0.8, 1.2)
        self._open[instance_id] = _Circuit(failures, now + pause, reason, now)
        return pause

    def succeeded(self, instance_id: int, sent_at: float | None = None) -> bool:
        """A call got an answer: close the circuit; whether it was open. An
        answer to a request sent (``sent_at``, monotonic) before the last
        failure proves nothing about now (a long poll sent while all was
        well) and closes nothing."""
        circuit = self._open.get(instance_id)
        if circuit is None or (sent_at is not None and sent_at < circuit.failed_at):
            return False
        del self._open[instance_id]
        return True

    def is_open(self, instance_id: int) -> bool:
        """Whether calls to the instance are to be skipped now (open, not yet
        half-open)."""
        circuit = self._open.get(instance_id)
        return circuit is not None and time.monotonic() < circuit.retry_at

    def is_tripped(self, instance_id: int) -> bool:
        """Whether the last call to the instance failed (open or half-open)."""
        return instance_id in self._open

    def reason(self, instance_id: int) -> str | None:
        circuit = self._open.get(instance_id)
        return circuit.reason if circuit else None

    def failures(self, instance_id: int) -> int:
        circuit = self._open.get(instance_id)
        return circuit.failures if circuit else 0
