"""Hand-made demo people: every case the product handles, each easy to find in the admin.

Their activities go through the same services as a website's (`track`, `chat_message`; an
imported purchase through the same recording path), so their counters (page views, visits,
first and last seen, last heard from) and their profiling (sources, pages, products,
purchases, email offers) are what the timeline says, and their chat messages have the live
shape. What no website call records — support's chat replies, a deal, a tag, how long ago a
profile was last updated (the base-selection rules) — is written here."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from profiles.models import (
    Activity,
    ActivityKind,
    ActivitySource,
    Conversation,
    Deal,
    Identity,
    Person,
    PersonStatus,
    PersonTag,
    Tag,
)
from profiles.services.chat import chat_message
from profiles.services.events import Event, record_events
from profiles.services.people import create_person
from profiles.services.resolution import lock_live
from profiles.services.tracking import track

SHOWCASE_REASON = "seeded demo data"


def _identity(person: Person, kind: str, value: str) -> Identity:
    return Identity.objects.create(person=person, original_person=person, kind=kind, value=value)


def _ago(delta: timedelta) -> datetime:
    return timezone.now() - delta


def _visit(device: dict, pages: list[dict], start: timedelta, kind: str = "page_view") -> None:
    """A visit: one event a minute from `start` ago, recorded as a website records them."""
    for index, properties in enumerate(pages):
        track(**device, kind=kind, properties=properties,
              occurred_at=_ago(start) + timedelta(minutes=index))


def _chat(device: dict, lines: list[tuple[str, str]], start: timedelta) -> Conversation:
    """A chat: the visitor's lines through the chat service (as the website sends them),
    support's replies on the same conversation, one a minute."""
    conversation = None
    for index, (author, text) in enumerate(lines):
        at = _ago(start) + timedelta(minutes=index)
        if author == "visitor":
            message = chat_message(**device, text=text, occurred_at=at)
            conversation = message.conversation
        else:
            _reply(conversation, text, at)
    return conversation


def _reply(conversation: Conversation, text: str, at: datetime) -> None:
    """Support answering in the chat: we reached them (last contacted), they were not seen."""
    Activity.objects.create(
        person_id=conversation.person_id, original_person_id=conversation.person_id,
        kind=ActivityKind.CHAT_MESSAGE, source=ActivitySource.CHAT, conversation=conversation,
        occurred_at=at, properties={"text": text, "author": "agent"},
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=at)
    Person.objects.filter(pk=conversation.person_id).update(last_contacted=at)


def _imported_purchase(person: Person, at: datetime, properties: dict) -> None:
    """A purchase made in a shop, as an import records it (the same recording path)."""
    record_events(person=lock_live(person.pk), events=[Event(
        kind=ActivityKind.PURCHASE, occurred_at=at, properties=properties,
        source=ActivitySource.IMPORT)])


def _person(updated_days_ago: int = 0, **fields) -> Person:
    person = create_person(**fields)  # a user ID gets its identity here
    _set_updated(person, updated_days_ago)
    return person


def _set_updated(person: Person, days_ago: int) -> None:
    """When the profile was last updated (the base-selection rules compare it)."""
    Person.objects.filter(pk=person.pk).update(updated_at=_ago(timedelta(days=days_ago)))


def _refreshed(*people: Person) -> None:
    for person in people:
        person.refresh_from_db()


def _shop_visit(device: dict, start: timedelta) -> None:
    _visit(device, [
        {"url": "https://shop.example.com/?utm_source=newsletter&utm_medium=email"
                "&utm_campaign=spring-sale", "title": "Otter & Co.",
         "referrer": "https://www.google.com/search?q=running+shoes"},
        {"url": "https://shop.example.com/shoes", "title": "Shoes", "category": "Shoes"},
        {"url": "https://shop.example.com/shoes/runner-2", "title": "Runner 2",
         "category": "Shoes", "product": "Runner 2"},
    ], start)


