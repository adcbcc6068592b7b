"""Instance addresses in one canonical spelling, for rule 1 ("no instance twice").

:func:`normalize_host` maps every spelling of an elektrad base URL to one
string, so that clusterd can compare addresses with ``==`` and a database
unique constraint: ``http://Host:80/`` and ``http://host`` are the same
instance. It also refuses what clusterd must not store as an address:
credentials in the URL (they would be shown to every user and logged), query
strings and fragments (the connector appends API paths, which they would
break), and schemes other than http and https. An address typed without a
scheme (``web-01:33333``) is taken as http.

Hosts are canonicalized the way httpx connects to them (IDNA 2008 via the
``idna`` package that httpx itself uses, WHATWG-style IPv4 forms such as
``127.1``), so the stored string is the address actually reached.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote

import idna

from .exceptions import InvalidHost

__all__ = ["normalize_host"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"[a-z0-9_.-]+")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# RFC 3986 pchar plus "/": everything else in the path gets percent-encoded.
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_DOT_SEGMENTS = {".", "..", "%2E", "%2E%2E", ".%2E", "%2E."}
# An address without a scheme, taken as http: "host", "host:port", "[v6]:port",
# with a path or not, or "//host...". Not "file:/etc/passwd" or "mailto:x":
# a colon must be followed by a port.
_SCHEMELESS = re.compile(r"(//)?([^/:\[]+(:[0-9]+)?|\[[^\]]*\](:[0-9]+)?)(/.*)?", re.DOTALL)


def normalize_host(url: str) -> str:
    """The canonical form of an elektrad base URL; :class:`InvalidHost` if unusable.

    An address without a scheme (``host:port``) is taken as http.
    ``scheme://host[:port][/prefix]`` with scheme and host in lower case,
    non-ASCII host names IDNA-encoded, IPv6 addresses compressed in brackets,
    the default port dropped and no trailing slash.
    """
    text = url.strip()
    if not text:
        raise InvalidHost(url, "the URL is empty")
    if any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in text):
        raise InvalidHost(url, "it contains whitespace or control characters")
    if "\\" in text:
        raise InvalidHost(url, "it contains a backslash")
    if "://" not in text and _SCHEMELESS.fullmatch(text):
        # What people type: "web-01:33333", "127.0.0.1:34403", "//host".
        text = "http://" + text.removeprefix("//")
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise InvalidHost(url, "it must start with http:// or https://")
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidHost(url, f"the scheme {scheme!r} is not supported (use http or https)")
    if "#" in rest:
        raise InvalidHost(url, "a fragment (#...) is not allowed")
    if "?" in rest:
        raise InvalidHost(url, "a query string (?...) is not allowed")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        raise InvalidHost(url, "a user name or password in the URL is not allowed (use a token)")
    host, port = _split_authority(url, authority)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{_path(url, slash + path)}"


def _split_authority(url: str, authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise InvalidHost(url, "the IPv6 address has no closing ']'")
        host = _ipv6(url, authority[1:end])
        after = authority[end + 1 :]
        if after and not after.startswith(":"):
            raise InvalidHost(url, f"unexpected {after!r} after the IPv6 address")
        return host, _port(url, after[1:])
    name, _, port_text = authority.partition(":")
    if ":" in port_text:
        raise InvalidHost(url, "an IPv6 address must be written in brackets, like [::1]")
    if not name:
        raise InvalidHost(url, "the host is empty")
    return _hostname(url, name), _port(url, port_text)


def _port(url: str, text: str) -> int | None:
    if not text:
        return None  # "http://h:/" means the default port, as in browsers
    if not (text.isascii() and text.isdigit()):
        raise InvalidHost(url, f"the port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise InvalidHost(url, f"the port {port} is out of range (1-65535)")
    return port


def _ipv6(url: str, literal: str) -> str:
    if "%" in literal:
        raise InvalidHost(url, "IPv6 zone ids (%...) are not supported")
    try:
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        raise InvalidHost(url, f"{literal!r} is not an IPv6 address") from None
    return f"[{address.compressed}]"


def _hostname(url: str, name: str) -> str:
    if not name.isascii():
        try:
            name = idna.encode(name.lower()).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidHost(url, f"{name!r} is not a valid host name ({exc})") from exc
    name = name.lower()
    if not _HOST.fullmatch(name):
        raise InvalidHost(
            url, f"the host {name!r} may only contain letters, digits, '-', '_' and '.'"
        )
    labels = name.removesuffix(".").split(".")
    if "" in labels:
        raise InvalidHost(url, f"the host {name!r} has an empty label")
    if any(len(label) > 63 for label in labels) or len(name) > 253:
        raise InvalidHost(url, f"the host {name!r} is too long")
    if re.fullmatch(r"[0-9]+|0x[0-9a-f]*", labels[-1]):
        # A name ending in a number is an IPv4 address for browsers and httpx
        # alike ("127.1", "0x7f.0.0.1"): store the dotted quad they connect to.
        return _ipv4(url, labels)
    return name


def _ipv4(url: str, labels: list[str]) -> str:
    numbers: list[int] = []
    for label in labels:
        try:
            if label.startswith("0x"):
                numbers.append(int(label[2:] or "0", 16))
            elif len(label) > 1 and label.startswith("0"):
                numbers.append(int(label, 8))
            else:
                numbers.append(int(label, 10))
        except ValueError:
            numbers = []
            break
    last_max = 256 ** (5 - len(numbers)) - 1 if numbers else -1
    if (
        not numbers
        or len(numbers) > 4
        or any(n > 255 for n in numbers[:-1])
        or numbers[-1] > last_max
    ):
        raise InvalidHost(url, f"the host {'.'.join(labels)!r} is not a valid IPv4 address")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    return str(ipaddress.IPv4Address(value))


def _path(url: str, path: str) -> str:
    if "%" in _ESCAPE.sub("", path):
        raise InvalidHost(url, "the path has a '%' that is not a percent-escape")
    path = quote(path, safe=_PATH_SAFE)
    path = _ESCAPE.sub(lambda m: "%" + m.group(1).upper(), path).rstrip("/")
    if any(segment in _DOT_SEGMENTS for segment in path.split("/")):
        raise InvalidHost(url, "the path may not contain '.' or '..' segments")
    return path
