"""Nobody claims a profile that is not theirs (issue 12, findings 1 and 2, the API's side).

People are shared by every site: a person whose user ID or email was ever verified is claimed
only with a valid hash, through any site. Every email records how it was learned. Answers
never tell whether an ID or email belongs to someone.
"""

from __future__ import annotations

import pytest

from profiles.models import Activity, Identity, IdentityKind, IdentityTrust, Person, PersonStatus
from profiles.services import chat_message, identify
from profiles.services.sites import email_hash, issue_site_key, user_hash
from profiles.services.trust import unproven_device_id
from tests.api.conftest import row_counts
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """Site A: verifies identities (the default for a new site)."""
    site = SiteFactory(name="Shop")
    site.plain_key = issue_site_key(site=site)
    return site


@pytest.fixture
def blog(site):
    """Site B: does not verify (its write key is, as every write key, public)."""
    return site


@pytest.fixture
def victim(post, shop):
    """Victor logged in on the shop: his user ID and email proven by the shop's server."""
    response = post("identify", {
        "anonymous_id": "victor-laptop", "user_id": "V-1", "email": "victor@corp.example",
        "traits": {"name": "Victor", "company": "Corp"},
        "user_hash": user_hash(site=shop, user_id="V-1"),
        "email_hash": email_hash(site=shop, email="victor@corp.example"),
    }, key=shop.plain_key)
    assert response.status_code == 200, response.json()
    return Person.objects.get(user_id="V-1")


def live_person_of(device: str) -> Person:
    identity = Identity.objects.get(kind=IdentityKind.ANONYMOUS_ID, value=device)
    person = identity.person
    while person.merged_into_id:
        person = person.merged_into
    return person


def trust_of(kind: str, value: str) -> set[str]:
    return set(Identity.objects.filter(kind=kind, value=value).values_list("trust", flat=True))


MALLORY = {"user_id": "V-1", "email": "evil@attacker.example", "traits": {"name": "Mallory",
           "phone": "+1 555 0100", "vip": True}, "anonymous_id": "evil-dev"}


# --- Finding 1: verification cannot be bypassed through another site --------------------------


def test_new_sites_require_identity_verification():
    from profiles.models import Site

    assert Site(name="New").require_identity_verification is True


def test_a_verified_user_cannot_be_claimed_through_a_site_that_does_not_verify(
    post, victim, blog, shop
):
    response = post("identify", MALLORY)  # through the blog's public key

    assert response.status_code == 200
    victim.refresh_from_db()
    assert (victim.name, victim.email, victim.phone) == ("Victor", "victor@corp.example", "")
    assert "vip" not in victim.attributes and victim.merged_into_id is None
    assert not victim.identities.filter(value__in=["evil-dev", "evil@attacker.example"]).exists()
    attacker = live_person_of("evil-dev")
    assert attacker.pk != victim.pk and attacker.user_id is None
    assert attacker.activities.get(kind="identify").properties["claimed_user_id"] == "V-1"


def test_the_attackers_device_then_tracks_and_chats_on_its_own_profile(post, victim, shop):
    post("identify", MALLORY)

    on_shop = post("track", {"anonymous_id": "evil-dev", "kind": "page_view"}, key=shop.plain_key)
    chat = post("chat", {"anonymous_id": "evil-dev", "text": "hi"}, key=shop.plain_key)
    by_id = post("track", {"anonymous_id": "evil-dev", "user_id": "V-1", "kind": "page_view"})

    assert on_shop.status_code == chat.status_code == by_id.status_code == 200
    assert not victim.activities.filter(kind__in=["page_view", "chat_message"]).exists()
    assert not victim.conversations.exists()
    assert live_person_of("evil-dev").activities.filter(kind="page_view").count() == 2


def test_an_event_naming_a_verified_user_id_without_proof_or_device_is_kept_apart(post, victim):
    response = post("track", {"user_id": "V-1", "kind": "purchase", "properties": {"amount": 1}})

    assert response.status_code == 200
    assert not victim.activities.filter(kind="purchase").exists()
    holder = live_person_of(unproven_device_id("V-1"))
    assert holder.pk != victim.pk and holder.activities.filter(kind="purchase").count() == 1


