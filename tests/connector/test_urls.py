"""normalize_host: every spelling of one address gives one string (rule 1),
and what clusterd must not store is refused with a clear reason."""

from __future__ import annotations

import pytest

from elektra_web.connector.exceptions import ConnectorError, InvalidHost
from elektra_web.connector.urls import normalize_host


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # scheme and host in lower case, root path without slash
        ("http://Host:33333/", "http://host:33333"),
        ("http://host:33333", "http://host:33333"),
        ("HTTP://HOST:33333", "http://host:33333"),
        ("HtTpS://Example.COM/", "https://example.com"),
        ("  http://host:33333/  ", "http://host:33333"),
        ("http://host:33333\n", "http://host:33333"),  # pasted with its newline
        # default ports dropped, others kept, leading zeros gone
        ("http://host:80/", "http://host"),
        ("https://host:443", "https://host"),
        ("http://host:443", "http://host:443"),
        ("https://host:80", "https://host:80"),
        ("http://host:033333", "http://host:33333"),
        ("http://host:/", "http://host"),
        ("http://host:1", "http://host:1"),
        ("http://host:65535", "http://host:65535"),
        # without a scheme: http, as people type it
        ("host:33333", "http://host:33333"),
        ("127.0.0.1:34403", "http://127.0.0.1:34403"),
        ("//host:33333", "http://host:33333"),
        ("web-01", "http://web-01"),
        ("[::1]:33333/api/", "http://[::1]:33333/api"),
        # path prefix kept, trailing slashes dropped, escapes upper-cased
        ("http://h:1/elektrad/", "http://h:1/elektrad"),
        ("http://h:1/elektrad", "http://h:1/elektrad"),
        ("http://h:1/a/b//", "http://h:1/a/b"),
        ("http://h:1/Case/Kept", "http://h:1/Case/Kept"),
        ("http://h:1/a%2fb", "http://h:1/a%2Fb"),
        ("http://h:1/ü", "http://h:1/%C3%BC"),
        ("http://h:1/a%C3%BC", "http://h:1/a%C3%BC"),
        # IPv6: canonical compressed form, in brackets
        ("http://[0:0::1]:33333", "http://[::1]:33333"),
        ("http://[::1]:33333/", "http://[::1]:33333"),
        ("http://[0000:0000:0000:0000:0000:0000:0000:0001]", "http://[::1]"),
        ("http://[2001:DB8::0:1]:80/", "http://[2001:db8::1]"),
        ("https://[FE80::1]:8443/x/", "https://[fe80::1]:8443/x"),
        # IPv4 in the forms that browsers and httpx read as one address
        ("http://127.0.0.1:33333", "http://127.0.0.1:33333"),
        ("http://127.1:33333", "http://127.0.0.1:33333"),
        ("http://0x7f.0.0.1:33333", "http://127.0.0.1:33333"),
        ("http://0177.0.0.1", "http://127.0.0.1"),
        ("http://2130706433", "http://127.0.0.1"),
        ("http://1.2.3.4.", "http://1.2.3.4"),
        # internationalized names become IDNA (as httpx connects to them)
        ("http://Bücher.Example:33333/", "http://xn--bcher-kva.example:33333"),
        ("http://xn--bcher-kva.example:33333", "http://xn--bcher-kva.example:33333"),
        ("http://ÉLEKTRA.test", "http://xn--lektra-9ua.test"),
        # names that merely contain digits stay names
        ("http://host1.example:1", "http://host1.example:1"),
        ("http://my_host:1", "http://my_host:1"),
        ("http://1host", "http://1host"),
    ],
)
def test_equivalent_spellings_normalize_to_one(url: str, expected: str) -> None:
    assert normalize_host(url) == expected
    assert normalize_host(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("file:/etc/passwd", "must start with http:// or https://"),
        ("mailto:admin@host", "must start with http:// or https://"),
        ("host:", "must start with http:// or https://"),
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("ftp://host", "scheme 'ftp' is not supported"),
        ("file:///etc/passwd", "scheme 'file' is not supported"),
        ("ws://host:1", "scheme 'ws' is not supported"),
        ("http://user:pass@host:1", "user name or password"),
        ("http://user@host", "user name or password"),
        ("http://@host", "user name or password"),
        ("http://host:1/?x=1", "query string"),
        ("http://host:1?", "query string"),
        ("http://host:1/#top", "fragment"),
        ("http://host#", "fragment"),
        ("http://", "host is empty"),
        ("http:///path", "host is empty"),
        ("http://:33333", "host is empty"),
        ("http://host:0", "out of range"),
        ("http://host:65536", "out of range"),
        ("http://host:99999999999", "out of range"),
        ("http://host:-1", "not a number"),
        ("http://host:http", "not a number"),
        ("http://host:٣", "not a number"),
        ("http://::1:33333", "brackets"),
        ("http://[::1", "closing ']'"),
        ("http://[::1]x", "after the IPv6 address"),
        ("http://[::g]", "not an IPv6 address"),
        ("http://[127.0.0.1]", "not an IPv6 address"),
        ("http://[fe80::1%25eth0]", "zone ids"),
        ("http://ho st", "whitespace"),
        ("http://ho\tst", "whitespace"),
        ("http://ho\x00st", "control characters"),
        ("http://host\\path", "backslash"),
        ("http://ho%73t", "may only contain"),
        ("http://ho*st", "may only contain"),
        ("http://a..b", "empty label"),
        ("http://.host", "empty label"),
        ("http://" + "a" * 64 + ".example", "too long"),
        ("http://" + "a." * 127 + "example", "too long"),
        ("http://1.2.3.256", "not a valid IPv4 address"),
        ("http://1.2.3.4.5", "not a valid IPv4 address"),
        ("http://256.1", "not a valid IPv4 address"),
        ("http://09.1.1.1", "not a valid IPv4 address"),
        ("http://4294967296", "not a valid IPv4 address"),
        ("http://a.0x", "not a valid IPv4 address"),
        ("http://bü\u200bcher.example", "not a valid host name"),
        ("http://h/a%zz", "not a percent-escape"),
        ("http://h/a%", "not a percent-escape"),
        ("http://h/a/../b", "'.' or '..' segments"),
        ("http://h/./b", "'.' or '..' segments"),
        ("http://h/a/%2e%2E", "'.' or '..' segments"),
        ("http://h/..", "'.' or '..' segments"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(InvalidHost) as info:
        normalize_host(url)
    assert reason in str(info.value)
    assert info.value.url == url
    assert isinstance(info.value, ConnectorError)


def test_credentials_never_reach_the_error_reason() -> None:
    with pytest.raises(InvalidHost) as info:
        normalize_host("http://admin:s3cret@host")
    assert "s3cret" not in info.value.reason
