"""clusterd's side of the elektrad REST API: the HTTP client, its transport
(a connection pool per instance), bounded fan-out, per-request batching
loaders and the connector's own errors.

It talks to any daemon that speaks the API over HTTP and imports nothing from
``elektra_web.elektrad``; tests against the real daemon pin the wire contract.
Key names are read and spelled with the shared model, :mod:`elektra_web.keynames`.
"""
