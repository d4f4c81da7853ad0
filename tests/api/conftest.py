"""Helpers for the HTTP API tests: a site with a fresh write key and a JSON poster."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache

from profiles.models import Activity, Conversation, Identity, MergeRecord, Person
from profiles.services.sites import issue_site_key
from tests.factories import SiteFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site():
    # A site that does not verify identities (the verifying ones are `verified_site`s)
    site = SiteFactory(allowed_origins="https://shop.example", require_identity_verification=False)
    site.plain_key = issue_site_key(site=site)
    return site


@pytest.fixture
def post(client, site):
    def send(path: str, body: Any, *, key: str | None = None, raw: bytes | None = None,
             remote_addr: str = "127.0.0.1", **headers: str):
        key = site.plain_key if key is None else key
        extra = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        extra.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
        extra["REMOTE_ADDR"] = remote_addr
        data = raw if raw is not None else json.dumps(body)
        return client.generic("POST", f"/api/v1/{path}", data,
                              content_type="application/json", **extra)

    return send


def row_counts() -> dict[str, int]:
    """Every table a website write can touch, with history: all must stay equal on refusal."""
    return {
        "people": Person.objects.count(),
        "person_history": Person.history.count(),
        "identities": Identity.objects.count(),
        "identity_history": Identity.history.count(),
        "activities": Activity.objects.count(),
        "conversations": Conversation.objects.count(),
        "merges": MergeRecord.objects.count(),
    }
