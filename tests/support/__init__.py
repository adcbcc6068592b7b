"""Helpers shared by the test packages, not tests themselves.

- ``servers``: serve any ASGI app under uvicorn in a thread, on a loopback port.
- ``faults``: a loopback HTTP/1.1 proxy that holds, drops, delays or trickles
  chosen requests between clusterd and an elektrad (fault-injection tests).
"""
