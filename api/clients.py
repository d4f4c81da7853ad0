"""Who is asking: the client, as the API's per-client rate limit counts it."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest

from crm.security import client_ip  # the one reading of the client's address


def client_key(request: HttpRequest) -> str:
    """The client a rate limit counts: its IPv4 address, or its IPv6 /64 network (one host
    holds a whole /64, and could otherwise take a fresh address for every request)."""
    address = client_ip(request) or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
