"""Where a tool may connect: public addresses, and private ones only where staff allow-listed
them (AllowedDestination). The name is resolved first and every address it resolves to is
checked; the request then goes to the checked address (the host name still sent as Host and
TLS server name), so a DNS answer that changes between the check and the connection (rebinding)
cannot reach the metadata service or the loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .builtins import ToolFailure
from .models import AllowedDestination

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_SECONDS = 3.0


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # an IPv4 address behind a NAT64 gateway


@dataclass(frozen=True, slots=True)
class Destination:
    url: str  # the URL with the checked address in place of the host name
    host: str  # the Host header: the name (and a port other than the scheme's)
    server_name: str  # the name TLS checks the certificate against


def embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64): each is checked too."""
    if address.version == 4:
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [embedded for embedded in found if embedded is not None]


def public(address: Address) -> bool:
    if address.version == 6 and address.is_site_local:  # deprecated, and never public
        return False
    if not address.is_global or address.is_multicast:
        return False
    return all(public(embedded) for embedded in embedded_ipv4(address))


def allowed_networks() -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]]:
    allowed = []
    for network, port in AllowedDestination.objects.values_list("network", "port"):
        try:
            allowed.append((ipaddress.ip_network(network.strip(), strict=False), port))
        except ValueError:
            continue  # the admin form refuses these; a row edited in the database is ignored
    return allowed


async def destination(url: str, allowed: tuple | list) -> Destination:
    """The checked address to send `url`'s request to; ToolFailure when it may not be reached.
    `allowed`: the allow-list (`allowed_networks()`, read with the registry's snapshot)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise ToolFailure("the tool's URL must be http or https with a host (and no user or password)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ToolFailure("the tool's URL has an invalid port") from None
    host = parts.hostname
    try:
        found = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, TimeoutError):
        raise ToolFailure(f"the tool's host '{host}' could not be resolved") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))
    if not addresses:
        raise ToolFailure(f"the tool's host '{host}' could not be resolved")
    blocked = [address for address in addresses if not public(address)]
    if blocked:
        for address in blocked:
            if not any(address in network and allowed_port in (None, port) for network, allowed_port in allowed):
                raise ToolFailure(
                    f"the tool's host resolves to {address}, a private, loopback or link-local address that is "
                    "not allow-listed"
                )
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    return Destination(pinned, host if parts.port is None else f"{host}:{parts.port}", host)
