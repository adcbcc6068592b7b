"""A graphql-transport-ws client for tests, on the real ``websockets`` package."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .conftest import ADMIN_TOKEN


class Socket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._ids = 0

    async def close_code(self, seconds: float = 5) -> int:
        """Receive until the server closes the socket; its close code."""
        try:
            while True:
                await self.receive(seconds)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code

    async def subscribe(self, query: str, **variables: Any) -> str:
        self._ids += 1
        id_ = str(self._ids)
        await self.send(
            {"id": id_, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        return id_

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, seconds: float = 10) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(
            await asyncio.wait_for(self.connection.recv(), seconds)
        )
        return message

    async def next_data(self, seconds: float = 10) -> dict[str, Any]:
        """The data of the next ``next`` message (pings are answered)."""
        while True:
            message = await self.receive(seconds)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            data: dict[str, Any] = message["payload"]["data"]
            return data


@asynccontextmanager
async def connect(
    base_url: str, *, init: bool = True, token: str | None = ADMIN_TOKEN
) -> AsyncIterator[Socket]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
        socket = Socket(connection)
        if init:
            await socket.send({"type": "connection_init", "payload": {"token": token}})
            assert (await socket.receive())["type"] == "connection_ack"
        yield socket
