"""An async client of one elektrad, over clusterd's one shared httpx client.

Every request goes through :meth:`ElektradClient._request`, the one place where
httpx errors and unusable answers become :mod:`.exceptions`. A call is bounded
as a whole, in time (connect, send, headers and body: a peer trickling its
answer a byte at a time never trips httpx's per-read timeout) and in the size
of its answer. Answers are checked for the shape the API promises before they
are returned, so a wrong daemon at an address fails here, as
:class:`InstanceUnreachable`, and not as a ``KeyError`` deep inside a resolver.

What a member says is checked like a user's input (a compromised machine may
say anything): every key name must parse and stay below the key asked for,
values are bounded like a write (:data:`MAX_VALUE`), and a change-feed page
holds at most :data:`FEED_PAGE` well-formed changes whose revisions go forward.
A read with a malformed key fails, naming the member; a feed change with a
malformed key or value is dropped, and its reason reported (``dropped``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from ..keynames import NAMESPACES, InvalidKeyName, KeyName
from .exceptions import InstanceRefused, InstanceUnreachable, StaleWrite
from .urls import normalize_host

__all__ = [
    "FEED_PAGE",
    "MAX_ANSWER",
    "MAX_KEY_NAME",
    "MAX_VALUE",
    "ElektradClient",
    "canonical_name",
    "key_url_path",
]

_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json; charset=utf-8"
#: The largest answer a client reads by default, of any call: a whole
#: database's tree fits, as does a full change-feed page (at most
#: :data:`FEED_PAGE` changes and about 4 Mi characters of values, escaped).
MAX_ANSWER = 64 * 1024 * 1024
#: The longest key name (or metadata name) taken from a member: what clusterd
#: takes from a user (``resolvers.names.MAX_PATH``, its database column).
MAX_KEY_NAME = 1000
#: The longest value taken from a member: elektrad's largest request body, so
#: the most a user's write can set.
MAX_VALUE = 1024 * 1024
#: The most changes asked for, and accepted, per change-feed page.
FEED_PAGE = 1000
#: Reasons of dropped feed changes kept per page (the count is always told).
_REASONS = 5


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
        _check_node(data, preload, self._not_api, root=not path)
        assert isinstance(data, dict)
        return data

    async def find(self, query: str) -> list[str]:
        """``GET /kdbFind/{query}``: names containing ``query``, in the
        daemon's spelling (see :func:`canonical_name`)."""
        data = await self._json("GET", f"/kdbFind/{key_url_path(query)}")
        if not isinstance(data, list):
            raise self._not_api("kdbFind did not answer a list of names")
        for name in data:
            problem = _name_problem(name)
            if problem is not None:
                raise self._not_api(f"kdbFind: {problem}")
        return data

    async def mounts(self) -> list[dict[str, Any]]:
        """``GET /mounts``: each mounted file (``prefix``, ``file``,
        ``format``, ``status`` "ok" or "broken", ``error``, ``maxDepth``). An
        elektrad without the route has no mounts to tell: ``[]``."""
        try:
            data = await self._json("GET", "/mounts")
        except InstanceRefused as exc:
            if exc.status == 404:
                return []
            raise
        if not isinstance(data, list):
            raise self._not_api("/mounts did not answer a list")
        for mount in data:
            problem = _mount_problem(mount)
            if problem is not None:
                raise self._not_api(f"/mounts: {problem}")
        return data

    async def changes(
        self,
        since: int | None = None,
        wait: float = 0.0,
        epoch: str | None = None,
        limit: int = FEED_PAGE,
    ) -> dict[str, Any]:
        """``GET /kdbChanges``: at most ``limit`` changes after revision
        ``since`` (long-poll up to ``wait`` seconds); ``reset`` tells to
        re-read everything.

        A page that is not one (more changes than asked for, revisions that
        go back or do not ascend) raises :class:`InstanceUnreachable`; a change
        with a malformed key or value is left out, and ``dropped`` (a list,
        always there) says why.
        """
        params: dict[str, str | int | float] = {"wait": wait, "limit": limit}
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
        problem = _page_problem(data, since, limit)
        if problem is not None:
            raise self._not_api(f"kdbChanges: {problem}")
        kept: list[dict[str, Any]] = []
        dropped: list[str] = []
        for change in data["changes"]:
            problem = _change_problem(change)
            if problem is None:
                kept.append(change)
            elif len(dropped) < _REASONS:
                dropped.append(f"change {change['revision']}: {problem}")
        if len(kept) + len(dropped) < len(data["changes"]):
            dropped.append(f"and {len(data['changes']) - len(kept) - len(dropped)} more")
        data["changes"], data["dropped"] = kept, dropped
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
            # elektrad answers a write with no body: anything else (a web
            # page, a lying member) has not shown that it wrote anything.
            if (content is not None or method == "DELETE") and body.strip():
                raise self._not_api(f"{method} {url} answered {status} with a body")
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


