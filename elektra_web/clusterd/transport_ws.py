"""clusterd's graphql-transport-ws handler: strawberry's, with the
subscriptions that many sockets share served from one execution
(:mod:`.multiplex`).

Everything else of the protocol (connection_init and its timeout, ping/pong,
the close codes 4400/4401/4403/4408/4409/4429, queries and mutations over the
socket, the other subscriptions) stays strawberry's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from ..schema.context import Context
from .multiplex import Listener, Multiplexer, is_too_slow, key_for, too_slow_payload

if TYPE_CHECKING:
    from ..engine.metrics import Metrics

__all__ = ["TransportWSHandler"]


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Runs a multiplexable subscription as a listener of its group; the
    operation's own task sends what the group encoded, at this socket's pace."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        multiplexer: Multiplexer | None = getattr(self.view, "multiplexer", None)
        key = (
            key_for(
                operation.query,
                operation.variables,
                operation.operation_name,
                self.context.caller.role,
            )
            if multiplexer is not None
            else None
        )
        if multiplexer is None or key is None:
            await super().run_operation(operation)
            return
        listener = multiplexer.join(key)
        metrics: Metrics | None = self.context.services.metrics
        if metrics is not None:
            metrics.subscriptions.inc()
        try:
            await self._listen(operation, listener, metrics)
        except WebSocketDisconnect:
            pass  # the socket went away: its handler is shutting down
        finally:
            if metrics is not None:
                metrics.subscriptions.dec()
            multiplexer.leave(key, listener)

    async def _listen(
        self, operation: Operation[Context, None], listener: Listener, metrics: Metrics | None
    ) -> None:
        # The payload was encoded once for the whole group: only the id is ours.
        head = f'{{"id":{json.dumps(operation.id)},"type":"next","payload":'
        while True:
            item = await listener.next()
            if isinstance(item, str):
                if metrics is not None:
                    metrics.subscription_events.inc()
                await self._send_next(operation, head, item)
                continue
            if is_too_slow(item):
                if metrics is not None:
                    metrics.subscriptions_dropped.inc()
                payload = too_slow_payload(listener, self.view.encode_json)
                await self._send_next(operation, head, payload)
            elif item.error is not None:
                # It could not start (e.g. a validation error): as strawberry
                # answers an unshared subscription (parse errors never get here).
                await operation.send_initial_errors(list(item.error.errors or ()))
            break
        await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def _send_next(
        self, operation: Operation[Context, None], head: str, payload: str
    ) -> None:
        if operation.completed:
            return
        socket: Any = self.websocket
        await socket.ws.send_text(head + payload + "}")
