"""Issue 12, finding 2, the dedup's side: an email nobody verified never leads the nightly dedup
into a takeover. Both scenarios through the real API, then `manage.py dedup`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from dedup.models import DedupConflict, ReviewKind
from profiles.models import Activity, ActivityKind, Identity, IdentityKind, Person
from profiles.services.sites import email_hash, issue_site_key, user_hash
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    site = SiteFactory(name="Shop")  # verifies identities (a new site's default)
    site.plain_key = issue_site_key(site=site)
    return site


def person_of(device: str) -> Person:
    person = Identity.objects.get(kind=IdentityKind.ANONYMOUS_ID, value=device).person
    while person.merged_into_id:
        person = person.merged_into
    return person


def dedup() -> str:
    out = io.StringIO()
    call_command("dedup", stdout=out)
    return out.getvalue()


def test_scenario_a_a_chat_email_then_an_unsigned_identify_never_joins_the_verified_user(
    post, shop
):
    post("identify", {
        "anonymous_id": "victor-laptop", "user_id": "V-1", "email": "victor@corp.example",
        "traits": {"name": "Victor"}, "user_hash": user_hash(site=shop, user_id="V-1"),
        "email_hash": email_hash(site=shop, email="victor@corp.example"),
    }, key=shop.plain_key)
    victim = Person.objects.get(user_id="V-1")
    post("chat", {"anonymous_id": "evil-dev", "text": "this is victor@corp.example"})
    post("identify", {"anonymous_id": "evil-dev", "email": "victor@corp.example",
                      "traits": {"phone": "+1 555 0100", "company": "Evil", "vip": True}})

    summary = dedup()
    post("chat", {"anonymous_id": "evil-dev", "text": "ship it to my new address"})
    post("track", {"anonymous_id": "evil-dev", "kind": "page_view",
                   "properties": {"url": "https://shop.example/account"}})

    attacker = person_of("evil-dev")
    victim.refresh_from_db()
    assert attacker.pk != victim.pk and victim.merged_into_id is None
    assert victim.phone == "" and "vip" not in victim.attributes and victim.company != "Evil"
    assert not Activity.objects.filter(person=victim, kind=ActivityKind.PAGE_VIEW).exists()
    review = DedupConflict.objects.get(kind=ReviewKind.TYPED_EMAIL)
    assert review.left_out == [attacker.pk]
    assert {row["trust"] for row in review.evidence} == {"verified", "typed"}
    assert "needs review" in summary


def test_scenario_b_an_unsigned_identify_never_takes_a_leads_history(post):
    post("chat", {"anonymous_id": "lead-dev", "text": "call me: lead@corp.example"})
    post("track", {"anonymous_id": "lead-dev", "kind": "purchase", "message_id": "o-1",
                   "properties": {"amount": 4999, "currency": "EUR"}})
    lead = person_of("lead-dev")
    post("identify", {"anonymous_id": "evil-dev", "email": "lead@corp.example"})

    dedup()
    post("chat", {"anonymous_id": "evil-dev", "text": "hello again"})

    attacker = person_of("evil-dev")
    lead.refresh_from_db()
    assert lead.merged_into_id is None and attacker.pk != lead.pk
    assert not Activity.objects.filter(person=attacker, kind=ActivityKind.PURCHASE).exists()
    assert Activity.objects.filter(person=lead, kind=ActivityKind.PURCHASE).count() == 1
    lead_conversations = set(lead.conversations.values_list("pk", flat=True))
    assert lead_conversations.isdisjoint(attacker.conversations.values_list("pk", flat=True))
    review = DedupConflict.objects.get(kind=ReviewKind.TYPED_EMAIL)
    assert review.left_out == [lead.pk]
