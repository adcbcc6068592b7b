"""The bundled web client: plain ES modules and CSS, no build step.

clusterd serves ``index.html`` at ``/`` and the modules under ``/static/``; the
page talks to clusterd only through its public GraphQL API (POST ``/graphql``
and graphql-transport-ws on ``/graphql``).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

__all__ = ["CONTENT_SECURITY_POLICY", "DIRECTORY", "client_routes"]

DIRECTORY = Path(__file__).parent

#: Only the page's own modules run: no inline scripts or handlers, nothing
#: from elsewhere; it connects only back to clusterd (HTTP and websocket).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page is small; always revalidate so an upgraded clusterd's client is used.
    "Cache-Control": "no-cache",
}


async def index(request: Request) -> Response:
    return FileResponse(DIRECTORY / "index.html", headers=_HEADERS)


class _Static(StaticFiles):
    """The client's modules, revalidated on each load (ETag) like the page."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def client_routes() -> list[BaseRoute]:
    """``/`` (the page) and ``/static/`` (its modules and stylesheet)."""
    return [
        Route("/", index, methods=["GET"]),
        Mount("/static", _Static(directory=DIRECTORY / "static"), name="client-static"),
    ]