@transaction.atomic
def build_showcase() -> dict[str, list[int]]:
    """Create one example of each case; returns the ids of the people per case."""
    cases: dict[str, list[int]] = {}

    chatty = {"anonymous_id": "demo-anon-chatty"}
    _shop_visit(chatty, timedelta(minutes=30))
    _chat(chatty, [("visitor", "Hi! Do the Runner 2 come in size 44?"),
                   ("agent", "They do, in blue and black."),
                   ("visitor", "Great, thanks!")], timedelta(minutes=20))
    visitor = Identity.objects.get(kind="anonymous_id", value="demo-anon-chatty").person
    cases["anonymous_with_chat"] = [visitor.pk]

    devices = _person(user_id="demo-u-200", email="maya.ortiz@example.com", name="Maya Ortiz")
    phone = {"anonymous_id": "demo-anon-maya-phone"}
    laptop = {"anonymous_id": "demo-anon-maya-laptop"}
    for device in (phone, laptop):
        _identity(devices, "anonymous_id", device["anonymous_id"])
    bags = [{"url": "https://shop.example.com/bags", "title": "Bags", "category": "Bags"},
            {"url": "https://shop.example.com/bags/tote", "title": "Tote", "category": "Bags",
             "product": "Tote"}]
    _visit(phone, bags, timedelta(days=3))
    _chat(phone, [("visitor", "Started this chat on my phone"), ("agent", "Welcome back, Maya!")],
          timedelta(days=3, minutes=-5))
    _visit(laptop, bags, timedelta(days=1))
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
                            name="Leo (visitor)")
    _identity(older_visitor, "anonymous_id", "demo-anon-leo")
    _visit({"anonymous_id": "demo-anon-leo"},
           [{"url": f"https://shop.example.com/sale?page={n}", "title": "Sale"}
            for n in range(1, 8)], timedelta(days=95))
    newer_user = _person(email="Leo@Example.com", status=PersonStatus.USER, name="",
                         company="Leo & Co")
    older_user = _person(email="leo@example.com ", status=PersonStatus.USER,
                         name="Leo Martin", city="Nantes")
    for person, days in ((older_visitor, 90), (newer_user, 2), (older_user, 30)):
        _set_updated(person, days)
    cases["visitor_vs_user_last_updated"] = [older_visitor.pk, newer_user.pk, older_user.pk]

    buyer = _person(email="ines@example.com", name="Inès Duval", user_id="demo-u-400")
    shopper = {"user_id": "demo-u-400"}
    # In time order, as they happened: a visit starts after half an hour without activity.
    _imported_purchase(buyer, _ago(timedelta(days=40)), {
        "amount": 59, "currency": "EUR", "channel": "store", "order_id": "S-0311",
        "products": ["Trail socks", "Insoles"]})
    _shop_visit(shopper, timedelta(days=3, minutes=10))
    track(**shopper, kind="purchase", occurred_at=_ago(timedelta(days=3)), properties={
        "amount": 129, "currency": "EUR", "channel": "online", "order_id": "W-1043",
        "products": [{"name": "Runner 2", "quantity": 1}]})
    for minutes, kind in ((30, "email_sent"), (20, "email_opened"), (10, "email_clicked")):
        track(**shopper, kind=kind, occurred_at=_ago(timedelta(days=1, minutes=minutes)),
              properties={"campaign": "spring-sale", "subject": "Spring sale: 20% off runners",
                          **({"url": "https://shop.example.com/sale"}
                             if kind == "email_clicked" else {})})
    Deal.objects.create(person=buyer, original_person=buyer, title="Spring wholesale order",
                        amount=1200)
    vip, _ = Tag.objects.get_or_create(name="vip", defaults={"color": "#e76f51"})
    PersonTag.objects.create(person=buyer, original_person=buyer, tag=vip)
    cases["purchases_and_email_offers"] = [buyer.pk]
    _refreshed(devices, *ann, *conflict, older_visitor, newer_user, older_user, buyer)
    return cases
