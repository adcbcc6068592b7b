"""The in-process backend: one clusterd replica (the SQLite default).

Events live only as long as the subscribers' queues hold them; nothing is
stored, so there is nothing to prune and nothing to catch up on.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .base import Backend, Deliver, Event
from .exceptions import BusNotRunning

__all__ = ["MemoryBackend"]


class MemoryBackend(Backend):
    """Assigns increasing ids and delivers each event before ``publish`` returns."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._last_id = 0

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def stop(self) -> None:
        self._deliver = None

    async def publish(self, topic: str, data: dict[str, Any]) -> Event:
        if self._deliver is None:
            raise BusNotRunning("the memory backend is not started")
        # Through JSON and back, as the PostgreSQL backend's JSONB does: the same
        # data is refused (TypeError/ValueError) and subscribers get the same
        # types (lists for tuples, string keys) on both backends, and a copy the
        # publisher cannot change afterwards.
        copied: dict[str, Any] = json.loads(json.dumps(data, allow_nan=False))
        self._last_id += 1
        event = Event(id=self._last_id, topic=topic, data=copied, at=time.time())
        self._deliver(event)
        return event