def test_a_valid_hash_through_any_site_speaks_for_the_verified_user(post, victim, blog):
    # The blog's own secret: every site has one, whether or not it requires verification.
    response = post("identify", {"anonymous_id": "victor-phone", "user_id": "V-1",
                                 "user_hash": user_hash(site=blog, user_id="V-1")})
    purchase = post("track", {"user_id": "V-1", "kind": "purchase", "properties": {"n": 1},
                              "user_hash": user_hash(site=blog, user_id="V-1")})

    assert response.status_code == purchase.status_code == 200
    assert live_person_of("victor-phone").pk == victim.pk
    assert victim.activities.filter(kind="purchase").count() == 1


def test_a_wrong_hash_is_refused_on_any_site(post, victim):
    response = post("identify", {**MALLORY, "user_hash": "0" * 64})

    assert response.status_code == 403 and response.json()["error"]["field"] == "user_hash"


def test_a_user_id_nobody_verified_is_still_the_sites_word(post, blog):
    identify(user_id="U-7", traits={"name": "Uma"})  # staff's, never verified

    post("identify", {"anonymous_id": "dev-u", "user_id": "U-7", "traits": {"name": "Una"}})

    assert live_person_of("dev-u") == Person.objects.get(user_id="U-7")
    assert Person.objects.get(user_id="U-7").name == "Una"


# --- Answers never tell whether an ID or email is someone's ------------------------------------


def test_the_answer_is_the_same_for_a_verified_unverified_or_new_user_id(post, victim):
    identify(user_id="U-7")
    answers = {
        post("identify", {**MALLORY, "anonymous_id": f"probe-{user_id}",
                          "user_id": user_id}).content
        for user_id in ("V-1", "U-7", "nobody-yet")
    }
    answers |= {post("track", {"user_id": user_id, "kind": "page_view"}).content
                for user_id in ("V-1", "U-7", "nobody-yet-2")}

    assert answers == {b'{"ok": true}'}


def test_the_answer_is_the_same_for_a_proven_or_unknown_email(post, victim):
    answers = {
        post("identify", {"anonymous_id": f"probe-{n}", "email": email}).content
        for n, email in enumerate(["victor@corp.example", "nobody@corp.example"])
    }

    assert answers == {b'{"ok": true}'}


# --- Finding 2: how every email was learned ----------------------------------------------------


def test_every_email_records_how_it_was_learned(post, victim, blog):
    identify(user_id="S-1", email="staff@corp.example")  # the Python API: staff's
    post("identify", {"anonymous_id": "b-dev", "email": "site.word@corp.example"})
    post("chat", {"anonymous_id": "c-dev", "text": "write me at typed@corp.example"})

    assert trust_of("email", "victor@corp.example") == {IdentityTrust.VERIFIED}
    assert trust_of("user_id", "V-1") == {IdentityTrust.VERIFIED}
    assert trust_of("email", "staff@corp.example") == {IdentityTrust.STAFF}
    assert trust_of("email", "site.word@corp.example") == {IdentityTrust.CLAIMED}
    assert trust_of("email", "typed@corp.example") == {IdentityTrust.TYPED}


def test_an_email_only_identify_on_a_verifying_site_needs_the_emails_hash(post, shop):
    before = row_counts()
    refused = post("identify", {"anonymous_id": "d", "email": "ann@example.com"},
                   key=shop.plain_key)
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "email_hash"
    assert row_counts() == before

    accepted = post("identify", {"anonymous_id": "d", "email": "Ann@Example.com ",
                                 "email_hash": email_hash(site=shop, email="ann@example.com")},
                    key=shop.plain_key)

    assert accepted.status_code == 200
    assert trust_of("email", "ann@example.com") == {IdentityTrust.VERIFIED}


