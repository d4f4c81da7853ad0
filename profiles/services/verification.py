"""Identity verification: the HMAC a customer's server computes to vouch for a user ID or email.

`user_hash = hex(HMAC-SHA256(site secret, user_id))` and `email_hash = hex(HMAC-SHA256(site
secret, normalized email))`, computed with the secret of the site the call comes through.
"""

from __future__ import annotations

import hashlib
import hmac

from profiles.models import Site


def signature(*, site: Site, value: str) -> str:
    """The HMAC the customer's server puts in its pages for a user ID or a normalized email."""
    return hmac.new(site.verification_secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def is_signed(*, site: Site | None, value: str, given: object) -> bool:
    """Whether `given` is the value's HMAC in hex, in either case (hex is case-insensitive).

    Anything but an ASCII string is refused before comparing: compare_digest raises TypeError on
    non-ASCII text, and lower-casing non-ASCII could turn it into ASCII.
    """
    if site is None or not isinstance(given, str) or not given.isascii():
        return False
    if not site.verification_secret:  # HMAC with an empty key: anyone could compute it
        return False
    return hmac.compare_digest(signature(site=site, value=value), given.lower())
