"""Where webhooks may go, and how a webhook URL is shown in logs and the audit log.

A webhook must not become a way into the server's own network: by default only public (globally
routable unicast) addresses are allowed. An installation that runs its receivers next to Allot
(single-host set-ups, tests) allows more with ALLOT_WEBHOOK_ALLOW_PRIVATE: `1` allows every
address, a comma-separated list of CIDR networks allows just those.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import urlsplit

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
EVERYWHERE: tuple[Network, ...] = (ip_network("0.0.0.0/0"), ip_network("::/0"))
ON = ("1", "on", "true", "yes", "all")
OFF = ("", "0", "off", "false", "no")


class Refused(Exception):
    """The destination resolves to an address this installation does not send webhooks to."""


def is_public(ip: Address) -> bool:
    """A globally routable unicast address: not loopback, link-local, private, unspecified, multicast
    or reserved (IPv4 inside IPv6, such as ::ffff:127.0.0.1, is judged as the IPv4 address)."""
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    special = (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
               or ip.is_unspecified)
    return ip.is_global and not special


@dataclass(frozen=True, slots=True)
class Destinations:
    """The installation's policy: public addresses, plus the networks it explicitly allows."""

    allowed: tuple[Network, ...] = ()

    @classmethod
    def from_setting(cls, value: str | None) -> Destinations:
        """`1` allows everything, a CIDR list allows those networks, empty (the default) only public ones."""
        text = (value or "").strip()
        if text.lower() in OFF:
            return cls()
        if text.lower() in ON:
            return cls(EVERYWHERE)
        return cls(tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()))

    def permits(self, address: str) -> bool:
        ip = ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
        if is_public(ip):
            return True
        mapped = ip.ipv4_mapped if isinstance(ip, IPv6Address) else None
        return any(candidate in net for candidate in (ip, mapped) if candidate is not None
                   for net in self.allowed if net.version == candidate.version)

    def check(self, addresses: list[str]) -> list[str]:
        """The addresses to connect to, in order, once every address the name resolves to is allowed."""
        if not addresses:
            raise Refused("the name resolves to no address")
        for address in addresses:
            if not self.permits(address):
                raise Refused("the destination is a private, loopback, link-local or reserved address")
        return list(dict.fromkeys(addresses))


def literal_ip(host: str) -> Address | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


def redact(url: str) -> str:
    """scheme://host[:port]/path: no credentials, no query, no fragment (they may carry secrets)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(unreadable url)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"