def _check_node(
    data: Any, depth: int, fail: Callable[[str], Exception], *, root: bool = False
) -> None:
    """Raise ``fail(...)`` unless ``data`` is a key view with ``children`` to
    ``depth`` (iteratively: a deep tree must not hit the recursion limit),
    whose names parse, children below their parent, values of bounded size.
    ``root``: it is the whole database's view (its path is empty)."""
    stack: list[tuple[Any, int, KeyName | None]] = [(data, depth, None)]
    while stack:
        node, left, parent = stack.pop()
        if not (
            isinstance(node, dict)
            and isinstance(node.get("exists"), bool)
            and isinstance(node.get("name"), str)
            and isinstance(node.get("path"), str)
            and isinstance(node.get("ls"), list)
            and isinstance(node.get("meta", {}), dict)
        ):
            raise fail("a key is missing exists, name, path or ls")
        name: KeyName | None = None
        if not (root and parent is None and node["path"] == ""):
            problem = _name_problem(node["path"])
            if problem is not None:
                raise fail(problem)
            name = KeyName.parse(node["path"])
            if parent is not None and (name == parent or not name.is_below_or_same(parent)):
                raise fail(f"{_show(node['path'])} is not below {str(parent)!r}")
        problem = _value_problem(node.get("value"), "value") or _meta_problem(node.get("meta", {}))
        if problem is None and "mount" in node:
            problem = _mount_problem(node["mount"])
        if problem is None and not all(isinstance(n, str) for n in node["ls"]):
            problem = "ls is not a list of names"
        if problem is not None:
            raise fail(f"{node['path'] or 'the root'}: {problem}")
        if left > 0:
            children = node.get("children")
            if not isinstance(children, list):
                raise fail(f"{node['path'] or 'the root'} has no children list")
            stack.extend((child, left - 1, name) for child in children)


def _show(text: str) -> str:
    """``text`` quoted for an error message, cut short (a member chose it)."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _name_problem(name: object) -> str | None:
    """Why ``name`` is not a key name clusterd takes, or ``None``."""
    if not isinstance(name, str):
        return f"a key name that is not text ({type(name).__name__})"
    if len(name) > MAX_KEY_NAME:
        return f"a key name longer than {MAX_KEY_NAME} characters"
    try:
        parsed = KeyName.parse(name)
    except InvalidKeyName as exc:
        return f"{_show(name)} is not a key name ({exc})"
    if len(str(parsed)) > MAX_KEY_NAME:
        return f"a key name longer than {MAX_KEY_NAME} characters"
    return None


def _value_problem(value: object, what: str) -> str | None:
    """Why ``value`` is not a value clusterd takes (text, bounded), or ``None``."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"its {what} is not text ({type(value).__name__})"
    if len(value) > MAX_VALUE:
        return f"its {what} is longer than {MAX_VALUE} characters"
    return None


def _mount_problem(mount: object) -> str | None:
    """Why ``mount`` is not a mount as elektrad describes one, or ``None``."""
    if not isinstance(mount, dict):
        return "a mount that is not an object"
    problem = _name_problem(mount.get("prefix"))
    if problem is not None:
        return f"a mount point: {problem}"
    for field in ("file", "format"):
        text = mount.get(field)
        if not isinstance(text, str) or len(text) > MAX_KEY_NAME:
            return f"a mount whose {field} is not a short text"
    if mount.get("status") not in ("ok", "broken"):
        return "a mount whose status is neither ok nor broken"
    problem = _value_problem(mount.get("error"), "error")
    if problem is not None:
        return f"a mount: {problem}"
    depth = mount.get("maxDepth")
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool)):
        return "a mount whose maxDepth is not a number"
    return None


def _meta_problem(meta: dict[Any, Any]) -> str | None:
    for key, value in meta.items():
        if not isinstance(key, str) or len(key) > MAX_KEY_NAME:
            return "a metadata name that is not a short text"
        if value is None or (problem := _value_problem(value, f"metadata {_show(key)}")):
            return problem or f"its metadata {_show(key)} has no value"
    return None


def _page_problem(data: dict[str, Any], since: int | None, limit: int) -> str | None:
    """Why a change-feed answer is not a page of the feed, or ``None``."""
    changes: list[dict[str, Any]] = data["changes"]
    if len(changes) > max(limit, 1):
        return f"{len(changes)} changes, more than the {limit} asked for"
    revision: int = data["revision"]
    if data["reset"]:
        return "a reset with changes" if changes else None
    if since is not None and revision < since:
        return f"its revision went back from {since} to {revision}"
    last = since
    for change in changes:
        number = change.get("revision")
        if not isinstance(number, int) or isinstance(number, bool):
            return "a change without a revision number"
        if (last is not None and number <= last) or number > revision:
            return f"change {number} is out of order (after {last}, page up to {revision})"
        last = number
    return None


def _change_problem(change: dict[str, Any]) -> str | None:
    """Why a change (of a well-formed page) is not taken, or ``None``."""
    if not isinstance(change.get("op"), str):
        return "no op"
    problem = _name_problem(change.get("key"))
    if problem is not None:
        return problem
    for field in ("value", "previous"):
        problem = _value_problem(change.get(field), field)
        if problem is not None:
            return problem
    for field in ("meta", "operation"):
        text = change.get(field)
        if text is not None and (not isinstance(text, str) or len(text) > MAX_KEY_NAME):
            return f"its {field} is not a short text"
    fence = change.get("fence")
    if fence is not None and (not isinstance(fence, int) or isinstance(fence, bool)):
        return "its fence is not a revision number"
    return None
