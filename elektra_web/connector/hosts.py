"""Which addresses clusterd may call: a guard against server-side request
forgery (a registered "instance" that points clusterd at something else).

Link-local addresses, where clouds serve instance metadata and credentials,
are always refused; an operator may further restrict instances to a list of
networks. The rules are checked twice: when an instance is registered
(:func:`check_host`, so that a bad URL is refused with a clear error at once)
and on every connection clusterd opens (:class:`CheckedBackend`): the name is
resolved, each address is checked, and the connection goes to a checked
address, so a name that later resolves elsewhere (DNS rebinding) is never
called, and no second resolution can differ from the one checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

import httpcore

from .exceptions import InvalidHost

__all__ = [
    "ALWAYS_REFUSED",
    "AddressRefused",
    "CheckedBackend",
    "Network",
    "Resolver",
    "check_host",
    "parse_networks",
    "refusal",
    "system_resolver",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``resolve(host, port)``: the addresses to connect to, in order of preference.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

ALWAYS_REFUSED: tuple[Network, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local; 169.254.169.254 is metadata
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata
)
_METADATA_NAMES = frozenset({"metadata", "metadata.google.internal", "instance-data"})


def parse_networks(texts: Sequence[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "2001:db8::/32"]`` as networks; ValueError if one is not."""
    return tuple(ipaddress.ip_network(text, strict=False) for text in texts)


def refusal(address: Address, allowed: Sequence[Network] = ()) -> str | None:
    """Why clusterd may not call ``address``, or ``None`` if it may."""
    # ::ffff:169.254.169.254 reaches the IPv4 address: check that one too.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    candidates: tuple[Address, ...] = (address,) if mapped is None else (address, mapped)
    if any(a in network for a in candidates for network in ALWAYS_REFUSED):
        return f"{address} is a link-local or cloud metadata address"
    if allowed and not any(a in network for a in candidates for network in allowed):
        return f"{address} is outside the networks instances may be in"
    return None


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%")[0])  # without an IPv6 zone (%eth0)


async def check_host(url: str, allowed: Sequence[Network] = ()) -> None:
    """Raise :class:`InvalidHost` unless clusterd may call ``url``."""
    host = (urlsplit(url).hostname or "").lower()
    if host.rstrip(".") in _METADATA_NAMES:
        raise InvalidHost(url, "cloud metadata services are never instances")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError) as exc:
        if allowed:
            raise InvalidHost(url, f"cannot resolve {host} to check it: {exc}") from exc
        return  # not resolvable now: it may be an instance that is not up yet
    for info in infos:
        reason = refusal(_address(str(info[4][0])), allowed)
        if reason is not None:
            raise InvalidHost(url, reason)


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of ``host`` from the system's resolver, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressRefused(httpcore.ConnectError):
    """No address of a host may be called; clusterd did not connect.

    A connect error to httpx (so the call fails like one to an unreachable
    instance, with this message as the reason), never a crash.
    """


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the rules allow.

    Every new connection resolves its host with ``resolver`` (the system's by
    default), drops each address that :func:`refusal` refuses for
    ``allowed``, and connects ``backend`` to the first that remains, by
    address: what was checked is what is connected to. TLS still verifies the
    certificate for the host's name (httpcore passes it as
    ``server_hostname``). Raises :class:`AddressRefused` when no address is
    allowed.
    """

    def __init__(
        self,
        allowed: Iterable[Network] = (),
        *,
        resolver: Resolver | None = None,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allowed = tuple(allowed)
        self._resolve = resolver or system_resolver
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A connection to a checked address of ``host``."""
        if host.lower().rstrip(".") in _METADATA_NAMES:
            raise AddressRefused(f"{host} is a cloud metadata service; not connecting")
        try:
            async with asyncio.timeout(timeout):
                answers = await self._resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout:g}s") from exc
        except (OSError, UnicodeError, ValueError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        usable: list[str] = []
        refused: list[str] = []
        for answer in answers:
            try:
                reason = refusal(_address(answer), self.allowed)
            except ValueError:
                reason = f"{answer!r} is not an IP address"
            if reason is None:
                usable.append(answer)
            else:
                refused.append(reason)
        if not usable:
            why = "; ".join(refused) or "no address"
            raise AddressRefused(f"{host} resolved to no address clusterd may call ({why})")
        failure: Exception | None = None
        for address in usable:
            try:
                return await self._backend.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the host's next allowed address
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refused: instances are reached over TCP only."""
        raise AddressRefused(f"unix socket {path}: instances are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does (httpcore's retries use it)."""
        await self._backend.sleep(seconds)
