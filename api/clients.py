"""Who is asking: the client's address, as the API's per-client rate limit counts it."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; behind ONEFOLD_TRUSTED_PROXIES proxies, the address the outermost one saw.

    Each trusted proxy appends the address it received the request from to X-Forwarded-For
    (nginx: `$proxy_add_x_forwarded_for`), so the client is the entry that many places from the
    right. Entries further left were written by the client itself and are never trusted (else a
    made-up header would give each request a fresh budget).
    """
    proxies = settings.ONEFOLD_TRUSTED_PROXIES
    remote = request.META.get("REMOTE_ADDR") or None
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if part.strip()]
    if len(forwarded) < proxies:
        return remote  # not through the proxies we were told about
    return forwarded[-proxies]


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
