"""chat_message(): the conversation follows the person; an email in chat is learned."""

from __future__ import annotations

import pytest
from django.test import override_settings

from profiles.models import Activity, Conversation, Identity, IdentityKind, Person, PersonStatus
from profiles.services import chat_message, identify, track
from profiles.services.chat import email_in_text
from profiles.services.validation import InvalidInput

pytestmark = pytest.mark.django_db


class FakeProvider:
    calls: list[str] = []

    def enrich(self, *, email: str) -> dict:
        FakeProvider.calls.append(email)
        return {"company": "Otter & Co", "name": "Should not win", "attributes": {"x": "@otter"}}


def test_first_message_starts_a_conversation_on_an_anonymous_profile():
    message = chat_message(anonymous_id="d", text="Hello?")

    person = message.person
    assert person.is_anonymous and person.name
    assert message.conversation.person_id == person.pk
    assert message.properties == {"text": "Hello?", "author": "visitor"}
    assert person.last_heard_from == message.occurred_at


def test_messages_continue_the_same_conversation():
    first = chat_message(anonymous_id="d", text="Hello?")
    second = chat_message(anonymous_id="d", text="Anyone there?")

    assert first.conversation_id == second.conversation_id
    assert Conversation.objects.count() == 1


def test_conversation_continues_on_another_device_once_stitched():
    phone = chat_message(anonymous_id="phone", text="Hi from my phone")
    identify(anonymous_id="phone", user_id="u-1")
    identify(anonymous_id="laptop", user_id="u-1")

    laptop = chat_message(anonymous_id="laptop", text="Now on my laptop")

    assert laptop.person_id == phone.person_id
    assert laptop.conversation_id == phone.conversation_id


def test_both_devices_history_ends_on_one_person_after_stitching():
    chat_message(anonymous_id="phone", text="phone says hi")
    chat_message(anonymous_id="laptop", text="laptop says hi")
    identify(anonymous_id="phone", user_id="u-1")
    person = identify(anonymous_id="laptop", user_id="u-1")

    texts = set(person.activities.filter(kind="chat_message").values_list("properties__text",
                                                                            flat=True))
    assert texts == {"phone says hi", "laptop says hi"}


def test_email_written_in_chat_sets_the_email_but_not_the_status():
    message = chat_message(anonymous_id="d", text="Reach me at Zoe@Example.com, thanks.")

    person = Person.objects.get(pk=message.person_id)
    assert person.email == "Zoe@Example.com"
    assert person.status == PersonStatus.VISITOR
    assert Identity.objects.filter(person=person, kind=IdentityKind.EMAIL,
                                   value="zoe@example.com").exists()
    assert person.history.filter(history_change_reason="email left in chat").exists()


def test_email_in_chat_never_overwrites_an_existing_email():
    identify(anonymous_id="d", email="first@example.com")
    chat_message(anonymous_id="d", text="also second@example.com")

    person = Person.objects.get()
    assert person.email == "first@example.com"
    assert set(person.identities.filter(kind="email").values_list("value", flat=True)) == {
        "first@example.com", "second@example.com"}


def test_enrichment_is_off_by_default(django_capture_on_commit_callbacks):
    FakeProvider.calls = []
    with django_capture_on_commit_callbacks(execute=True):
        chat_message(anonymous_id="d", text="me@example.com")
    assert FakeProvider.calls == []


@override_settings(ONEFOLD_ENRICHMENT_PROVIDER="tests.profiles.test_chat.FakeProvider")
def test_enrichment_provider_fills_only_missing_fields_after_commit(
    django_capture_on_commit_callbacks,
):
    FakeProvider.calls = []
    identify(anonymous_id="d", email="other@example.com", traits={"name": "Zoe"})
    with django_capture_on_commit_callbacks(execute=True):
        chat_message(anonymous_id="x", text="me@example.com")

    assert FakeProvider.calls == ["me@example.com"]
    person = Person.objects.get(email="me@example.com")
    assert person.company == "Otter & Co"
    assert person.attributes["x"] == "@otter"


@override_settings(ONEFOLD_ENRICHMENT_PROVIDER="tests.profiles.test_chat.FakeProvider")
def test_enrichment_reaches_the_profile_a_merge_made_before_it_ran(
    django_capture_on_commit_callbacks,
):
    from django.db import transaction

    from profiles.services import merge_people

    FakeProvider.calls = []
    identify(anonymous_id="phone", user_id="u-1")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        chat_message(anonymous_id="laptop", text="it's me@example.com")
        laptop = Person.objects.get(identities__value="laptop")
        merge_people(base=Person.objects.get(user_id="u-1"), others=[laptop], reason="identify")

    assert FakeProvider.calls == ["me@example.com"]
    assert Person.objects.get(user_id="u-1").company == "Otter & Co"


def test_retried_message_is_recorded_once():
    first = chat_message(anonymous_id="d", text="hi", message_id="c-1")
    again = chat_message(anonymous_id="d", text="hi", message_id="c-1")

    assert first.pk == again.pk and Activity.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me: ann.lee+shop@mail.example.org.", "ann.lee+shop@mail.example.org"),
        ("no email here @ all", None),
        ("a@b", None),
    ],
)
def test_email_in_text(text, expected):
    assert email_in_text(text) == expected


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"anonymous_id": "d", "text": "   "}, "text"),
        ({"anonymous_id": "d", "text": 5}, "text"),
        ({"anonymous_id": "d", "text": "x" * 10_001}, "text"),
        ({"anonymous_id": "d", "text": "hi\x00"}, "text"),
        ({"anonymous_id": "null", "text": "hi"}, "anonymous_id"),
        ({"text": "hi"}, "anonymous_id"),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_written(arguments, field):
    with pytest.raises(InvalidInput) as caught:
        chat_message(**arguments)

    assert caught.value.field == field
    assert Person.objects.count() == 0 and Conversation.objects.count() == 0


class BrokenProvider:
    def enrich(self, *, email: str) -> dict:
        raise TimeoutError("the outside service is down")


@override_settings(ONEFOLD_ENRICHMENT_PROVIDER="tests.profiles.test_chat.BrokenProvider")
def test_a_failing_enrichment_provider_never_loses_the_message(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        message = chat_message(anonymous_id="d", text="me@example.com")

    assert Activity.objects.filter(pk=message.pk).exists()
    assert Person.objects.get().email == "me@example.com"


def test_an_email_is_found_quickly_in_a_long_message_and_not_in_a_urls_password():
    # (The old single pattern backtracked over every position of a long word: ~1 s here.)
    assert email_in_text("a" * 20_000 + " write to me: ann@example.com") == "ann@example.com"
    assert email_in_text("x" * 20_000 + "@") is None
    assert email_in_text("see http://user:pw@host.example/x") is None
    assert email_in_text("mail ME@Example.co.uk.") == "ME@Example.co.uk"


def test_a_message_id_used_by_another_kind_of_event_is_another_event():
    track(anonymous_id="d", kind="page_view", message_id="m-1")

    chat_message(anonymous_id="d", text="hi", message_id="m-1")
    track(anonymous_id="d", kind="event", properties={"name": "x"}, message_id="m-1")

    assert Activity.objects.filter(message_id="m-1").count() == 3


def test_a_local_part_too_long_for_an_address_is_not_cut_into_one():
    assert email_in_text("x" * 70 + "@example.com") is None
    assert email_in_text("x" * 64 + "@example.com") == "x" * 64 + "@example.com"
