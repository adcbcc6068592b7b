"""Which addresses clusterd may call: a guard against server-side request
forgery (a registered "instance" that points clusterd at something else).

Link-local addresses, where clouds serve instance metadata and credentials,
are always refused; an operator may further restrict instances to a list of
networks. The check resolves the host name when the instance is registered;
a name that later resolves elsewhere is not caught here (the allow-list, kept
to the networks of the managed machines, is the defence for that).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from .exceptions import InvalidHost

__all__ = ["ALWAYS_REFUSED", "Network", "check_host", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

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
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if any(address in network for network in ALWAYS_REFUSED):
            raise InvalidHost(url, f"{address} is a link-local or cloud metadata address")
        if allowed and not any(address in network for network in allowed):
            raise InvalidHost(url, f"{address} is outside the networks instances may be in")
