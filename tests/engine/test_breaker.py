"""Circuit breakers: who is not waited for."""

from __future__ import annotations

import time

from elektra_web.engine.breaker import Breakers


def test_a_failure_opens_the_circuit_for_a_growing_pause() -> None:
    breakers = Breakers(base=10, limit=100)
    first = breakers.failed(1, "connection refused")
    second = breakers.failed(1, "connection refused")
    assert 8 <= first <= 12 and 16 <= second <= 24
    assert breakers.is_open(1) and breakers.is_tripped(1)
    assert breakers.reason(1) == "connection refused"
    assert breakers.failures(1) == 2
    assert not breakers.is_open(2)


def test_the_pause_is_capped() -> None:
    breakers = Breakers(base=1, limit=5)
    for _ in range(30):
        pause = breakers.failed(1, "down")
    assert pause <= 5 * 1.2


def test_after_the_pause_one_try_goes_through_and_success_closes() -> None:
    breakers = Breakers(base=0.001, limit=0.001)
    breakers.failed(1, "down")
    deadline = time.monotonic() + 5
    while breakers.is_open(1):  # half-open after a millisecond
        assert time.monotonic() < deadline
    assert breakers.is_tripped(1)
    assert breakers.succeeded(1) is True
    assert not breakers.is_tripped(1) and breakers.reason(1) is None
    assert breakers.succeeded(1) is False


def test_an_answer_to_a_request_sent_before_the_failure_closes_nothing() -> None:
    breakers = Breakers(base=10, limit=10)
    sent_before = time.monotonic()
    breakers.failed(1, "no answer within 2s")
    assert breakers.succeeded(1, sent_at=sent_before) is False  # an old long poll
    assert breakers.is_tripped(1)
    assert breakers.succeeded(1, sent_at=time.monotonic()) is True
