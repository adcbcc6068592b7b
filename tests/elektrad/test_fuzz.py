"""Fuzzing a real elektrad over HTTP: key names, bodies and paths never give a
500, and never make it write outside its data directory and mounts.

Paths go out as raw bytes on a socket (:func:`send`): HTTP clients resolve
``..`` and re-encode, which would hide exactly what is fuzzed here. One daemon
serves all the examples of a test; the properties need no isolation.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elektra_web.elektrad.app import ElektradConfig
from elektra_web.elektrad.mounts import MountSpec
from elektra_web.elektrad.storage import format_for
from elektra_web.elektrad.validation import TYPES
from elektra_web.keynames import InvalidKeyName, KeyName

from .conftest import Elektrad, serve_in_thread

JSON_TYPE = "application/json; charset=utf-8"
MAX_BODY = 1024 * 1024

INI = "# settings\n[server]\nhost = example.org\nport = 8080\n"
JSON = '{\n  "server": {"host": "example.org", "port": 8080},\n  "tags": ["a", "b"]\n}\n'
TOML = '[server]\nhost = "example.org"\nport = 8080\n'
MOUNT_PREFIXES = ("user:/app/ini", "user:/app/json", "system:/app/toml")


# -- a raw HTTP client ---------------------------------------------------------


@dataclass
class Reply:
    status: int
    content_type: str | None
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    url: str,
    method: str,
    target: str | bytes,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Reply:
    """``method target`` exactly as given (no ``..`` resolved, nothing re-encoded)."""
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    raw_target = target.encode() if isinstance(target, str) else target
    lines = [
        method.encode() + b" " + raw_target + b" HTTP/1.1",
        b"Host: " + address.netloc.encode(),
        b"Connection: close",
        b"Content-Length: " + str(len(body)).encode(),
        *(f"{name}: {value}".encode() for name, value in (headers or {}).items()),
    ]
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        try:
            return Reply(response.status, response.getheader("content-type"), response.read())
        finally:
            response.close()


def assert_well_formed(reply: Reply, method: str = "GET") -> None:
    """No 500; JSON exactly as the API promises; every refusal of the app named."""
    assert reply.status < 500, (reply.status, reply.body[:2000])
    content_type = reply.content_type or ""
    if "json" in content_type.lower():
        assert content_type == JSON_TYPE
    if method == "HEAD" or not reply.body:
        return
    if content_type == JSON_TYPE:
        data = reply.json()
        if reply.status >= 400:
            assert isinstance(data, dict)
            assert isinstance(data.get("name"), str) and data["name"]
            assert isinstance(data.get("message"), str) and data["message"]
    elif reply.status >= 400:
        # Only uvicorn itself answers a request it cannot parse in plain text.
        assert (reply.status, reply.body) == (400, b"Invalid HTTP request received.")


def assert_response_well_formed(response: httpx.Response) -> None:
    assert_well_formed(
        Reply(response.status_code, response.headers.get("content-type"), response.content),
        response.request.method,
    )


# -- strategies ----------------------------------------------------------------


def percent(data: bytes) -> str:
    return "".join(f"%{byte:02X}" for byte in data)


def utf8_escaped(text: str) -> str:
    """Every character percent-encoded as UTF-8 (lone surrogates as their
    invalid UTF-8 bytes), ``.`` included, so that nothing resolves ``..``."""
    return quote(text, safe="", errors="surrogatepass").replace(".", "%2E")


# Text that may hold lone surrogates (which no UTF-8 request can carry, but a
# JSON ``"\ud800"`` escape can).
any_text = st.text(st.characters(exclude_categories=())) | st.text(
    st.characters(categories=["Cs"]) | st.sampled_from("a/\\"), max_size=3
)
# Text that can be sent as UTF-8.
utf8_text = st.text(st.characters(exclude_categories=["Cs"]))

TRICKY_PARTS = (
    *("", ".", "..", "...", "%", "%%", "%zz", "%E", "%2", "%2E", "%2E%2E", "%2e%2e", ".%2E"),
    *("%2F", "%2f", "%5C", "%5c", "\\", "\\\\", "\\/", "\\.", "\\..", "\\%", "\\#", "\\x"),
    *("%00", "%0A", "%0D%0A", "%FF", "%C0%AF", "%ED%A0%80", "%E2%80%AE", "~", "~root", ";"),
    *("#", "#0", "#_10", "#01", "#__100", "#_1", "#9999999999999999999999", "%23", "%3F"),
    *("user:", "user", "system:", "dir:", "spec:", "default:", "proc:", ":", "user:%2F"),
    *("etc", "passwd", "/etc/passwd", "%2Fetc%2Fpasswd", "..%2F..%2F..%2Ftmp", "C:\\Windows"),
    *("app", "ini", "json", "toml", "server", "host", "tags", "%E2%82%AC", "%F0%9F%98%80"),
)
path_segment = st.one_of(
    st.sampled_from(TRICKY_PARTS),
    # printable ASCII, sent as it is
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12),
    st.binary(max_size=8).map(percent),
    st.text(st.characters(exclude_categories=()), max_size=8).map(utf8_escaped),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["a", "%41", "..", "%2F", "/"]), st.integers(1, 3000)
    ),
    st.integers(1, 6000).map(lambda n: "#" + "_" * (n - 1) + "1" * n),
)
ROUTES = (
    *("/kdb", "/kdb/", "/kdbFind/", "/kdbMeta/", "/kdbMv/", "/kdbCp/", "/kdbChanges", "/version"),
    *("/mounts", "/", "", "/kdbFind", "/kdbMeta", "/kdbMv", "/kdbCp", "/kdbx/", "//kdb/"),
)
METHODS = ("GET", "PUT", "DELETE", "POST", "PATCH", "HEAD", "OPTIONS")
QUERY_VALUES = (
    *("0", "1", "-1", "64", "65", "99999999999999999999", "1e999", "nan", "inf", "-0", " 0"),
    *("%00", "%FF", "abc", "", "0x10", "\u0661"),
)
query_value = st.one_of(
    st.sampled_from(QUERY_VALUES),
    utf8_text.map(utf8_escaped),
    # digits of every script, and other characters str.isdigit() takes ("²")
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=3).map(utf8_escaped),
    # numbers of up to and past int()'s limit of 4300 digits
    st.builds(
        lambda digit, n: digit * n,
        st.sampled_from("019"),
        st.sampled_from([19, 20, 4300, 4301, 6000]) | st.integers(1, 6000),
    ),
)
query_name = st.sampled_from(("since", "wait", "epoch", "preload")) | st.text(max_size=5).map(
    utf8_escaped
)
query = st.lists(st.tuples(query_name, query_value), max_size=4).map(
    lambda pairs: "?" + "&".join(f"{name}={value}" for name, value in pairs) if pairs else ""
)


def long_poll_free(target: str) -> bool:
    """False if the request could wait for a change (``wait`` over 0)."""
    for name, value in parse_qsl(target.partition("?")[2], keep_blank_values=True):
        if name == "wait":
            try:
                if float(value) > 0:
                    return False
            except ValueError:
                continue
    return True


request_target = st.builds(
    lambda route, segments, tail: route + "/".join(segments) + tail,
    st.sampled_from(ROUTES),
    st.just([]) | st.lists(path_segment, max_size=6),
    query,
).filter(long_poll_free)
request_body = st.sampled_from(
    [b"", b"user:/fuzz/target", b'"user:/fuzz/target"', b'{"key": "k", "value": "v"}', b"\xff"]
)


# -- daemons -------------------------------------------------------------------


def write_mount_files(directory: Path) -> list[str]:
    """An INI, a JSON and a TOML file in ``directory``, as ``--mount`` arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {"app.ini": INI, "app.json": JSON, "app.toml": TOML}
    for name, text in files.items():
        (directory / name).write_text(text)
    return [
        f"{prefix}={directory / name}" for prefix, name in zip(MOUNT_PREFIXES, files, strict=True)
    ]


