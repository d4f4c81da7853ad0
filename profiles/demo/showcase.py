"""Hand-made demo people: every case the product handles, each easy to find in the admin."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from profiles.models import (
    Activity,
    Conversation,
    Deal,
    Identity,
    Person,
    PersonStatus,
    PersonTag,
    Tag,
)
from profiles.services.people import create_person

SHOWCASE_REASON = "seeded demo data"


def _identity(person: Person, kind: str, value: str) -> Identity:
    return Identity.objects.create(person=person, original_person=person, kind=kind, value=value)


def _activity(person: Person, kind: str, ago: timedelta, source: str = "web", **props) -> None:
    Activity.objects.create(
        person=person, original_person=person, kind=kind, source=source,
        occurred_at=timezone.now() - ago, properties=props,
    )


def _chat(person: Person, lines: list[str], ago: timedelta) -> Conversation:
    started = timezone.now() - ago
    conversation = Conversation.objects.create(
        person=person, original_person=person, started_at=started, last_message_at=started
    )
    for index, text in enumerate(lines):
        Activity.objects.create(
            person=person, original_person=person, kind="chat_message", source="chat",
            conversation=conversation, occurred_at=started + timedelta(minutes=index),
            properties={"text": text, "from": "visitor" if index % 2 == 0 else "agent"},
        )
    return conversation


def _person(updated_days_ago: int = 0, **fields) -> Person:
    person = create_person(**fields)  # a user ID gets its identity here
    now = timezone.now()
    Person.objects.filter(pk=person.pk).update(
        updated_at=now - timedelta(days=updated_days_ago),
        first_seen=now - timedelta(days=updated_days_ago + 3),
        last_seen=now - timedelta(hours=updated_days_ago * 24 + 1),
    )
    person.refresh_from_db()
    return person


@transaction.atomic
def build_showcase() -> dict[str, list[int]]:
    """Create one example of each case; returns the ids of the people per case."""
    cases: dict[str, list[int]] = {}

    visitor = _person(page_views=3, visits=1)
    _identity(visitor, "anonymous_id", "demo-anon-chatty")
    for page in ("/", "/shoes", "/shoes/runner-2"):
        _activity(visitor, "page_view", timedelta(minutes=30), url=page, referrer="google.com")
    _chat(visitor, ["Hi! Do the Runner 2 come in size 44?", "They do, in blue and black."],
          timedelta(minutes=20))
    cases["anonymous_with_chat"] = [visitor.pk]

    devices = _person(user_id="demo-u-200", email="maya.ortiz@example.com",
                      name="Maya Ortiz", page_views=4, visits=2)
    for device, os_name in (("demo-anon-maya-phone", "iOS"), ("demo-anon-maya-laptop", "macOS")):
        _identity(devices, "anonymous_id", device)
        _activity(devices, "page_view", timedelta(hours=2), url="/bags", device=os_name)
    _chat(devices, ["Started this chat on my phone", "Welcome back, Maya!"], timedelta(hours=3))
    cases["one_person_two_devices"] = [devices.pk]

    variants = [" Ann.Lee@Example.com", "ann.lee@example.com", "ANN.LEE@EXAMPLE.COM  "]
    ann = [
        _person(email=email, name=name, updated_days_ago=days, city=city, phone=phone)
        for email, name, days, city, phone in zip(
            variants, ["Ann Lee", "", "A. Lee"], [40, 10, 5], ["", "Lyon", "Paris"],
            ["", "", "+33 6 12 34 56 78"], strict=True,
        )
    ]
    cases["same_email_case_and_whitespace"] = [p.pk for p in ann]

    conflict = [
        _person(email="sam@example.com", user_id=uid, name=name)
        for uid, name in (("demo-u-301", "Sam Jones"), ("demo-u-302", "Samantha Jones"))
    ]
    cases["same_email_different_user_ids"] = [p.pk for p in conflict]

    older_visitor = _person(email="leo@example.com", status=PersonStatus.VISITOR,
                            name="Leo (visitor)", updated_days_ago=90, page_views=7)
    newer_user = _person(email="Leo@Example.com", status=PersonStatus.USER, name="",
                         updated_days_ago=2, page_views=2, company="Leo & Co")
    older_user = _person(email="leo@example.com ", status=PersonStatus.USER,
                         name="Leo Martin", updated_days_ago=30, city="Nantes")
    cases["visitor_vs_user_last_updated"] = [older_visitor.pk, newer_user.pk, older_user.pk]

    buyer = _person(email="ines@example.com", name="Inès Duval", user_id="demo-u-400")
    _activity(buyer, "purchase", timedelta(days=3), amount=129, currency="EUR", channel="online")
    _activity(buyer, "purchase", timedelta(days=40), source="import", amount=59,
              currency="EUR", channel="store")
    for kind in ("email_sent", "email_opened", "email_clicked"):
        _activity(buyer, kind, timedelta(days=1), source="email", campaign="spring-sale")
    Deal.objects.create(person=buyer, original_person=buyer, title="Spring wholesale order",
                        amount=1200)
    vip, _ = Tag.objects.get_or_create(name="vip", defaults={"color": "#e76f51"})
    PersonTag.objects.create(person=buyer, original_person=buyer, tag=vip)
    cases["purchases_and_email_offers"] = [buyer.pk]
    return cases
