"""Quiet garbage collection for a clusterd process that holds thousands of
websockets.

CPython's cyclic collector stops the event loop while it runs. A full
(generation 2) collection walks every tracked object: with ten thousand open
websockets that is millions of objects and about two seconds, in the middle of
whatever event was being delivered. Two things keep it out of the way:

- ``gc.freeze()`` once start-up is done: what was built to serve (modules,
  the schema, the app, the pools) lives as long as the process and is never
  walked again;
- larger thresholds: a young collection every ``YOUNG`` net allocations
  instead of 700 (an event to 10,000 subscribers allocates far more than 700
  objects; each young collection is cheap, but hundreds per event add up), and
  a full collection after ``FULL`` middle ones instead of 10. CPython also
  runs a full collection only when the objects that survived into the old
  generation since the last one are a quarter of it, so memory stays bounded
  by the live set plus that quarter.

Only a daemon process does this (``elektra-web clusterd`` and ``up``, through
``ClusterdConfig.quiet_gc``): in tests, many apps share one process.
"""

from __future__ import annotations

import gc
import logging

__all__ = ["FULL", "MIDDLE", "YOUNG", "quiet_gc"]

log = logging.getLogger("elektra_web.clusterd")

YOUNG = 20_000
MIDDLE = 20
FULL = 100


def quiet_gc() -> None:
    """Collect what start-up left, freeze the rest, raise the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, FULL)
    log.debug(
        "garbage collection: %d objects frozen, thresholds %s",
        gc.get_freeze_count(),
        gc.get_threshold(),
    )
