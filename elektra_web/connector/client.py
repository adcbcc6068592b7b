"""An async client of one elektrad, over clusterd's one shared httpx client.

Every request goes through :meth:`ElektradClient._request`, the one place where
httpx errors and unusable answers become :mod:`.exceptions`. A call is bounded
as a whole, in time (connect, send, headers and body: a peer trickling its
answer a byte at a time never trips httpx's per-read timeout) and in the size
of its answer. Answers are checked for the shape the API promises before they
are returned, so a wrong daemon at an address fails here, as
:class:`InstanceUnreachable`, and not as a ``KeyError`` deep inside a resolver.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from ..keynames import NAMESPACES
from .exceptions import InstanceRefused, InstanceUnreachable, StaleWrite
from .urls import normalize_host

__all__ = ["MAX_ANSWER", "ElektradClient", "canonical_name", "key_url_path"]

_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json; charset=utf-8"
#: The largest answer a client reads by default (a whole database's tree fits).
MAX_ANSWER = 64 * 1024 * 1024


def canonical_name(name: str) -> str:
    """``user/x`` → ``user:/x``; canonical and cascading names are returned as is.

    The daemon answers in the spelling it was asked in, and ``kdbFind`` with a
    plain query answers legacy names (``user/x``); this gives Elektra's
    canonical spelling. Only the namespace is respelled: the rest of a name the
    daemon spelled is already escaped and normalized, so it is not parsed
    (nor refused) here. Raises :class:`ValueError` for a name that starts with
    no namespace.
    """
    if name.startswith("/"):
        return name
    head, sep, rest = name.partition("/")
    if head.endswith(":") and head[:-1] in NAMESPACES and sep:
        return name
    if head in NAMESPACES:
        return f"{head}:/{rest}"
    raise ValueError(f"{name!r} is not a key name of the namespaces {', '.join(NAMESPACES)}")


def key_url_path(name: str) -> str:
    """``name`` as URL path segments, each percent-encoded.

    ``.`` and ``..`` parts are encoded too: httpx (like any URL library)
    removes dot segments, which would turn ``user:/a/../../system:/`` (an
    invalid name) into ``system:/`` before it reaches the daemon.
    """
    return "/".join(
        "%2E" * len(part) if part in (".", "..") else quote(part, safe=":")
        for part in name.split("/")
    )


class ElektradClient:
    """The elektrad REST API at ``base_url``, called through ``http``.

    ``http`` is shared by all instances (clusterd owns it and closes it);
    ``timeout`` bounds each call, whole, in seconds; ``token`` is sent as
    ``Authorization: Bearer`` when set; ``operation`` as ``X-Operation-Id``
    and ``fence`` (``"<source>/<revision>"``) as ``X-Fence`` on every request;
    an answer larger than ``max_answer`` bytes is refused. Raises
    :class:`InvalidHost` for an unusable ``base_url``.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        operation: str | None = None,
        fence: str | None = None,
        max_answer: int = MAX_ANSWER,
    ) -> None:
        self.http = http
        self.base_url = normalize_host(base_url)
        self.timeout = timeout
        self.max_answer = max_answer
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        if operation is not None:
            # Our elektrad echoes it in its change feed, so that the writer
            # recognizes its own changes there.
            self._headers["X-Operation-Id"] = operation
        if fence is not None:
            # Our elektrad refuses a fenced write older than what the key
            # already has (412 Stale, see StaleWrite); others ignore it.
            self._headers["X-Fence"] = fence

    def __repr__(self) -> str:
        return f"ElektradClient({self.base_url!r})"  # never the token

    # -- reads -----------------------------------------------------------

    async def version(self) -> dict[str, Any]:
        """``GET /version``: API and Elektra version, and ``instanceId`` if the
        daemon has one."""
        data = await self._json("GET", "/version")
        if not isinstance(data, dict) or not isinstance(data.get("api"), int):
            raise self._not_api("/version did not report an API version")
        return data

    async def get(self, path: str, preload: int = 0) -> dict[str, Any]:
        """``GET /kdb/{path}``: the key, its ``ls``, value and metadata, with
        ``children`` ``preload`` levels deep; ``""`` is the whole database."""
        url = f"/kdb/{key_url_path(path)}" if path else "/kdb"
        data = await self._json("GET", url, params={"preload": preload} if preload else None)
        _check_node(data, preload, self._not_api)
        assert isinstance(data, dict)
        return data

    async def find(self, query: str) -> list[str]:
        """``GET /kdbFind/{query}``: names containing ``query``, in the
        daemon's spelling (see :func:`canonical_name`)."""
        data = await self._json("GET", f"/kdbFind/{key_url_path(query)}")
        if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
            raise self._not_api("kdbFind did not answer a list of names")
        return data

    async def changes(
        self, since: int | None = None, wait: float = 0.0, epoch: str | None = None
    ) -> dict[str, Any]:
        """``GET /kdbChanges``: the changes after revision ``since`` (long-poll up
        to ``wait`` seconds); ``reset`` tells to re-read everything."""
        params: dict[str, str | int | float] = {"wait": wait}
        if since is not None:
            params["since"] = since
        if epoch is not None:
            params["epoch"] = epoch
        # The daemon may rightly hold the answer for ``wait``: only then count.
        data = await self._json("GET", "/kdbChanges", params=params, seconds=wait + self.timeout)
        if not (
            isinstance(data, dict)
            and isinstance(data.get("epoch"), str)
            and isinstance(data.get("revision"), int)
            and isinstance(data.get("reset"), bool)
            and isinstance(data.get("changes"), list)
            and all(isinstance(c, dict) for c in data["changes"])
        ):
            raise self._not_api("kdbChanges did not answer epoch, revision, reset and changes")
        return data

    # -- writes ----------------------------------------------------------

    async def set(self, path: str, value: str) -> None:
        """``PUT /kdb/{path}``: set (and create) the key."""
        await self._request("PUT", f"/kdb/{key_url_path(path)}", **_string_body(value))

    async def delete(self, path: str) -> None:
        """``DELETE /kdb/{path}``: the key and everything below it."""
        if not path:
            raise ValueError("refusing to delete the whole key database; name a namespace")
        await self._request("DELETE", f"/kdb/{key_url_path(path)}")

    async def set_meta(self, path: str, key: str, value: str) -> None:
        """``POST /kdbMeta/{path}``: set the metadata entry ``key``."""
        body = json.dumps({"key": key, "value": value}).encode()
        await self._request(
            "POST", f"/kdbMeta/{key_url_path(path)}", content=body, content_type=_JSON
        )

    async def delete_meta(self, path: str, key: str) -> None:
        """``DELETE /kdbMeta/{path}``: remove the metadata entry ``key``."""
        body = json.dumps({"key": key}).encode()
        await self._request(
            "DELETE", f"/kdbMeta/{key_url_path(path)}", content=body, content_type=_JSON
        )

    async def move(self, source: str, target: str) -> None:
        """``POST /kdbMv/{source}``: move the key and its subtree to ``target``."""
        await self._request("POST", f"/kdbMv/{key_url_path(source)}", **_string_body(target))

    async def copy(self, source: str, target: str) -> None:
        """``POST /kdbCp/{source}``: copy the key and its subtree to ``target``."""
        await self._request("POST", f"/kdbCp/{key_url_path(source)}", **_string_body(target))

    # -- the boundary ------------------------------------------------------

    async def _json(
        self,
        method: str,
        url: str,
        params: dict[str, str | int | float] | None = None,
        seconds: float | None = None,
    ) -> Any:
        body = await self._request(method, url, params=params, seconds=seconds)
        try:
            return json.loads(body)
        except ValueError:  # also UnicodeDecodeError
            raise self._not_api(f"{url} did not answer JSON") from None

    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str | int | float] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        seconds: float | None = None,
    ) -> bytes:
        """The body of a 2xx answer; every failure as a connector error."""
        headers = dict(self._headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if seconds is None:
            seconds = self.timeout
        deadline = asyncio.timeout(seconds)
        try:
            async with (
                deadline,
                self.http.stream(
                    method,
                    self.base_url + url,
                    params=params,
                    content=content,
                    headers=headers,
                    timeout=seconds,
                ) as response,
            ):
                body = await self._read(response)
        except TimeoutError as exc:
            if not deadline.expired():
                raise InstanceUnreachable(self.base_url, str(exc) or type(exc).__name__) from exc
            raise InstanceUnreachable(self.base_url, f"no answer within {seconds:g}s") from exc
        except httpx.TimeoutException as exc:
            raise InstanceUnreachable(self.base_url, f"no answer within {seconds:g}s") from exc
        except httpx.HTTPError as exc:
            # str() of a connect error can be empty; the class name still tells.
            raise InstanceUnreachable(self.base_url, str(exc) or type(exc).__name__) from exc
        status = response.status_code
        if 200 <= status < 300:
            return body
        error = _api_error(body)
        if status == 412 and error is not None and error[0] == "Stale":
            raise StaleWrite(self.base_url, status, *error)
        if 400 <= status < 500 and error is not None:
            raise InstanceRefused(self.base_url, status, *error)
        detail = f": {error[0]}: {error[1]}" if error else ""
        raise self._not_api(f"{method} {url} answered {status}{detail}")

    async def _read(self, response: httpx.Response) -> bytes:
        """The (decoded) body, refused past :attr:`max_answer` bytes."""
        limit = self.max_answer
        too_large = InstanceUnreachable(self.base_url, f"answer larger than {_size(limit)}")
        declared = response.headers.get("content-length", "")
        if (
            "content-encoding" not in response.headers
            and declared.isdigit()
            and int(declared) > limit
        ):
            raise too_large  # no need to read it to know
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _not_api(self, cause: str) -> InstanceUnreachable:
        return InstanceUnreachable(self.base_url, f"not an elektrad API response ({cause})")


def _string_body(text: str) -> dict[str, Any]:
    # The daemon drops one trailing newline from a text body (text clients
    # append one); a JSON string body is taken as is, so use it only then.
    if text.endswith("\n"):
        return {"content": json.dumps(text).encode(), "content_type": _JSON}
    return {"content": text.encode(), "content_type": _TEXT}


def _size(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


def _api_error(body: bytes) -> tuple[str, str] | None:
    """``(name, message)`` of an API error body, or ``None`` if it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        name, message = data.get("name"), data.get("message")
        if isinstance(name, str) and isinstance(message, str):
            return name, message
    return None


def _check_node(data: Any, depth: int, fail: Callable[[str], Exception]) -> None:
    """Raise ``fail(...)`` unless ``data`` is a key view with ``children`` to
    ``depth`` (iteratively: a deep tree must not hit the recursion limit)."""
    stack = [(data, depth)]
    while stack:
        node, left = stack.pop()
        if not (
            isinstance(node, dict)
            and isinstance(node.get("exists"), bool)
            and isinstance(node.get("name"), str)
            and isinstance(node.get("path"), str)
            and isinstance(node.get("ls"), list)
            and isinstance(node.get("meta", {}), dict)
        ):
            raise fail("a key is missing exists, name, path or ls")
        if left > 0:
            children = node.get("children")
            if not isinstance(children, list):
                raise fail(f"{node['path'] or 'the root'} has no children list")
            stack.extend((child, left - 1) for child in children)
