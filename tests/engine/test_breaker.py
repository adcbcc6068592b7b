"""Circuit breakers: who is not waited for."""

from __future__ import annotations

import time

from elektra_web.engine.breaker import Breakers


def test_a_failure_opens_the_circuit_for_a_growing_pause() -> None:
    breakers = Breakers(base=0.001, limit=100)
    first = breakers.failed(1, "connection refused")
    deadline = time.monotonic() + 5
    while breakers.is_open(1):
        assert time.monotonic() < deadline
    second = breakers.failed(1, "connection refused")
    assert 0.0008 <= first <= 0.0012 and 0.0016 <= second <= 0.0024
    assert breakers.is_open(1) and breakers.is_tripped(1)
    assert breakers.reason(1) == "connection refused"
    assert breakers.failures(1) == 2
    assert not breakers.is_open(2)


def test_a_failure_during_the_pause_only_updates_the_reason() -> None:
    breakers = Breakers(base=10, limit=100)
    first = breakers.failed(1, "no answer")
    again = breakers.failed(1, "refused clusterd's credentials (401)")
    assert again <= first and breakers.failures(1) == 1
    assert breakers.reason(1) == "refused clusterd's credentials (401)"


def test_the_pause_is_capped() -> None:
    breakers = Breakers(base=1, limit=5)
    pause = 0.0
    for _ in range(30):
        pause = breakers.failed(1, "down")
        breakers._open[1].retry_at = 0  # as if the pause were over
    assert pause <= 5 * 1.2 and breakers.failures(1) == 30


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
