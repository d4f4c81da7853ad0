"""The demo shop's Site: a known, public write key so the demo page works out of the box."""

from __future__ import annotations

from profiles.models import Site
from profiles.services.sites import KEY_PREFIX_LENGTH, hash_key, issue_site_key

# Public by design (a write key sits in every page that uses the snippet); only for the demo.
DEMO_WRITE_KEY = "ofk_demoshop_public_write_key_for_the_onefold_demo"
DEMO_SITE_NAME = "Demo shop"


def ensure_demo_site() -> tuple[Site, str]:
    """The demo Site with its known write key, created or reactivated; safe to call repeatedly."""
    site = Site.objects.filter(key_prefix=DEMO_WRITE_KEY[:KEY_PREFIX_LENGTH]).first()
    if site is None:
        site = Site(name=DEMO_SITE_NAME, allowed_origins="http://localhost:8000\nhttp://127.0.0.1:8000")
    if site.pk is None or site.key_hash != hash_key(DEMO_WRITE_KEY) or not site.is_active:
        issue_site_key(site=site, key=DEMO_WRITE_KEY)
    return site, DEMO_WRITE_KEY
