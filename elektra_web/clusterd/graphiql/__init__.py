"""GraphiQL, served by clusterd itself: no CDN, no build step.

``GET /graphql`` from a browser answers ``page.html`` (instead of strawberry's
page, which loads React and GraphiQL from a public CDN and so never starts on a
network without internet). The page loads only files under ``/graphiql/``:

- ``static/page.js`` and ``static/page.css``, the page's own sign-in and set-up;
- ``static/vendor/``, React, GraphiQL and graphql-ws as published on npm,
  pinned and verified by ``scripts/refresh-graphiql``, which also writes the
  manifest ``VERSIONS.json`` (versions, tarball integrity, SHA-256 of each
  file) and keeps each package's license text beside its files.

Vendored file names carry their version, so they are cached for a year and
never revalidated; the page and its own files are revalidated on each load (an
upgraded clusterd's page is used at once).
"""

from __future__ import annotations

import functools
import json
import os
import string
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PREFIX",
    "STATIC",
    "graphiql_routes",
    "manifest",
    "render_page",
]

DIRECTORY = Path(__file__).parent
STATIC = DIRECTORY / "static"
#: Where the page's files are served.
PREFIX = "/graphiql"

#: Like the web client's policy (``elektra_web.client``): only the page's own
#: files run (no inline script, no eval), nothing is loaded from elsewhere, and
#: it connects only back to clusterd (HTTP and the websocket). Two additions,
#: both for GraphiQL's bundle:
#: - ``style-src 'unsafe-inline'``: its dialogs (settings, shortcuts; Radix UI
#:   through react-remove-scroll) insert a ``<style>`` element while open, and
#:   CodeMirror's jump-to-line dialog is HTML with ``style`` attributes; without
#:   it each is refused with a console error. Styles cannot run code, and with
#:   images, fonts and connections limited to this origin (and data:), injected
#:   CSS could send nothing elsewhere. Scripts stay strict.
#: - ``font-src data:``: its stylesheet embeds its fonts (Roboto, Fira Code) as
#:   data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_SECURITY = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: Versioned files: a new version is a new URL.
_IMMUTABLE = "public, max-age=31536000, immutable"


@functools.cache
def manifest() -> dict[str, Any]:
    """``VERSIONS.json``: what ``scripts/refresh-graphiql`` wrote."""
    data: dict[str, Any] = json.loads((STATIC / "vendor" / "VERSIONS.json").read_text())
    return data


@functools.cache
def _page() -> bytes:
    files: dict[str, str] = {}
    for entry in manifest()["packages"].values():
        for role, item in entry["files"].items():
            files[role] = f"{PREFIX}/vendor/{item['file']}"
    template = string.Template((DIRECTORY / "page.html").read_text())
    return template.substitute(files, prefix=PREFIX).encode()


def render_page() -> Response:
    """The GraphiQL page (served without a token: it runs nothing by itself
    and asks for one before it calls the API)."""
    return HTMLResponse(_page(), headers={**_SECURITY, "Cache-Control": "no-cache"})


class _Assets(StaticFiles):
    """The page's files: vendored ones cached for good, its own revalidated."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_SECURITY)
        versioned = Path(full_path).parent.name == "vendor" and Path(full_path).name != (
            "VERSIONS.json"
        )
        response.headers["Cache-Control"] = _IMMUTABLE if versioned else "no-cache"
        return response


def graphiql_routes() -> list[BaseRoute]:
    """``/graphiql/``: the page's scripts and stylesheets (no token needed:
    the same files for everyone, no data)."""
    return [Mount(PREFIX, _Assets(directory=STATIC), name="graphiql")]
