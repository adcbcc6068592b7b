"""Per-request state: who calls, the app's services, the batching loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry

from ..models import Cluster
from ..resolvers.auth import Caller
from ..resolvers.reads import Reads
from ..resolvers.services import Services


@dataclass
class Context:
    services: Services
    caller: Caller
    reads: Reads
    #: A websocket's ``connection_init`` payload (set by strawberry).
    connection_params: Any = None
    #: The websocket this context belongs to (None for HTTP).
    socket: Any = None
    _clusters: dict[int, Cluster | None] = field(default_factory=dict)

    async def cluster(self, cluster_id: int | None) -> Cluster | None:
        """A cluster by id, fetched once per request."""
        if cluster_id is None:
            return None
        if cluster_id not in self._clusters:
            self._clusters[cluster_id] = await Cluster.get_or_none(id=cluster_id)
        return self._clusters[cluster_id]


Info = strawberry.Info[Context, None]