def test_an_unsigned_change_to_a_users_device_on_a_verifying_site_is_refused(post, victim, shop):
    history = Person.history.count()

    response = post("identify", {"anonymous_id": "victor-laptop", "email": "evil@x.example",
                                 "traits": {"name": "Hacked"}}, key=shop.plain_key)

    assert response.status_code == 403
    victim.refresh_from_db()
    assert victim.email == "victor@corp.example" and victim.name == "Victor"
    assert Person.history.count() == history


def test_a_verified_email_claimed_without_proof_is_only_typed(post, victim, blog):
    """2(a): chat, then an email-only identify with the victim's address: the attacker's
    profile holds it as no more than typed, and is not made a user by it."""
    post("chat", {"anonymous_id": "evil-2", "text": "this is victor@corp.example"})

    response = post("identify", {"anonymous_id": "evil-2", "email": "victor@corp.example",
                                 "traits": {"company": "Corp", "vip": True}})

    assert response.status_code == 200
    attacker = live_person_of("evil-2")
    assert attacker.pk != victim.pk and attacker.status == PersonStatus.VISITOR
    assert trust_of("email", "victor@corp.example") == {IdentityTrust.VERIFIED,
                                                       IdentityTrust.TYPED}
    assert attacker.identities.get(kind="email").trust == IdentityTrust.TYPED
    victim.refresh_from_db()
    assert "vip" not in victim.attributes


def test_a_user_id_verified_protects_the_persons_other_emails_too(post, shop, blog):
    post("identify", {"anonymous_id": "w-dev", "user_id": "W-1",
                      "user_hash": user_hash(site=shop, user_id="W-1")}, key=shop.plain_key)
    identify(user_id="W-1", email="wendy@corp.example")  # her email, set by staff

    post("identify", {"anonymous_id": "evil-3", "email": "wendy@corp.example"})

    assert live_person_of("evil-3").identities.get(kind="email").trust == IdentityTrust.TYPED


def test_traits_from_an_unverified_identify_never_overwrite_a_verified_profile(post, victim):
    # Through the blog, from Victor's own device: it leads to his verified profile.
    response = post("identify", {"anonymous_id": "victor-laptop", "email": "other@x.example",
                                 "traits": {"name": "Not Victor", "company": "Other",
                                            "city": "Lyon", "plan": "free"}})

    assert response.status_code == 200
    victim.refresh_from_db()
    assert (victim.name, victim.company, victim.email) == ("Victor", "Corp",
                                                           "victor@corp.example")
    assert victim.city == "Lyon" and victim.attributes["plan"] == "free"  # empty: filled
    assert victim.identities.filter(value="other@x.example").exists()


def test_a_chat_email_never_replaces_a_stronger_trust(post, victim):
    chat_message(anonymous_id="victor-laptop", text="my address: victor@corp.example")

    assert trust_of("email", "victor@corp.example") == {IdentityTrust.VERIFIED}


# --- Issue 11, finding 5 (the API's side): no permanent condition answered "resend" ------------


def test_a_user_id_identity_moved_to_another_person_leads_there_not_to_a_409(post):
    first = identify(user_id="moved-1", traits={"name": "First"})
    second = identify(anonymous_id="other-dev", email="second@example.com")
    # Staff moved the identity and cleared the user ID (the admin no longer allows it, but
    # data from before may be so).
    Identity.objects.filter(kind="user_id", value="moved-1").update(person=second)
    Person.objects.filter(pk=first.pk).update(user_id=None)

    tracked = post("track", {"user_id": "moved-1", "kind": "page_view"})
    identified = post("identify", {"anonymous_id": "new-dev", "user_id": "moved-1"})
    batched = post("batch", {"batch": [
        {"type": "track", "user_id": "moved-1", "kind": "page_view"},
        {"type": "track", "anonymous_id": "x", "kind": "page_view"},
    ]})

    assert tracked.status_code == identified.status_code == batched.status_code == 200
    assert Activity.objects.filter(person=second, kind="page_view").count() == 2
    assert live_person_of("new-dev") == second


# --- The Site admin says what anyone can claim -------------------------------------------------


