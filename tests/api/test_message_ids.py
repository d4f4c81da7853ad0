"""message_ids cannot be squatted: a resend is the same event only from the same sender.

Issue 12, finding 4: a message_id alone proved nothing, so whoever sent "order-…-1001" first
made the real purchase a "duplicate" of theirs (lost), or a 409 forever, and the answer handed
out the first sender's person and activity ids.
"""

from __future__ import annotations

import pytest

from profiles.models import Activity, ActivityKind, Person
from profiles.services import identify

pytestmark = pytest.mark.django_db

PURCHASE = {"user_id": "victim-1", "kind": "purchase", "message_id": "order-2026-1001",
            "properties": {"amount": 4999, "currency": "EUR"}}


def purchases_of(user_id: str) -> list[Activity]:
    return list(Activity.objects.filter(person__user_id=user_id, kind=ActivityKind.PURCHASE))


def test_a_squatted_message_id_never_loses_the_real_purchase(post):
    identify(user_id="victim-1", email="victim@corp.example")
    squat = post("track", {"anonymous_id": "attacker-dev", "kind": "purchase",
                           "message_id": "order-2026-1001", "properties": {"amount": 1}})

    real = post("track", PURCHASE)

    assert squat.status_code == real.status_code == 200
    [purchase] = purchases_of("victim-1")
    assert purchase.properties["amount"] == 4999
    victim = Person.objects.get(user_id="victim-1")
    assert victim.attributes["purchases"]["count"] == 1


@pytest.mark.parametrize("squat", [
    {"type": "chat", "anonymous_id": "attacker-dev", "text": "hello"},
    {"type": "identify", "anonymous_id": "attacker-dev", "user_id": "attacker"},
    {"type": "track", "anonymous_id": "attacker-dev", "kind": "event",
     "properties": {"name": "x"}},
])
def test_a_message_id_squatted_by_another_kind_of_event_is_no_409(post, squat):
    path = squat.pop("type")
    assert post(path, {**squat, "message_id": "order-2026-1001"}).status_code == 200

    for _ in range(2):  # the real purchase, and a later one reusing the ID: never refused
        response = post("track", PURCHASE)
        assert response.status_code == 200, response.json()

    assert len(purchases_of("victim-1")) == 1  # the second was the first's resend


def test_the_answer_says_nothing_about_who_sent_a_message_id_first(post):
    post("track", PURCHASE)
    fresh = post("track", {**PURCHASE, "message_id": "order-never-seen"})

    replayed = post("track", {**PURCHASE, "user_id": "attacker", "anonymous_id": "attacker-dev"})

    assert replayed.content == fresh.content  # no person, activity or "duplicate" to read
    assert "person_id" not in replayed.json() and "activity_id" not in replayed.json()
    assert len(purchases_of("victim-1")) == 2 and len(purchases_of("attacker")) == 1


def test_a_resend_from_the_same_sender_is_recorded_once(post):
    first = post("track", PURCHASE)
    again = post("track", PURCHASE)

    assert first.content == again.content
    assert len(purchases_of("victim-1")) == 1


@pytest.mark.parametrize("change", [
    {"properties": {"amount": 1, "currency": "EUR"}},  # other content
    {"anonymous_id": "victim-laptop"},  # another device named
    {"occurred_at": "2026-01-01T10:00:00Z"},  # another moment
])
def test_the_same_message_id_with_anything_else_changed_is_another_event(post, change):
    post("track", PURCHASE)

    post("track", {**PURCHASE, **change})

    assert Activity.objects.filter(message_id="order-2026-1001").count() == 2


def test_a_resent_identify_from_another_device_is_its_own_identify(post):
    post("identify", {"anonymous_id": "dev-a", "user_id": "u-1", "message_id": "i-1"})
    post("identify", {"anonymous_id": "dev-b", "user_id": "u-1", "message_id": "i-1"})

    assert Activity.objects.filter(kind=ActivityKind.IDENTIFY).count() == 2
    assert Person.objects.get(user_id="u-1").identities.filter(kind="anonymous_id").count() == 2