@contextmanager
def elektrad_with_mounts(tmp_path: Path) -> Iterator[Elektrad]:
    config = ElektradConfig(
        data_dir=tmp_path / "data",
        mounts=[MountSpec.parse(m) for m in write_mount_files(tmp_path / "conf")],
        watch_interval=0.05,
    )
    with serve_in_thread(config) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield Elektrad(url, config.data_dir, client)


# -- 1. paths and methods ------------------------------------------------------


def test_fuzzed_paths_and_methods_never_give_a_500_and_errors_are_named_json(
    tmp_path: Path,
) -> None:
    with elektrad_with_mounts(tmp_path) as daemon:

        @settings(max_examples=400, deadline=None)
        @given(method=st.sampled_from(METHODS), target=request_target, body=request_body)
        def request(method: str, target: str, body: bytes) -> None:
            reply = send(daemon.url, method, target or "/", body)
            assert_well_formed(reply, method)

        request()


def test_fuzzed_query_parameters_never_give_a_500(tmp_path: Path) -> None:
    with elektrad_with_mounts(tmp_path) as daemon:

        @settings(max_examples=200, deadline=None)
        @given(
            route=st.sampled_from(("/kdbChanges", "/kdb", "/kdb/user:/app", "/kdb//app")),
            tail=query.filter(long_poll_free),
        )
        def request(route: str, tail: str) -> None:
            assert_well_formed(send(daemon.url, "GET", route + tail))

        request()


