from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from django.db import models
from django.utils import timezone


class Site(models.Model):
    """A customer website allowed to write through the HTTP API with its write key."""

    name = models.CharField(max_length=200)
    # The key is shown once at creation; only its prefix (to find it) and hash are kept.
    key_prefix = models.CharField(max_length=16, unique=True, blank=True)
    key_hash = models.CharField(max_length=128, blank=True)
    # Secret for identity verification (HMAC of a user ID or an email); every site has one.
    verification_secret = models.CharField(max_length=128, blank=True)
    require_identity_verification = models.BooleanField(
        default=True,
        help_text=(
            "On: a user ID needs its user_hash, and an identify with only an email its "
            "email_hash, computed by your server. Off: anyone who copies the write key from "
            "your pages can identify as any user ID or email nobody verified."
        ),
    )
    allowed_origins = models.TextField(
        blank=True, help_text="One origin per line, e.g. https://shop.example.com"
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        default=6000, help_text="Events per minute this site may send (0: no limit)."
    )
    rate_limit_per_client_per_minute = models.PositiveIntegerField(
        default=600,
        help_text=(
            "Events per minute one client (an IP address, an IPv6 /64) may send, so that one "
            "client cannot use up the site's limit (0: no sub-limit). A backend that sends "
            "for everyone from one address needs this as high as the site's limit."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def origins(self) -> list[str]:
        """The allowed origins as browsers send them in the Origin header, e.g. "https://a.example".

        Compared as exact strings, so entries are normalized: "https://Shop.Example/checkout"
        must match "https://shop.example". "*" stays as is.
        """
        return list(_normalized_origins(self.allowed_origins))


@lru_cache(maxsize=256)
def _normalized_origins(allowed_origins: str) -> tuple[str, ...]:
    # Checked on every request that carries an Origin: parse each site's list once, not per call.
    lines = allowed_origins.splitlines()
    return tuple(normalize_origin(line) for line in lines if line.strip())


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(entry: str) -> str:
    """One configured origin serialized like a browser does: lower-case scheme and host (IDN in
    punycode), no path, query or trailing slash, no default port; an explicit other port is kept.

    An entry that is not scheme://host (e.g. "*" or "null") is returned stripped, unchanged.
    """
    entry = entry.strip()
    try:
        parts = urlsplit(entry)
        port = parts.port
    except ValueError:  # e.g. a port that is not a number: leave it, it matches nothing
        return entry
    if not parts.scheme or not parts.hostname:
        return entry
    scheme = parts.scheme.lower()
    host = _ascii_host(parts.hostname)  # hostname is already lower case, without [ ] or port
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address keeps its brackets in an origin
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _ascii_host(host: str) -> str:
    # Browsers send an internationalized host name in its punycode (xn--) form.
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host
