"""clusterd's GraphQL endpoint: strawberry's ASGI app with clusterd's
authentication, per-request context and GraphQL-over-HTTP rules
(``graphql_http.py``), on HTTP (queries, mutations, streamed subscriptions)
and websockets (graphql-transport-ws)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from cross_web import HTTPException  # strawberry's own, for its error answers
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLRequestData, process_result
from strawberry.http.streaming import MultipartSubscriptionTransport
from strawberry.http.types import HTTPMethod
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from ..engine.services import Services, Settings
from ..exceptions import Unauthenticated
from ..logs import tag_request
from ..resolvers.auth import ANONYMOUS, Caller, Role
from ..resolvers.reads import Reads
from ..resolvers.tokens import authenticate_secret
from ..schema.context import Context
from ..schema.errors import OPERATION_RESOLUTION_FAILURE, is_request_error
from ..schema.root import schema
from .auth import authenticate, is_ide_page, secret_from_init, unauthenticated
from .graphiql import render_page
from .graphql_http import (
    GRAPHQL_RESPONSE,
    JSON,
    RequestError,
    RevocableStream,
    is_streaming,
    negotiate,
    status_for,
)
from .monitoring import observed
from .multiplex import Multiplexer
from .transport_ws import TransportWSHandler

__all__ = ["GraphQLApp"]

log = logging.getLogger("elektra_web.clusterd")


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with clusterd's per-request context."""

    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, services_ref: dict[str, Services], settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            # Only graphql-transport-ws on websockets: the legacy graphql-ws
            # protocol has had authentication bypasses.
            # Over HTTP, subscriptions stream as multipart/mixed (Apollo Client,
            # GraphiQL) or server-sent events (curl, EventSource).
            subscription_protocols=(
                GRAPHQL_TRANSPORT_WS_PROTOCOL,
                MULTIPART_SUBSCRIPTION_PROTOCOL,
                GRAPHQL_SSE_PROTOCOL,
            ),
            connection_init_wait_timeout=dt.timedelta(seconds=settings.ws_init_timeout),
            max_subscriptions_per_connection=settings.max_subscriptions_per_socket,
            # Browsers on other origins may not open a socket (same origin may).
            allowed_origins=settings.allowed_origins,
        )
        self._services_ref = services_ref
        self.multiplexer = (
            Multiplexer(
                schema,
                self._group_context,
                self.encode_json,
                settings.subscriber_queue,
            )
            if settings.multiplex_subscriptions
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The log lines of this request (or websocket) carry its id.
        send = tag_request(scope, send)
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # websockets: on_ws_connect
            return
        state = scope.setdefault("state", {})
        # HTTP requests are authenticated before strawberry sees them, so that
        # a missing token is a 401 (websockets: at connection_init, below).
        page = is_ide_page(scope)
        if not page:
            try:
                state["caller"] = await authenticate(HTTPConnection(scope))
            except Unauthenticated as exc:
                await unauthenticated(exc)(scope, receive, send)
                return
        headers = Headers(scope=scope)
        accept = headers.get("accept")
        media_type = negotiate(accept)
        streaming = is_streaming(accept or "")
        if media_type is None and not page and not streaming:
            refused = RequestError(
                f"answers are {GRAPHQL_RESPONSE} or {JSON}; the Accept header allows neither",
                "NOT_ACCEPTABLE",
                status=406,
            )
            await refused.response(JSON)(scope, receive, send)
            return
        state["media_type"] = media_type or JSON
        request = Request(scope, receive)
        try:
            if scope["method"] == "POST" and not streaming and _json(headers):
                response = await self._post(request, state["media_type"])
            else:
                response = await self.run(request)
        except RequestError as exc:
            response = exc.response(state["media_type"])
        except HTTPException as exc:  # strawberry's own refusals of a request
            message = exc.reason
            if exc.reason == "Unsupported content type":
                status, code = 415, "UNSUPPORTED_MEDIA_TYPE"
                message = _unsupported_content_type(headers.get("content-type"))
            else:
                status = exc.status_code
                code = "BAD_REQUEST" if status == 400 else "NOT_SUPPORTED"
            allow = {"Allow": "GET, POST"} if status == 405 else None
            error = RequestError(message, code, status=status, headers=allow)
            response = error.response(state["media_type"])
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # Only a browser's page load (strawberry also shows it to */*, which
        # is what curl sends with a GET that forgot its query).
        return (
            request.method == "GET"
            and request.query_params.get("query") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def _post(self, request: Request, media_type: str) -> Response:
        """A query or mutation POSTed as JSON: what ``run`` does for it,
        without the steps it needs for other requests (a third of the time
        of a small query went to them)."""
        data = self.parse_json(await request.body())
        for name in ("variables", "extensions"):
            if not isinstance(data.get(name), dict | None):
                raise RequestError(f"{name} must be an object", "BAD_REQUEST", status=400)
        if not isinstance(query := data.get("query"), str | None):
            raise RequestError("query must be a string", "BAD_REQUEST", status=400)
        request_data = GraphQLRequestData(
            query=query,
            variables=data.get("variables"),
            operation_name=data.get("operationName"),
            extensions=data.get("extensions"),
        )
        context = await self.get_context(request, None)
        result = await self._execute(request, "POST", context, request_data)
        body = await self.process_result(request, result)
        return Response(
            self.encode_json(body), status_code=status_for(body, media_type), media_type=media_type
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        return await self._execute(request, request_adapter.method, context, request_data)

    async def _execute(
        self,
        request: Request,
        method: HTTPMethod,
        context: Context,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """One query or mutation over plain HTTP (subscriptions stream, in
        ``create_streaming_response``)."""
        if not isinstance(request_data.operation_name, str | None):
            raise RequestError("operationName must be a string", "BAD_REQUEST", status=400)
        allowed = OperationType.from_http(method) - {OperationType.SUBSCRIPTION}
        try:
            result = await self.schema.execute(
                request_data.query,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
            if context.services.metrics is not None:  # counted by ObservedGraphQL
                request.scope["state"]["graphql"] = observed(context, result)
            return result
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.MUTATION:
                raise RequestError(
                    "a mutation is sent with POST, never GET",
                    "METHOD_NOT_ALLOWED",
                    status=405,
                    headers={"Allow": "POST"},
                ) from exc
            raise RequestError(
                "a subscription needs a stream: a websocket (graphql-transport-ws), or "
                "POST with 'Accept: multipart/mixed;subscriptionSpec=1.0' or "
                "'Accept: text/event-stream'",
                OPERATION_RESOLUTION_FAILURE,
            ) from exc
        except CannotGetOperationTypeError as exc:
            raise RequestError(exc.as_http_error_reason(), OPERATION_RESOLUTION_FAILURE) from exc
        except MissingQueryError as exc:
            # Not a well-formed request: 400 in either media type.
            raise RequestError("the request has no GraphQL query", "BAD_REQUEST", 400) from exc

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        body = process_result(result)
        # A request error (nothing ran) has no data at all, not null data.
        if result.data is None and result.errors and all(map(is_request_error, result.errors)):
            body.pop("data", None)
        return body

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or JSON
        response.headers["content-type"] = media_type
        if not sub_response.status_code:
            response.status_code = status_for(response_data, media_type)
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = request.scope.get("state", {}).get("media_type", JSON)
        return sub_response

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        """A subscription over HTTP, which ends like a websocket when its
        token is revoked (UNAUTHENTICATED) or clusterd stops (UNAVAILABLE)."""
        transport = self._get_stream_transport_from_headers(request.headers)
        assert transport is not None
        caller: Caller = request.scope["state"]["caller"]

        def final(reason: str, code: str) -> str:
            errors: list[object] = [{"message": reason, "extensions": {"code": code}}]
            if isinstance(transport, MultipartSubscriptionTransport):
                last = transport.encode_multipart_data(
                    {"payload": None, "errors": errors}, self.encode_json_string
                )
            else:
                last = transport.encode_next({"errors": errors}, self.encode_json_string)
            return last + transport.encode_complete()

        guarded = RevocableStream(final)
        assert caller.token_id is not None
        self._services_ref["services"].sessions.add(caller.token_id, guarded)
        return await super().create_streaming_response(
            request, lambda: guarded.guard(stream()), sub_response, headers
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page, whose files clusterd serves (``graphiql/``)."""
        return render_page()

    def parse_json(self, data: str | bytes) -> Any:
        """A request's JSON: an object, or 400 (strawberry answers 500 to a
        body that is not UTF-8, or JSON but not an object)."""
        try:
            value = json.loads(data)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise HTTPException(400, "the request body is not JSON") from exc
        if not isinstance(value, dict):  # batches are off
            raise HTTPException(400, "the request body must be a JSON object")
        return value

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        services = self._services_ref["services"]
        caller: Caller = request.scope.get("state", {}).get("caller", ANONYMOUS)
        socket = request if isinstance(request, WebSocket) else None
        return Context(
            services=services, caller=caller, reads=Reads(services, caller), socket=socket
        )

    def _group_context(self, role: Role) -> Context:
        """The context a multiplexed subscription runs in: the role of its
        subscribers, no socket; not counted in the metrics (each subscriber
        is, by ``TransportWSHandler``)."""
        services = dataclasses.replace(self._services_ref["services"], metrics=None)
        caller = Caller(f"{role.name.lower()} subscribers", role)
        return Context(services=services, caller=caller, reads=Reads(services, caller))

    async def on_ws_connect(self, context: Context) -> dict[str, object]:
        """Sign a websocket in with the token of its connection_init."""
        secret = secret_from_init(context.connection_params, context.socket)
        try:
            caller = await authenticate_secret(secret or "")
        except Unauthenticated as exc:
            log.info("websocket refused: %s", exc.message)
            raise ConnectionRejectionError({"message": exc.message}) from exc
        assert caller.token_id is not None and caller.role is not None
        context.caller = caller
        context.reads = Reads(context.services, caller)
        context.services.sessions.add(caller.token_id, context.socket)
        return {"name": caller.name, "role": caller.role.name}


def _unsupported_content_type(content_type: str | None) -> str:
    """What to send instead: strawberry's "Unsupported content type" left a
    curl user (``curl -d``: a form) guessing."""
    sent = f"'{content_type[:100]}'" if content_type else "none"
    return (
        f"POST /graphql takes a JSON body with 'Content-Type: {JSON}' (this request's "
        f"Content-Type: {sent}), e.g. curl -H 'Content-Type: {JSON}' "
        """-d '{"query": "{ version { api } }"}'; or GET /graphql?query=..."""
    )


def _json(headers: Headers) -> bool:
    """Whether the body is JSON (a POST of JSON asking for no stream is a
    query or a mutation)."""
    content_type = headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == JSON
