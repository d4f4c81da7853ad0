"""The person page's timeline: each activity a sentence with its facts, never a dict repr;
every value escaped; a URL a link only when it is http(s)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from profiles.admin.plain import safe_url
from profiles.admin.timeline import RENDERERS, entries
from profiles.models import Activity, ActivityKind
from profiles.services import merge_people, track, undo_merge
from profiles.services.chat import chat_message
from tests.factories import ActivityFactory, PersonFactory
from tests.profiles.admin_helpers import change_url

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("x")</script>'
# A property of each kind the sentence uses, holding markup that must come out escaped.
SAMPLES = {
    ActivityKind.PAGE_VIEW: {"url": "https://shop.example.com/a", "title": EVIL},
    ActivityKind.EVENT: {"name": EVIL, "plan": "pro"},
    ActivityKind.CHAT_MESSAGE: {"text": EVIL, "author": "visitor"},
    ActivityKind.EMAIL_SENT: {"subject": EVIL, "campaign": "spring"},
    ActivityKind.EMAIL_OPENED: {"subject": EVIL},
    ActivityKind.EMAIL_CLICKED: {"campaign": EVIL, "url": "https://shop.example.com/sale"},
    ActivityKind.PURCHASE: {"amount": 129, "currency": "EUR", "products": [EVIL, "Socks"]},
    ActivityKind.DEAL: {"title": EVIL, "amount": 1200},
    ActivityKind.NOTE: {"text": EVIL},
    ActivityKind.TAG_ADDED: {"tag": EVIL},
    ActivityKind.SEGMENT_ENTERED: {"segment": EVIL},
    ActivityKind.SEGMENT_LEFT: {"segment": {"name": EVIL}},
    ActivityKind.IDENTIFY: {"user_id": EVIL, "email": "ann@example.com"},
    ActivityKind.MERGED: {"merged_ids": [], "merge_record": 1, "reason": "manual",
                          "actor": EVIL},
}
REPR = re.compile(r"\{'|': |\['")  # what a Python dict or list repr looks like


def test_every_activity_kind_has_a_renderer():
    missing = [kind for kind in ActivityKind.values if kind not in RENDERERS]
    assert missing == [], f"no timeline renderer for: {', '.join(missing)}"
    assert set(SAMPLES) == set(ActivityKind.values), "add a sample for the new kind above"


@pytest.mark.parametrize("kind", ActivityKind.values)
def test_each_kind_reads_as_a_sentence_with_markup_escaped(kind):
    activity = ActivityFactory(kind=kind, properties=SAMPLES[kind])

    [entry] = entries([activity])

    html = f"{entry.sentence} {entry.details}"
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not REPR.search(html), html
    assert entry.kind_label == dict(ActivityKind.choices)[kind]


def test_the_sentences_say_what_happened():
    ann = PersonFactory(name="Ann Lee")
    other = PersonFactory(name="Ann L.")
    record = merge_people(base=ann, others=[other], reason="manual")
    track(user_id=None, anonymous_id="dev-1", kind="page_view",
          properties={"url": "https://shop.example.com/shoes", "title": "Shoes",
                      "referrer": "https://www.google.com/"})
    rows = {
        kind: entries([ActivityFactory(kind=kind, properties=props)], ann)[0]
        for kind, props in [
            ("purchase", {"amount": 129, "currency": "EUR",
                          "products": [{"name": "Runner 2", "quantity": 2}, "Socks"]}),
            ("email_sent", {"subject": "Spring sale", "campaign": "spring"}),
            ("identify", {"user_id": "customer-42", "anonymous_id": "dev-1"}),
            ("segment_entered", {"segment": "Big spenders"}),
            ("chat_message", {"text": "Hello", "author": "visitor"}),
            ("event", {"name": "Signed up", "plan": "pro", "seats": 3}),
        ]
    }
    merged = entries(Activity.objects.filter(person=ann, kind="merged"), ann)[0]
    page = entries(Activity.objects.filter(kind="page_view"))[0]

    assert str(rows["purchase"].sentence) == "Bought for 129.00 EUR: 2 × Runner 2, Socks"
    assert str(rows["email_sent"].sentence) == "Was sent an email: “Spring sale”"
    assert "campaign: spring" in str(rows["email_sent"].details)
    assert str(rows["identify"].sentence) == "Identified as customer-42"
    assert str(rows["segment_entered"].sentence) == "Segment entered: “Big spenders”"
    assert "Ann Lee wrote" in str(rows["chat_message"].sentence)
    assert "chat-bubble" in str(rows["chat_message"].sentence)
    assert str(rows["event"].sentence) == "Did “Signed up”"
    assert "plan: pro" in str(rows["event"].details) and "seats: 3" in str(rows["event"].details)
    journal = reverse("admin:profiles_mergerecord_change", args=[record.pk])
    assert str(merged.sentence) == (
        f'Merged with <a href="{change_url(other)}">Ann L. (#{other.pk})</a> — '
        f'<a href="{journal}">journal #{record.pk}</a>')
    assert 'href="https://shop.example.com/shoes"' in str(page.sentence)
    assert ">Shoes</a>" in str(page.sentence)
    assert 'from <a href="https://www.google.com/"' in str(page.details)


def test_an_undone_merge_names_who_is_separate_again():
    ann, other = PersonFactory(name="Ann Lee"), PersonFactory(name="A. Lee")
    record = merge_people(base=ann, others=[other], reason="manual")
    undo_merge(record=record)

    [note] = entries(Activity.objects.filter(person=ann, kind="note"), ann)

    assert f"A. Lee (#{other.pk})" in str(note.sentence)
    assert f"journal #{record.pk}" in str(note.sentence)


def test_live_and_seeded_chat_messages_name_who_wrote_them():
    message = chat_message(anonymous_id="dev-chat", text="Size 44?")
    reply = ActivityFactory(person=message.person, kind="chat_message",
                            properties={"text": "Yes!", "author": "agent"})
    legacy = ActivityFactory(person=message.person, kind="chat_message",
                             properties={"text": "Old", "from": "agent"})

    rows = entries([message, reply, legacy], message.person)

    assert f"{message.person.display_name} wrote" in str(rows[0].sentence)
    assert "chat-visitor" in str(rows[0].sentence)
    assert "Support wrote" in str(rows[1].sentence) and "chat-agent" in str(rows[1].sentence)
    assert "Support wrote" in str(rows[2].sentence)


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
    "java\tscript:alert(1)", "java\nscript:alert(1)", "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.example/x",
    "/shoes", "https:evil", "http://", "https://a b.example/",
])
def test_a_url_that_is_not_http_is_never_a_link(url):
    activity = ActivityFactory(kind="page_view", properties={"url": url, "referrer": url})

    [entry] = entries([activity])

    html = f"{entry.sentence} {entry.details}"
    assert "href" not in html
    assert safe_url(url) is None


def test_long_values_are_shown_whole():
    text = "word " * 400 + "x" * 3000
    activity = ActivityFactory(kind="chat_message", properties={"text": text})

    [entry] = entries([activity])

    assert text in str(entry.sentence)


@pytest.mark.parametrize("properties", [
    [], "text", 7, None, {"url": 7, "title": ["a"], "referrer": {"x": 1}},
    {"amount": "n/a", "products": {"a": 1}}, {"merged_ids": "1,2", "merge_record": "x"},
    {"undone_merge": True, "restored_ids": [None, "2"]}, {"name": None, "nested": {"a": [1]}},
])
@pytest.mark.parametrize("kind", [*ActivityKind.values, "something_new"])
def test_odd_properties_never_fail_a_row(kind, properties):
    activity = Activity(kind=kind, properties=properties, person_id=1, original_person_id=1)
    activity.occurred_at = ActivityFactory.build().occurred_at

    [entry] = entries([activity])

    assert not REPR.search(f"{entry.sentence} {entry.details}")


def test_an_unknown_kind_falls_back_to_its_properties_as_words():
    activity = ActivityFactory(kind="loyalty_points", properties={"points": 120, "tier": "gold"})

    [entry] = entries([activity])

    assert entry.kind_label == "loyalty points"
    assert "points: 120" in str(entry.details) and "tier: gold" in str(entry.details)


def test_the_person_page_shows_the_timeline_as_sentences(admin_client):
    person = PersonFactory(name="Bea")
    ActivityFactory(person=person, kind="purchase",
                    properties={"amount": 10, "currency": "EUR", "products": ["Hat"]})
    ActivityFactory(person=person, kind="page_view",
                    properties={"url": "javascript:alert(1)", "title": EVIL})

    html = admin_client.get(change_url(person)).content.decode()
    timeline = html[html.index('id="timeline"'):]

    assert "Bought for 10.00 EUR: Hat" in timeline
    assert "javascript:alert(1)" in timeline and 'href="javascript' not in timeline
    assert "<script>alert" not in timeline
    assert "{'" not in timeline