def test_raw_non_ascii_and_control_bytes_in_the_path_never_give_a_500(tmp_path: Path) -> None:
    with elektrad_with_mounts(tmp_path) as daemon:

        @settings(max_examples=100, deadline=None)
        @given(
            method=st.sampled_from(METHODS),
            route=st.sampled_from(ROUTES),
            raw=st.binary(max_size=40).filter(lambda b: not {0x20, 0x0D, 0x0A} & set(b)),
        )
        def request(method: str, route: str, raw: bytes) -> None:
            reply = send(daemon.url, method, route.encode() + raw)
            assert_well_formed(reply, method)

        request()


# -- 2. bodies -----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
META_KEYS = (
    *("check/type", "check/enum", "check/enum/#0", "check/enum/#01", "check/enum/multi"),
    *("check/range", "check/validation", "check/validation/match", "check/validation/x"),
    *("check/boolean/true", "description", "", "a\nb", "\x00", "check/"),
)
# Pieces of the check/* languages: types, enums, ranges, regular expressions.
CHECK_ATOMS = (
    *("long", "double", "boolean", "string", "enum", "#", "_", "'", ",", " ", "-", "+", "."),
    *("0", "1", "e", "E", "{", "}", "(", ")", "[", "]", "*", "?", "|", "^", "$", "\\", "<", ">"),
    *("P", "=", "N", "u", "i", "LINE", "WORD", "ANY", "a", "\n"),
)
check_text = st.lists(
    st.sampled_from(CHECK_ATOMS)
    | st.builds(lambda digit, n: digit * n, st.sampled_from("19"), st.integers(2, 5000)),
    max_size=8,
).map("".join)
# The edges of machine integers, where parsers and engines overflow.
EDGES = [2**n + d for n in (15, 16, 31, 32, 63, 64) for d in (-2, -1, 0)]
# Numbers as the check languages write them, up to past every limit.
number = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(EDGES).map(str),
    st.floats().map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-9, 9), st.integers(-(10**6), 10**6)),
    st.builds(lambda d, n: d * n, st.sampled_from("19"), st.sampled_from([4300, 4301, 10_000])),
)
quantifier = st.one_of(
    st.sampled_from(["*", "+", "?", "*?", "{", "{}", "{,}"]),
    st.builds(lambda lo: f"{{{lo}}}", number),
    st.builds(lambda lo, hi: f"{{{lo},{hi}}}", number | st.just(""), number | st.just("")),
)
regex = st.recursive(
    st.one_of(
        st.sampled_from(["a", ".", "\\d", "[a-z]", "", "[", ")", "\\", "\\N{x}", "(?P=n)", "$"]),
        st.builds(str.__add__, st.sampled_from(["a", "(a)", "\\d", "x"]), quantifier),
        st.integers(1, 3000).map(lambda n: "(" * n + "a" + ")" * n),
    ),
    lambda inner: st.one_of(
        st.builds(str.__add__, inner, quantifier),
        st.builds(str.__add__, inner, inner),
        st.builds(lambda a, b: f"{a}|{b}", inner, inner),
        inner.map(lambda r: f"({r})"),
        inner.map(lambda r: f"(?P<n>{r})"),
    ),
    max_leaves=6,
)
value_range = st.lists(
    st.builds(lambda lo, hi: f"{lo}-{hi}", number, number) | number | check_text, min_size=1
).map(",".join)
check_entry = st.one_of(
    st.tuples(st.just("check/validation"), regex),
    st.tuples(st.just("check/range"), value_range),
    st.tuples(st.just("check/type"), st.sampled_from(sorted(TYPES)) | check_text),
    st.tuples(st.sampled_from(META_KEYS), check_text | number | utf8_text),
)
meta_body = st.fixed_dictionaries(
    {
        "key": st.sampled_from(META_KEYS) | any_text | st.integers(),
        "value": check_text | any_text | st.none(),
    }
).map(lambda body: json.dumps(body).encode())
huge_text = st.builds(
    lambda char, size: char * (size // len(char.encode())),
    st.sampled_from(["a", "\n", "é", "€", "😀", "\\", '"']),
    st.sampled_from([MAX_BODY - 2, MAX_BODY // 2, 100_000]) | st.integers(0, MAX_BODY),
)
body = st.one_of(
    st.binary(max_size=300),
    utf8_text.map(str.encode),
    json_values.map(lambda value: json.dumps(value).encode()),
    any_text.map(lambda text: json.dumps(text).encode()),
    meta_body,
    huge_text.map(str.encode),
    huge_text.map(lambda text: json.dumps(text).encode()),
    st.sampled_from([b"a" * (MAX_BODY + 1), b"user:/app/ini/s/o", b"system:/app/toml/t/x"]),
    # nested deeper than Python's recursion limit
    st.builds(
        lambda n, open_: open_ * n, st.integers(1, 200_000), st.sampled_from([b"[", b'{"a":'])
    ),
)
CONTENT_TYPES = (
    *(None, "text/plain", "text/plain; charset=utf-16", "application/json", "APPLICATION/JSON"),
    *("application/merge-patch+json", "application/json; charset=latin-1", "multipart/form-data"),
)
BODY_TARGETS = (
    *("PUT /kdb/", "POST /kdbMeta/", "DELETE /kdbMeta/", "POST /kdbMv/", "POST /kdbCp/"),
)
SOURCES = ("user:/fuzz/key", "user:/app/ini/server/host", "user:/app/json/server", "/fuzz/key")


def test_fuzzed_bodies_never_give_a_500(tmp_path: Path) -> None:
    with elektrad_with_mounts(tmp_path) as daemon:
        http = daemon.http

        @settings(max_examples=250, deadline=None)
        @given(
            target=st.sampled_from(BODY_TARGETS),
            source=st.sampled_from(SOURCES),
            body=body,
            content_type=st.sampled_from(CONTENT_TYPES),
            operation=st.none()
            | st.text(
                st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                max_size=140,
            ).map(str.strip),
        )
        def request(
            target: str, source: str, body: bytes, content_type: str | None, operation: str | None
        ) -> None:
            # Fresh sources: an earlier example may have moved them or set checks.
            for name in ("spec:/", "user:/fuzz", "user:/app/ini/server/host"):
                assert http.delete(f"/kdb/{name}").status_code == 200
            for name in ("user:/fuzz/key", "user:/fuzz/key/below", "user:/app/ini/server/host"):
                assert http.put(f"/kdb/{name}", content=b"v").status_code == 200
            method, route = target.split(" ")
            headers: dict[str, Any] = {}
            if content_type is not None:
                headers["Content-Type"] = content_type
            if operation is not None:
                headers["X-Operation-Id"] = operation.encode("latin-1")
            response = http.request(method, route + source, content=body, headers=headers)
            assert_response_well_formed(response)
            if len(body) > MAX_BODY:
                assert response.status_code == 413

        request()


# Python's re warns about some sets ("[[" may become a nested set); the suite
# turns warnings into errors, in the daemon's thread too.
@pytest.mark.filterwarnings("ignore:Possible:FutureWarning")
def test_fuzzed_metadata_and_checked_values_never_give_a_500(tmp_path: Path) -> None:
    with elektrad_with_mounts(tmp_path) as daemon:
        http = daemon.http

        @settings(max_examples=300, deadline=None)
        @given(
            name=st.sampled_from(("user:/fuzz/checked", "user:/app/json/server/port")),
            on_spec=st.booleans(),
            meta=st.lists(check_entry, max_size=3),
            values=st.lists(number | check_text | utf8_text, max_size=3),
        )
        def check(name: str, on_spec: bool, meta: list[tuple[str, str]], values: list[str]) -> None:
            holder = KeyName.parse(name).in_namespace("spec") if on_spec else KeyName.parse(name)
            # Fresh keys: no checks of an earlier example.
            for key in ("spec:/", name):
                assert http.delete(f"/kdb/{key}").status_code == 200
            for key in {str(holder), name}:
                assert http.put(f"/kdb/{key}", content=b"1").status_code == 200
            for meta_key, meta_value in meta:
                response = http.post(
                    f"/kdbMeta/{holder}", json={"key": meta_key, "value": meta_value}
                )
                assert_response_well_formed(response)
                assert response.status_code in (204, 400)
            for value in values:
                # Whole values even under a random regex: RE2 cannot backtrack.
                response = http.put(f"/kdb/{name}", json=value)
                assert_response_well_formed(response)
                assert response.status_code in (200, 400)

        check()


# Lines of each format, valid and broken, to be shuffled into files.
FILE_LINES = {
    "ini": (
        *("[server]", "[a b]", "[]", "[[x]]", "[x", "host = example.org", "port=8080", "k:v"),
        *("novalue", "= v", "  continued", "\tcontinued", "; comment", "# comment", "", "x = \\"),
        *("DEFAULT", "[DEFAULT]", "%(x)s = y", "k = %(k)s", "a = b = c"),
    ),
    "json": (
        *("{", "}", "[", "]", ",", ":", '"a"', '"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"'),
        *("1", "-0", "1.10", "1e999", "NaN", "Infinity", "true", "null", '""', "//", '"#0"'),
    ),
    "toml": (
        *("[server]", "[[arr]]", "[a.b]", '["a.b"]', "[x", "a = 1", "a.b = 2", 'c = "x"'),
        *('d = """', '"""', "e = [1, 2,", "]", "f = {g = 1}", "h = 1979-05-27T07:32:00Z"),
        *("i = inf", "j = 0x1F", 'k = "\\ud800"', "l = [[1], [{m = 1}]]", "# comment", ""),
    ),
}


def sections(
    headers: st.SearchStrategy[str],
    entries: st.SearchStrategy[tuple[str, str]],
    unique: bool,
) -> st.SearchStrategy[str]:
    """A file of ``[header]`` sections of ``(name, text)`` entries, each header
    once, and each name once if ``unique``."""
    section = st.builds(
        lambda header, lines: "\n".join([header, *(text for _, text in lines)]),
        headers,
        st.lists(entries, max_size=4, unique_by=(lambda entry: entry[0]) if unique else None),
    )
    return st.lists(section, max_size=3, unique_by=lambda text: text.split("\n")[0]).map("\n".join)


one_line = st.text(st.characters(exclude_categories=["Cs", "Zl", "Zp", "Cc"]), max_size=6)
ini_option = st.builds(
    lambda name, value, more: (name, name + value + "".join(f"\n{line}" for line in more)),
    st.sampled_from(["k", "host", "a b", "%(x)s", "[k]"]) | one_line,
    st.sampled_from(["", " = v", "=", ": v", " = %(k)s", " =  "]) | one_line.map(" = ".__add__),
    # continuation lines
    st.lists(st.sampled_from(["  more", "\tmore", "  ", ""]) | one_line, max_size=2),
)
toml_entry = st.builds(
    lambda name, value: (name, f"{name} = {value}"),
    st.sampled_from(["a", "b", "a.b", '"a"', "server"]),
    st.sampled_from(["1", '"x"', "[1, 2]", "{c = 1}", "1979-05-27", "inf", '"\\ud800"', "[["])
    | one_line.map(lambda text: json.dumps(text, ensure_ascii=False)),
)
FILE_CONTENTS = {
    # configupdater's errors for a repeated option are known; tomlkit's are not
    "ini": sections(
        st.sampled_from(["[server]", "[DEFAULT]", "[a b]", "[[x]]"]), ini_option, unique=True
    ),
    "toml": sections(
        st.sampled_from(["[server]", "[[arr]]", "[a]", "[a.b]", ""]), toml_entry, unique=False
    ),
    "json": st.one_of(
        json_values.map(json.dumps),
        json_values.map(lambda value: json.dumps({"server": value, "tags": [value]}, indent=2)),
    ),
}


def shuffled_lines(kind: str) -> st.SearchStrategy[str]:
    """The format's lines, well formed or not, in any order, and random text."""
    line = st.sampled_from(FILE_LINES[kind])
    return st.lists(st.one_of(line, line, utf8_text), max_size=12).map("\n".join)


@pytest.mark.parametrize("prefix", MOUNT_PREFIXES)
def test_fuzzed_mounted_file_contents_never_give_a_500(tmp_path: Path, prefix: str) -> None:
    """Whatever another program writes into a mounted file, reads and writes
    through elektrad give an answer, and what elektrad writes reads back."""
    kind = prefix.rsplit("/", 1)[1]
    path = tmp_path / "conf" / f"app.{kind}"
    with elektrad_with_mounts(tmp_path) as daemon:
        http = daemon.http
        part = st.sampled_from(["server", "host", "#0", "#1", "a", "b", "tags"])

        @settings(max_examples=60, deadline=None)
        @given(
            content=FILE_CONTENTS[kind] | shuffled_lines(kind),
            parts=st.lists(part, min_size=1, max_size=3),
        )
        def edit(content: str, parts: list[str]) -> None:
            path.write_text(content)
            for target in ("/kdb?preload=4", "/kdbChanges?since=0", "/mounts", "/kdbFind/a"):
                assert_response_well_formed(http.get(target))
            name = utf8_escaped(f"{prefix}/{'/'.join(parts)}")
            put = http.put(f"/kdb/{name}", content=b"x")
            assert_response_well_formed(put)
            if put.status_code == 200:
                document = format_for(path).parse(path.read_text())
                assert document.keys()[tuple(parts)] == "x"
            for method, route, body in (
                ("POST", "/kdbCp/", f"{prefix}/copy"),
                ("POST", "/kdbMv/", f"{prefix}/moved"),
                ("DELETE", "/kdb/", ""),
            ):
                response = http.request(method, route + name, content=body.encode())
                assert_response_well_formed(response)

        edit()


# -- 3. key names --------------------------------------------------------------

# Canonical array parts (#_10, #__100, ...), up to past int()'s 4300 digits.
long_array_part = st.integers(1, 5000).map(lambda n: "#" + "_" * (n - 1) + "1" * n)
NAMESPACE_HEADS = ("user:/", "user/", "system:/", "dir:/", "spec:/", "default:/", "/", "user")
name_part = st.one_of(
    st.sampled_from(
        ("", ".", "..", "%", "\\%", "\\.", "\\..", "#", "#0", "#10", "#_10", "#01", "\\#0", "\\")
    ),
    st.text(st.characters(exclude_categories=["Cs"]) | st.sampled_from("\\/.%#"), max_size=10),
    long_array_part,
)
key_name = st.builds(
    lambda head, parts: head + "/".join(parts),
    st.sampled_from(NAMESPACE_HEADS) | utf8_text.map(lambda text: text + "/"),
    st.lists(name_part, max_size=5),
)
_unique = itertools.count()


def parse_or_none(text: str) -> KeyName | None:
    try:
        return KeyName.parse(text)
    except InvalidKeyName:
        return None


def test_put_names_are_refused_as_invalid_or_read_back_exactly(tmp_path: Path) -> None:
    config = ElektradConfig(data_dir=tmp_path / "data")
    with serve_in_thread(config) as url, httpx.Client(base_url=url, timeout=30) as http:

        @settings(max_examples=300, deadline=None)
        @given(name=key_name, value=utf8_text)
        def put_then_get(name: str, value: str) -> None:
            value = f"{value}#{next(_unique)}"
            path = f"/kdb/{utf8_escaped(name)}"
            put = http.put(path, json=value)
            assert_response_well_formed(put)
            parsed = parse_or_none(name)
            if put.status_code == 400:
                assert put.json()["name"] == "InvalidKeyName"
                assert parsed is None
                return
            assert put.status_code == 200 and parsed is not None
            try:
                assert_reads_back(http, name, parsed, value)
            finally:
                assert http.delete(path).status_code == 200

        put_then_get()


def test_put_names_read_back_after_a_restart(tmp_path: Path) -> None:
    """The key database keeps names in their canonical spelling: every one must
    parse again when the daemon starts."""
    config = ElektradConfig(data_dir=tmp_path / "data")
    written: dict[KeyName, str] = {}
    with serve_in_thread(config) as url, httpx.Client(base_url=url, timeout=30) as http:

        @settings(max_examples=150, deadline=None)
        @given(name=key_name, value=utf8_text)
        def put(name: str, value: str) -> None:
            parsed = parse_or_none(name)
            if parsed is None or parsed.is_cascading:
                return
            assert http.put(f"/kdb/{utf8_escaped(name)}", json=value).status_code == 200
            written[parsed] = value

        put()
    assert len(written) > 10  # most generated names are valid (20 of 40 drawn was seen once)
    with serve_in_thread(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        for parsed, value in written.items():
            assert http.get(f"/kdb/{utf8_escaped(str(parsed))}").json()["value"] == value


def assert_reads_back(http: httpx.Client, name: str, parsed: KeyName, value: str) -> None:
    got = http.get(f"/kdb/{utf8_escaped(name)}")
    assert got.status_code == 200
    key = got.json()
    assert key["exists"] is True
    assert key["value"] == value
    assert key["name"] == parsed.base_name
    assert KeyName.parse(key["path"]) == parsed
    spelling = KeyName.parse_spelled(name)[1]
    assert key["path"] == parsed.spell(spelling)
    assert key["ls"][0] == key["path"]
    for listed in key["ls"]:
        again, listed_spelling = KeyName.parse_spelled(listed)
        assert again.spell(listed_spelling) == listed
        assert again.is_below_or_same(parsed)
    # The name as the daemon spelled it reaches the same key.
    assert http.get(f"/kdb/{utf8_escaped(key['path'])}").json()["value"] == value
    if not parsed.is_cascading:
        found = http.get(f"/kdbFind/{utf8_escaped(str(parsed))}")
        assert found.status_code == 200 and str(parsed) in found.json()


def test_put_names_under_mounts_are_refused_or_read_back_from_the_file(tmp_path: Path) -> None:
    with elektrad_with_mounts(tmp_path) as daemon:
        http = daemon.http
        files = {
            KeyName.parse(prefix): tmp_path / "conf" / f"app.{prefix.rsplit('/', 1)[1]}"
            for prefix in MOUNT_PREFIXES
        }

        @settings(max_examples=200, deadline=None)
        @given(
            prefix=st.sampled_from(MOUNT_PREFIXES),
            parts=st.lists(name_part, min_size=1, max_size=3),
            value=utf8_text | st.sampled_from(["", " x ", "a\n b", "a\n\nb", "1", "true", "[]"]),
        )
        def put_then_get(prefix: str, parts: list[str], value: str) -> None:
            name = prefix + "/" + "/".join(parts)
            put = http.put(f"/kdb/{utf8_escaped(name)}", json=value)
            assert_response_well_formed(put)
            parsed = parse_or_none(name)
            if put.status_code == 400:
                assert put.json()["name"] in ("InvalidKeyName", "UnsupportedKey")
                assert put.json()["name"] != "InvalidKeyName" or parsed is None
                return
            assert put.status_code == 200 and parsed is not None
            got = http.get(f"/kdb/{utf8_escaped(name)}")
            assert got.status_code == 200 and got.json()["value"] == value
            mount = next((m for m in files if parsed.is_below_or_same(m)), None)
            if mount is None:
                return  # ".." led out of the mount
            document = format_for(files[mount]).parse(files[mount].read_text())
            assert document.keys()[parsed.relative_to(mount)] == value
            assert all(m["status"] == "ok" for m in http.get("/mounts").json())

        put_then_get()


# -- 4. the file system --------------------------------------------------------

Snapshot = dict[str, tuple[int, int, int]]


def snapshot(root: Path, skip: Callable[[str], bool] = lambda name: False) -> Snapshot:
    """Every path below ``root`` with its inode, size and modification time."""
    found: Snapshot = {}
    for directory, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not skip(d)]
        for name in (*dirs, *names):
            path = os.path.join(directory, name)
            try:
                st_ = os.lstat(path)
            except FileNotFoundError:
                continue
            # A directory's own times change with its entries, which are listed.
            is_dir = stat.S_ISDIR(st_.st_mode)
            found[path] = (
                st_.st_ino,
                0 if is_dir else st_.st_size,
                0 if is_dir else st_.st_mtime_ns,
            )
    return found


def changed(before: Snapshot, after: Snapshot) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def top_level(directory: Path) -> set[str]:
    try:
        return set(os.listdir(directory))
    except FileNotFoundError:
        return set()


ESCAPES = (
    *("..", "%2E%2E", "%2e%2e", ".%2E", "..%2F..", "%2E%2E%2F%2E%2E", "\\..", "..\\..", "\\"),
    *("/etc/passwd", "%2Fetc%2Fpasswd", "etc", "passwd", "tmp", "evil", "~", "%00", "%2F", "%5C"),
    *("data", "keys.db", "lock", "conf", "app.ini", "app.json", ".app.ini.x.tmp", "server"),
    *("#0", "#_10", "s", "o", "%", "\\%"),
)


def fs_name(tree: Path) -> st.SearchStrategy[str]:
    """Key names aimed at files: mount prefixes, ``..``, absolute paths of the tree."""
    heads = st.sampled_from(
        ("user:/app/ini", "user:/app/json", "user:/app", "user:", "user", "system:", "dir:")
    )
    parts = st.sampled_from(ESCAPES) | st.just(str(tree)) | st.text(max_size=6).map(utf8_escaped)
    return st.builds(
        lambda head, rest: head + "/" + "/".join(rest), heads, st.lists(parts, max_size=5)
    )


@dataclass
class Operation:
    method: str
    route: str
    name: str
    body: bytes


def operations(tree: Path) -> st.SearchStrategy[Operation]:
    names = fs_name(tree)
    value = st.sampled_from(["v", "../../x", str(tree / "evil"), "/etc/passwd"]) | utf8_text
    return st.one_of(
        st.builds(Operation, st.just("PUT"), st.just("/kdb/"), names, value.map(str.encode)),
        st.builds(Operation, st.just("DELETE"), st.just("/kdb/"), names, st.just(b"")),
        st.builds(
            Operation,
            st.just("POST"),
            st.sampled_from(["/kdbMv/", "/kdbCp/"]),
            names,
            names.map(lambda n: n.replace("%2F", "\\/").encode()),
        ),
        st.builds(
            Operation,
            st.just("POST"),
            st.just("/kdbMeta/"),
            names,
            st.builds(lambda k, v: json.dumps({"key": k, "value": v}).encode(), utf8_text, value),
        ),
    )


def test_fuzzed_writes_touch_only_the_data_directory_and_the_mounted_files(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "tree"
    data_dir = tree / "data"
    conf = tree / "conf"
    conf.mkdir(parents=True)
    ini, json_file = conf / "app.ini", conf / "app.json"
    ini.write_text(INI)
    json_file.write_text(JSON)
    (conf / "other.ini").write_text(INI)  # beside the mounts: must stay as it is
    (tree / "secret").write_text("untouched")
    mounts = [f"user:/app/ini={ini}", f"user:/app/json={json_file}"]
    config = ElektradConfig(
        data_dir=data_dir, mounts=[MountSpec.parse(m) for m in mounts], watch_interval=0.05
    )
    area = tmp_path.parent
    cwd = Path.cwd()
    home = Path.home()
    caches = {".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__"}
    skip_in_cwd = {*caches, ".git", ".venv"}
    before = snapshot(area)
    before_cwd = snapshot(cwd, lambda name: name in skip_in_cwd)
    before_home = top_level(home)
    default_data = home / ".local" / "share" / "elektra-web"
    before_default = snapshot(default_data)

    with serve_in_thread(config) as url:

        @settings(max_examples=40, deadline=None)
        @given(batch=st.lists(operations(tree), min_size=5, max_size=10))
        def write(batch: list[Operation]) -> None:
            for op in batch:
                target = op.route + op.name.replace("?", "%3F").replace("#", "%23")
                assert_well_formed(send(url, op.method, target, op.body), op.method)

        write()
        assert all(m["status"] == "ok" for m in send(url, "GET", "/mounts").json())

    after = snapshot(area)
    allowed = {str(ini), str(json_file), str(data_dir)}
    unexpected = {
        path
        for path in changed(before, after)
        if path not in allowed and not path.startswith(f"{data_dir}{os.sep}")
    }
    assert unexpected == set()
    # No transient .app.ini.*.tmp is left beside the mounts.
    assert sorted(p.name for p in conf.iterdir()) == ["app.ini", "app.json", "other.ini"]
    assert (tree / "secret").read_text() == "untouched"
    assert (conf / "other.ini").read_text() == INI
    assert {p.name for p in data_dir.iterdir()} <= {"keys.db", "keys.db-wal", "keys.db-shm", "lock"}
    # Created, not changed: others may edit the working tree meanwhile.
    assert snapshot(cwd, lambda name: name in skip_in_cwd).keys() - before_cwd.keys() == set()
    # (/tmp itself is not watched: on a shared machine other programs write there.)
    assert top_level(home) - before_home == set()
    assert changed(before_default, snapshot(default_data)) == set()