def test_the_site_admin_warns_what_anyone_can_claim_without_verification(admin_client, blog,
                                                                          shop):
    from django.urls import reverse

    off = admin_client.get(reverse("admin:profiles_site_change", args=[blog.pk]))
    on = admin_client.get(reverse("admin:profiles_site_change", args=[shop.pk]))

    assert "Identity verification is off" in off.content.decode()
    assert "any user ID or email that was never verified" in off.content.decode()
    assert "Identity verification is off" not in on.content.decode()


def test_the_add_site_form_requires_verification_unless_staff_turn_it_off(admin_client):
    import re

    from django.contrib.messages import get_messages
    from django.urls import reverse

    from profiles.models import Site

    form = admin_client.get(reverse("admin:profiles_site_add")).content.decode()
    checkbox = re.search(r'<input[^>]*name="require_identity_verification"[^>]*>', form).group()
    assert " checked" in checkbox
    response = admin_client.post(reverse("admin:profiles_site_add"), {
        "name": "Open blog", "allowed_origins": "", "rate_limit_per_minute": 100,
         "rate_limit_per_client_per_minute": 10})

    assert response.status_code == 302
    assert Site.objects.get(name="Open blog").require_identity_verification is False
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "Identity verification is off" in shown


def test_the_primary_emails_trust_reads_set_based_for_the_dedup(post, victim):
    from django.db import connection

    from profiles.services.trust import EMAIL_TRUST_SQL, with_email_trust

    identify(user_id="S-1", email="Staff@Corp.example ")  # staff's
    chat_message(anonymous_id="c-dev", text="typed@corp.example")
    post("identify", {"anonymous_id": "b-dev", "email": "claimed@corp.example"})
    Person.objects.create(email="imported@corp.example")  # set without an identity: staff

    expected = {"victor@corp.example": "verified", "staff@corp.example": "staff",
                "typed@corp.example": "typed", "claimed@corp.example": "claimed",
                "imported@corp.example": "staff"}
    annotated = {p.email_normalized: p.email_trust
                 for p in with_email_trust(Person.objects.exclude(email=""))}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.email_normalized, {EMAIL_TRUST_SQL} FROM profiles_person p "
                       "WHERE p.email <> ''")
        in_sql = dict(cursor.fetchall())

    assert annotated == in_sql == expected


def test_unproven_claims_without_a_device_land_together_again_and_again(post, victim):
    for _ in range(2):
        response = post("identify", {"user_id": "V-1", "traits": {"name": "Mallory"}})
        assert response.status_code == 200

    holder = live_person_of(unproven_device_id("V-1"))
    assert holder.activities.filter(kind="identify").count() == 2
    victim.refresh_from_db()
    assert victim.name == "Victor"


def test_a_verified_persons_device_is_not_given_an_unproven_user_id(post, shop, blog):
    post("identify", {"anonymous_id": "ann-phone", "email": "ann@corp.example",
                      "email_hash": email_hash(site=shop, email="ann@corp.example")},
         key=shop.plain_key)
    ann = live_person_of("ann-phone")

    post("identify", {"anonymous_id": "ann-phone", "user_id": "mallory-7"})
    identify(user_id="known-8")
    post("identify", {"anonymous_id": "ann-phone", "user_id": "known-8"})

    ann.refresh_from_db()
    assert ann.user_id is None and ann.merged_into_id is None
    assert live_person_of("ann-phone") == ann
    assert Person.objects.get(user_id="mallory-7").pk != ann.pk


def test_a_user_hash_of_the_id_as_the_customer_holds_it_verifies(post, shop):
    decomposed = "Jose\u0301-9"  # the customer's system keeps NFD; Onefold stores NFC

    response = post("identify", {"anonymous_id": "j-dev", "user_id": decomposed,
                                 "user_hash": user_hash(site=shop, user_id=decomposed)},
                    key=shop.plain_key)

    assert response.status_code == 200
    assert trust_of("user_id", "José-9") == {IdentityTrust.VERIFIED}
