"""Sites and their write keys: issued once (only a prefix and a hash are stored), checked,
revoked; the identity-verification secret; the per-process cache of sites looked up by key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from profiles.models import Site
from profiles.services.normalize import normalize_email
from profiles.services.recording_sql import site_by_key_prefix
from profiles.services.verification import signature

KEY_PREFIX_LENGTH = 12  # "ofk_" + 8 random characters: the part stored in clear to find a key


def hash_key(key: str) -> str:
    # A 32-byte random key cannot be guessed, so a fast hash is enough (no password stretching).
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "ofk_" + secrets.token_urlsafe(32)


@transaction.atomic
def issue_site_key(*, site: Site, key: str | None = None) -> str:
    """Give the site a new write key (replacing any old one) and return it: shown once."""
    key = key or new_key()
    site.key_prefix = key[:KEY_PREFIX_LENGTH]
    site.key_hash = hash_key(key)
    site.revoked_at = None
    if not site.verification_secret:
        site.verification_secret = secrets.token_hex(32)
    site.save()
    return key


def rotate_verification_secret(*, site: Site) -> str:
    """Give the site a new identity-verification secret and return it (the old one stops
    verifying at once in this process, within ONEFOLD_SITE_CACHE_SECONDS in the others)."""
    site.verification_secret = secrets.token_hex(32)
    site.save(update_fields=["verification_secret"])
    return site.verification_secret


def revoke_site_key(*, site: Site) -> None:
    """Refuse the site's key from now on (idempotent)."""
    Site.objects.filter(pk=site.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    forget_sites()
    site.refresh_from_db(fields=["revoked_at"])


# key prefix -> (site or None, monotonic time it expires); per process, see forget_sites().
_sites: dict[str, tuple[Site | None, float]] = {}
_MAX_CACHED_SITES = 10_000
_clock = time.monotonic  # a name of our own, so tests can move this clock alone
# Bumped by forget_sites(): a look-up that started before a revoke must not cache what it read.
_generation = [0]


def site_for_key(key: str) -> Site | None:
    """The site this key belongs to (revoked or not), or None for an unknown key."""
    if not key.startswith("ofk_") or len(key) > 200:
        return None
    site = _site_by_prefix(key[:KEY_PREFIX_LENGTH])
    if site is None or not hmac.compare_digest(site.key_hash, hash_key(key)):
        return None
    return site


def _site_by_prefix(prefix: str) -> Site | None:
    now = _clock()
    cached = _sites.get(prefix)
    if cached is not None and cached[1] > now:
        return cached[0]
    generation = _generation[0]
    site = site_by_key_prefix(prefix)
    seconds = settings.ONEFOLD_SITE_CACHE_SECONDS
    if seconds > 0 and site is not None and generation == _generation[0]:
        if len(_sites) >= _MAX_CACHED_SITES:
            _sites.clear()
        _sites[prefix] = (site, now + seconds)
    return site


def forget_sites(**_: object) -> None:
    """Drop this process's cached sites (connected to Site saves and deletes)."""
    _generation[0] += 1
    _sites.clear()


def user_hash(*, site: Site, user_id: str) -> str:
    """The identity-verification HMAC the customer's server puts in its pages."""
    return signature(site=site, value=user_id)


def email_hash(*, site: Site, email: str) -> str:
    """The HMAC that verifies an email (of its normalized form: trimmed, lower case)."""
    return signature(site=site, value=normalize_email(email))


# --- The demo shop's site ------------------------------------------------------------------------
# A known, public write key so the demo page works out of the box. Created by `seed_demo`
# (never by a page view), and refused by the API unless the demo is on (ONEFOLD_DEMO): the key
# is in this repository, so a production server must not take it.
DEMO_WRITE_KEY = "ofk_demoshop_public_write_key_for_the_onefold_demo"
DEMO_SITE_NAME = "Demo shop"
DEMO_ORIGINS = "http://localhost:8000\nhttp://127.0.0.1:8000"


def is_demo_site(site: Site) -> bool:
    return site.key_prefix == DEMO_WRITE_KEY[:KEY_PREFIX_LENGTH]


def demo_is_on() -> bool:
    return bool(getattr(settings, "ONEFOLD_DEMO", False))


def demo_site() -> Site | None:
    """The demo shop's site, if `seed_demo` created it."""
    return Site.objects.filter(key_prefix=DEMO_WRITE_KEY[:KEY_PREFIX_LENGTH]).first()


@transaction.atomic
def ensure_demo_site() -> Site:
    """The demo shop's site with its known key, created or reactivated (idempotent). It
    verifies identities like any new site: the demo page has its server sign the login."""
    site = (
        Site.objects.select_for_update().filter(key_prefix=DEMO_WRITE_KEY[:KEY_PREFIX_LENGTH])
        .first()
    )
    if site is None:
        site = Site(name=DEMO_SITE_NAME, allowed_origins=DEMO_ORIGINS)
    if site.pk is None or site.key_hash != hash_key(DEMO_WRITE_KEY) or not site.is_active:
        issue_site_key(site=site, key=DEMO_WRITE_KEY)
    return site
