"""What the event bus promises, on both backends (memory, PostgreSQL)."""

from __future__ import annotations

import math

import anyio
import pytest

from elektra_web.events import BusNotRunning, Event, EventBus, SubscriberTooSlow

from .conftest import take

pytestmark = pytest.mark.anyio


async def test_publish_reaches_matching_subscribers_only(bus: EventBus) -> None:
    config = bus.subscribe("config")
    status = bus.subscribe({"status"})
    both = bus.subscribe(["config", "status"])
    instance_1 = bus.subscribe("config", predicate=lambda event: event.data["instance"] == 1)
    witness = bus.subscribe({"config", "status", "drift"})

    a = await bus.publish("config", {"instance": 1, "key": "user:/a"})
    b = await bus.publish("status", {"instance": 1, "status": "ONLINE"})
    c = await bus.publish("config", {"instance": 2, "key": "user:/b"})
    await bus.publish("delivery", {"instance": 2})  # nobody listens
    d = await bus.publish("drift", {"instance": 1})

    # The fan-out offers each event to every subscription at once: when the
    # witness has the last one, the others have had every chance.
    assert await take(witness, 4) == [a, b, c, d]
    assert await take(config, 2) == [a, c]
    assert await take(status, 1) == [b]
    assert await take(both, 3) == [a, b, c]
    assert await take(instance_1, 1) == [a]
    for subscription in (config, status, both, instance_1, witness):
        assert subscription.qsize() == 0


async def test_order_is_kept_and_ids_grow(bus: EventBus) -> None:
    subscription = bus.subscribe("delivery")
    published = [await bus.publish("delivery", {"n": n}) for n in range(300)]
    received = await take(subscription, 300)
    assert received == published
    assert [event.data["n"] for event in received] == list(range(300))
    ids = [event.id for event in received]
    assert ids == sorted(set(ids)) and ids[0] > 0


async def test_data_travels_as_json(bus: EventBus) -> None:
    subscription = bus.subscribe("config")
    data = {"path": ("user:/a", "user:/b"), "meta": {"check/type": "long"}, "n": 1.5}
    published = await bus.publish("config", data)
    data["n"] = 2  # the publisher's dict is not what subscribers hold
    [received] = await take(subscription, 1)
    assert received == published
    assert received.data == {
        "path": ["user:/a", "user:/b"],
        "meta": {"check/type": "long"},
        "n": 1.5,
    }
    assert received.topic == "config" and received.at > 0


async def test_bad_events_are_refused_before_anything_is_sent(bus: EventBus) -> None:
    with pytest.raises(TypeError):
        await bus.publish("config", {"x": object()})
    with pytest.raises(ValueError):
        await bus.publish("config", {"x": math.nan})
    with pytest.raises(TypeError):
        await bus.publish("config", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await bus.publish("", {})
    with pytest.raises(ValueError):
        bus.subscribe(set())
    with pytest.raises(ValueError):
        bus.subscribe("config", maxsize=0)


async def test_close_unsubscribes(bus: EventBus) -> None:
    witness = bus.subscribe("config")
    closed = bus.subscribe("config")
    assert bus.subscriber_count == 2
    await bus.publish("config", {"n": 0})
    await take(witness, 1)

    closed.close()
    closed.close()  # idempotent
    assert closed.closed and not closed.overflowed
    assert bus.subscriber_count == 1
    assert [event async for event in closed] == []  # queued events are discarded

    await bus.publish("config", {"n": 1})
    await take(witness, 1)
    assert closed.qsize() == 0

    async with bus.subscribe("config") as scoped:
        assert bus.subscriber_count == 2
    assert scoped.closed
    assert bus.subscriber_count == 1


async def test_close_wakes_a_waiting_consumer(bus: EventBus) -> None:
    subscription = bus.subscribe("status")
    received: list[Event] = []

    async def consume() -> None:
        async for event in subscription:
            received.append(event)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(consume)
            await anyio.sleep(0.05)
            await subscription.aclose()
    assert received == []
    assert bus.subscriber_count == 0


async def test_a_slow_subscriber_is_dropped_alone_and_memory_stays_bounded(bus: EventBus) -> None:
    slow = bus.subscribe("status", maxsize=10)
    fast = bus.subscribe("status")
    deepest = 0

    def measure(event: Event) -> bool:
        # Subscriptions are offered events in subscription order: this sees
        # the slow queue right after each event was offered to it.
        nonlocal deepest
        deepest = max(deepest, slow.qsize())
        return True

    probe = bus.subscribe("status", predicate=measure)
    assert bus.subscriber_count == 3

    published = [await bus.publish("status", {"n": n}) for n in range(100)]
    assert await take(fast, 100) == published
    assert await take(probe, 100) == published

    assert deepest == 10
    assert slow.overflowed and slow.closed
    assert slow.qsize() == 10
    assert bus.subscriber_count == 2
    drained: list[Event] = []
    with pytest.raises(SubscriberTooSlow):
        async for event in slow:
            drained.append(event)
    assert drained == published[:10]

    # The others carry on.
    later = await bus.publish("status", {"n": 100})
    assert await take(fast, 1) == [later]
    assert slow.qsize() == 0


async def test_a_failing_predicate_ends_only_its_subscription(bus: EventBus) -> None:
    def broken(event: Event) -> bool:
        raise KeyError("missing")

    failing = bus.subscribe("drift", predicate=broken)
    healthy = bus.subscribe("drift")
    published = await bus.publish("drift", {"instance": 1})
    assert await take(healthy, 1) == [published]
    assert failing.closed and bus.subscriber_count == 1
    with pytest.raises(KeyError):
        await anext(failing)


async def test_stop_ends_subscriptions_after_their_queued_events(bus: EventBus) -> None:
    witness = bus.subscribe("config")
    subscription = bus.subscribe("config")
    published = [await bus.publish("config", {"n": n}) for n in range(3)]
    await take(witness, 3)

    await bus.stop()
    await bus.stop()  # idempotent
    assert [event async for event in subscription] == published
    assert bus.subscriber_count == 0
    with pytest.raises(BusNotRunning):
        await bus.publish("config", {})
    with pytest.raises(BusNotRunning):
        bus.subscribe("config")
