"""A small client for clusterd's GraphQL API, for the ``elektra-web`` tools and
for scripts.

Queries and mutations go over HTTP (``POST /graphql``); subscriptions over a
websocket speaking ``graphql-transport-ws``, one websocket per subscription::

    async with ClusterdClient("http://127.0.0.1:33334", token=token) as client:
        data = await client.query("query($i: ID!) { instance(id: $i) { name } }", i="1")
        async with client.subscription(CHANGES, clusterId="2") as changes:
            async for data in changes:
                ...

    data = query_sync("http://127.0.0.1:33334", "{ clusters { id name } }")

Every failure is a ``ClientError``:

    ClientError           (base; also: a reply that is not GraphQL, a protocol error)
    ├── ApiError          clusterd answered with a GraphQL error: ``.code`` is its
    │                     ``extensions.code`` (NOT_FOUND, INVALID_KEY_NAME, ...)
    ├── ConnectionLost    clusterd could not be reached, or the connection broke:
    │                     trying again later may work
    └── BadCredentials    the token is missing, wrong or not allowed: UNAUTHENTICATED
                          or FORBIDDEN, HTTP 401/403, websocket close 4401/4403

Modules: ``errors`` (the exceptions), ``client`` (``ClusterdClient``,
``query_sync``), ``subscription`` (graphql-transport-ws).
"""

from __future__ import annotations

from .client import ClusterdClient, endpoints, query_sync
from .errors import GRAPHQL_ERROR, ApiError, BadCredentials, ClientError, ConnectionLost
from .subscription import Subscription

__all__ = [
    "GRAPHQL_ERROR",
    "ApiError",
    "BadCredentials",
    "ClientError",
    "ClusterdClient",
    "ConnectionLost",
    "Subscription",
    "endpoints",
    "query_sync",
]
