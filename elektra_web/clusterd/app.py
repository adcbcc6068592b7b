"""clusterd's ASGI app: GraphQL at /graphql (POST, GraphiQL on GET, websockets)
and the lifespan that owns the database, the HTTP client to the elektrads, the
delivery queue and the health checks."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from cross_web import HTTPException  # strawberry's own, for its error answers
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLRequestData, process_result
from strawberry.http.streaming import MultipartSubscriptionTransport
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from tortoise import Tortoise

from ..client import client_routes
from ..connector.transport import PerOriginTransport
from ..connector.urls import normalize_host
from ..engine import Engine
from ..engine.services import Services, Settings
from ..events import bus_for
from ..exceptions import ClusterdError, Unauthenticated
from ..models import Instance
from ..resolvers.auth import ANONYMOUS, SYSTEM, Caller, Role
from ..resolvers.instances import InstanceInput, add_instance, update_instance
from ..resolvers.reads import Reads
from ..resolvers.tokens import authenticate_secret, create_token, ensure_token, has_tokens
from ..schema.context import Context
from ..schema.errors import OPERATION_RESOLUTION_FAILURE, is_request_error
from ..schema.root import schema
from .auth import authenticate, is_ide_page, secret_from_init, unauthenticated
from .database import migrate, tortoise_config
from .graphiql import graphiql_routes, render_page
from .graphql_http import (
    GRAPHQL_RESPONSE,
    JSON,
    RequestError,
    RevocableStream,
    is_streaming,
    negotiate,
    status_for,
)

__all__ = ["ClusterdConfig", "create_app"]

log = logging.getLogger("elektra_web.clusterd")

#: Seconds an idle connection to an elektrad is kept.
_KEEPALIVE = 3.0


@dataclass
class ClusterdConfig:
    database_url: str
    settings: Settings = field(default_factory=Settings)
    #: (name, URL) of elektrads to register at start-up unless registered
    #: already: what ``elektra-web up`` uses for the local machine.
    register: Sequence[tuple[str, str]] = ()
    #: Run the periodic health checks (tests turn them off to drive them).
    health_checks: bool = True
    #: Follow the instances' change feeds (a test that counts calls turns it off).
    follow_feeds: bool = True
    #: The transport of the HTTP client to the elektrads (a seam for tests).
    transport: httpx.AsyncBaseTransport | None = None
    #: An admin token's secret, created at start unless it exists: what
    #: ``ELEKTRA_WEB_ADMIN_TOKEN`` sets, for automation.
    admin_token: str | None = None
    #: Called with a new admin token's secret when the database has no token
    #: at all: how ``elektra-web up`` signs in its first user.
    on_first_admin: Callable[[str], None] | None = None


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with clusterd's per-request context."""

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
        accept = Headers(scope=scope).get("accept")
        media_type = negotiate(accept)
        if media_type is None and not page and not is_streaming(accept or ""):
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
            response = await self.run(request)
        except RequestError as exc:
            response = exc.response(state["media_type"])
        except HTTPException as exc:  # strawberry's own refusals of a request
            status = 415 if exc.reason == "Unsupported content type" else exc.status_code
            code = "BAD_REQUEST" if status == 400 else "NOT_SUPPORTED"
            headers = {"Allow": "GET, POST"} if status == 405 else None
            error = RequestError(exc.reason, code, status=status, headers=headers)
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

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """One query or mutation over plain HTTP (subscriptions stream, in
        ``create_streaming_response``)."""
        if not isinstance(request_data.operation_name, str | None):
            raise RequestError("operationName must be a string", "BAD_REQUEST", status=400)
        method = request_adapter.method
        allowed = OperationType.from_http(method) - {OperationType.SUBSCRIPTION}
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
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
        token is revoked."""
        transport = self._get_stream_transport_from_headers(request.headers)
        assert transport is not None
        caller: Caller = request.scope["state"]["caller"]

        def final(reason: str) -> str:
            errors: list[object] = [{"message": reason, "extensions": {"code": "UNAUTHENTICATED"}}]
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


def create_app(config: ClusterdConfig) -> Starlette:
    services_ref: dict[str, Services] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await migrate(config.database_url)
        await Tortoise.init(
            config=tortoise_config(config.database_url), _enable_global_fallback=True
        )
        # A small pool per instance: one pool of a thousand instances costs
        # O(thousand) per request (encode/httpx#3215). A call needs a
        # connection per origin only while in flight; fan_out bounds how many.
        http = httpx.AsyncClient(
            transport=config.transport
            or PerOriginTransport(
                limits=httpx.Limits(
                    max_connections=config.settings.fanout_limit * 2,
                    max_keepalive_connections=4,
                    # Below the daemons' own idle timeout (uvicorn's 5 s): a
                    # connection they are closing is never reused.
                    keepalive_expiry=_KEEPALIVE,
                )
            ),
            timeout=config.settings.call_timeout,
            follow_redirects=False,  # an elektrad never redirects; following is an SSRF risk
        )
        feed_http = httpx.AsyncClient(
            # One long poll per followed instance: a connection or two each.
            transport=PerOriginTransport(
                limits=httpx.Limits(
                    max_connections=None, max_keepalive_connections=2, keepalive_expiry=_KEEPALIVE
                )
            ),
            timeout=config.settings.call_timeout,
            follow_redirects=False,
        )
        bus = bus_for(config.database_url, maxsize=config.settings.subscriber_queue)
        await bus.start()
        services = Services(http, bus, settings=config.settings, feed_http=feed_http)
        engine = Engine(
            services, follow_feeds=config.follow_feeds, health_checks=config.health_checks
        )
        services_ref["services"] = services
        app.state.services = services
        await _bootstrap_tokens(config)
        background: list[asyncio.Task[Any]] = [
            asyncio.create_task(
                services.sessions.sweep_forever(config.settings.token_sweep_interval)
            )
        ]
        if not _shared(config.database_url):
            # Only this process uses an SQLite file: claims left by a previous
            # run (killed before it could release them) are void.
            await Instance.all().update(
                follower=None, follower_until=None, sender=None, sender_until=None
            )
        try:
            await _register(services, config.register)
            await engine.start()
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await engine.stop()
            await bus.stop()
            await http.aclose()
            await feed_http.aclose()
            await Tortoise.close_connections()
            log.info("clusterd stopped")

    graphql = GraphQLApp(services_ref, config.settings)
    routes = [
        # The bundled web client: the page at "/", its modules under /static/.
        *client_routes(),
        # GraphiQL's scripts and stylesheets (the page itself: GET /graphql).
        *graphiql_routes(),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _shared(database_url: str) -> bool:
    """Whether several clusterd replicas may share this database."""
    return not database_url.startswith("sqlite:")


async def _bootstrap_tokens(config: ClusterdConfig) -> None:
    if config.admin_token is not None:
        await ensure_token(
            config.admin_token,
            "admin (ELEKTRA_WEB_ADMIN_TOKEN)",
            Role.ADMIN,
            "ELEKTRA_WEB_ADMIN_TOKEN",
        )
    if config.on_first_admin is not None and not await has_tokens():
        _, secret = await create_token(SYSTEM, "first admin (elektra-web up)", Role.ADMIN)
        config.on_first_admin(secret)


async def _register(services: Services, register: Sequence[tuple[str, str]]) -> None:
    """Register each (name, URL) unless registered; a name registered under
    another URL (``up`` with another ``--elektrad-port``) moves there."""
    for name, url in register:
        try:
            if await Instance.filter(host=normalize_host(url)).exists():
                continue
            other = await Instance.get_or_none(name=name)
            if other is not None:
                moved = InstanceInput(host=url)
                instance = await update_instance(services, SYSTEM, other.id, moved)
                log.info("instance %s moved to %s", instance.name, instance.host)
            else:
                instance = await add_instance(services, SYSTEM, InstanceInput(name=name, host=url))
                log.info("registered %s (%s) as an instance", instance.name, instance.host)
        except ClusterdError as exc:  # clusterd serves all the same
            log.warning("could not register %s at %s: %s", name, url, exc.message)
