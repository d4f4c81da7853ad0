"""Batch semantics (all or nothing, in order) and its interplay with merges, chat continuity,
and races between batches, identify, admin merges and undo (PostgreSQL threads)."""

from __future__ import annotations

import random

import pytest

from profiles.models import Activity, ActivityKind, Conversation, Person
from profiles.services import chat_message, identify, track
from profiles.services.ingestion import clean_batch, record_batch
from profiles.services.merging import invariant_problems, merge_people, undo_merge
from tests.api.conftest import row_counts
from tests.api.test_concurrency import run_threads

# --- Batch semantics over HTTP ---------------------------------------------------------------


@pytest.mark.django_db
def test_one_bad_event_rejects_the_whole_batch_by_index(post):
    identify(user_id="u-1")
    before = row_counts()
    response = post("batch", {"batch": [
        {"type": "track", "anonymous_id": "dev-a", "kind": "page_view"},
        {"type": "identify", "anonymous_id": "dev-a", "user_id": "u-1"},
        {"type": "chat", "anonymous_id": "dev-a", "text": "hi"},
        {"type": "track", "anonymous_id": "dev-a", "kind": "page_view", "occurred_at": "bad"},
    ]})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "batch[3].occurred_at"
    assert row_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("kinds", [("track", "chat"), ("chat", "track"), ("identify", "track"),
                                   ("track", "identify"), ("chat", "identify")])
def test_one_message_id_for_two_kinds_in_a_batch_records_both(post, kinds):
    events = {
        "track": {"type": "track", "anonymous_id": "dev-a", "kind": "page_view"},
        "chat": {"type": "chat", "anonymous_id": "dev-a", "text": "hello"},
        "identify": {"type": "identify", "anonymous_id": "dev-a", "user_id": "u-9"},
    }
    response = post("batch", {"batch": [
        {"type": "track", "anonymous_id": "other", "kind": "page_view"},
        {**events[kinds[0]], "message_id": "m-1"},
        {**events[kinds[1]], "message_id": "m-1"},
    ]})
    assert response.status_code == 200, response.json()
    assert response.json() == {"ok": True}
    recorded = sorted(Activity.objects.filter(message_id="m-1").values_list("kind", flat=True))
    assert recorded == sorted({"track": "page_view", "chat": "chat_message",
                               "identify": "identify"}[kind] for kind in kinds)


@pytest.mark.django_db
def test_one_message_id_twice_for_one_kind_in_a_batch_is_recorded_once(post):
    response = post("batch", {"batch": [
        {"type": "chat", "anonymous_id": "dev-a", "text": "hello", "message_id": "m-1"},
        {"type": "identify", "anonymous_id": "dev-a", "user_id": "u-1"},
        {"type": "chat", "anonymous_id": "dev-a", "text": "hello", "message_id": "m-1"},
    ]})
    assert response.status_code == 200
    assert Activity.objects.filter(kind=ActivityKind.CHAT_MESSAGE).count() == 1


@pytest.mark.django_db
def test_track_after_identify_in_the_same_batch_lands_on_the_user(post):
    user = identify(user_id="u-1", email="ann@example.com")
    track(anonymous_id="dev-a", kind="page_view")
    response = post("batch", {"batch": [
        {"type": "identify", "anonymous_id": "dev-a", "user_id": "u-1"},
        {"type": "track", "anonymous_id": "dev-a", "kind": "page_view"},
        {"type": "chat", "anonymous_id": "dev-a", "text": "hi"},
    ]})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.page_views == 2
    assert Activity.objects.filter(kind=ActivityKind.PAGE_VIEW, person=user).count() == 2
    assert Activity.objects.get(kind=ActivityKind.CHAT_MESSAGE).person_id == user.pk


@pytest.mark.django_db
def test_events_before_an_in_batch_merge_live_on_the_user_not_the_tombstone(post):
    user = identify(user_id="u-1", email="ann@example.com")
    response = post("batch", {"batch": [
        {"type": "track", "anonymous_id": "dev-a", "kind": "page_view"},
        {"type": "chat", "anonymous_id": "dev-a", "text": "hi there"},
        {"type": "identify", "anonymous_id": "dev-a", "user_id": "u-1"},
    ]})
    assert response.status_code == 200
    tombstones = set(Person.objects.filter(merged_into__isnull=False).values_list("pk", flat=True))
    assert len(tombstones) == 1
    moved = Activity.objects.filter(kind__in=[ActivityKind.PAGE_VIEW, ActivityKind.CHAT_MESSAGE])
    assert {activity.person_id for activity in moved} == {user.pk}
    assert Conversation.objects.get().person_id == user.pk


@pytest.mark.django_db
def test_two_users_on_one_device_in_one_batch_are_never_merged(post):
    response = post("batch", {"batch": [
        {"type": "track", "anonymous_id": "shared", "kind": "page_view"},
        {"type": "identify", "anonymous_id": "shared", "user_id": "alice"},
        {"type": "chat", "anonymous_id": "shared", "text": "alice here"},
        {"type": "identify", "anonymous_id": "shared", "user_id": "bob"},
        {"type": "track", "user_id": "bob", "kind": "page_view"},
        {"type": "chat", "user_id": "bob", "text": "bob here"},
    ]})
    assert response.status_code == 200
    alice = Person.objects.get(user_id="alice")
    bob = Person.objects.get(user_id="bob")
    assert alice.pk != bob.pk
    assert alice.merged_into_id is None and bob.merged_into_id is None
    assert sorted(alice.activities.values_list("kind", flat=True)) == [
        "chat_message", "identify", "page_view"]
    assert sorted(bob.activities.values_list("kind", flat=True)) == [
        "chat_message", "identify", "page_view"]
    assert alice.conversations.get().pk != bob.conversations.get().pk
    assert invariant_problems() == []


# --- Chat continuity ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_conversation_continues_on_any_device_once_stitched(post):
    first = chat_message(anonymous_id="phone", text="Hi from my phone")
    identify(anonymous_id="phone", user_id="u-1")
    response = post("batch", {"batch": [
        {"type": "identify", "anonymous_id": "laptop", "user_id": "u-1"},
        {"type": "chat", "anonymous_id": "laptop", "text": "Now on my laptop"},
    ]})
    assert response.status_code == 200
    laptop = Activity.objects.get(properties__text="Now on my laptop")
    assert laptop.conversation_id == first.conversation_id
    again = chat_message(anonymous_id="phone", text="back on the phone")
    assert again.conversation_id == first.conversation_id


@pytest.mark.django_db
def test_laptop_conversation_merged_in_then_both_devices_continue_the_latest():
    chat_message(anonymous_id="phone", text="old", occurred_at="2026-01-01T10:00:00Z")
    identify(anonymous_id="phone", user_id="u-1")
    later = chat_message(anonymous_id="laptop", text="newer", occurred_at="2026-01-02T10:00:00Z")
    identify(anonymous_id="laptop", user_id="u-1")
    message = chat_message(anonymous_id="phone", text="from the phone again")
    assert message.conversation_id == later.conversation_id


@pytest.mark.django_db
def test_messages_after_undo_of_an_identify_merge_follow_the_restored_device():
    from profiles.models import MergeRecord

    user = identify(user_id="u-1")
    user_conversation = chat_message(user_id="u-1", text="user's own").conversation_id
    device_conversation = chat_message(anonymous_id="dev", text="device's").conversation_id
    identify(anonymous_id="dev", user_id="u-1")
    merged = chat_message(anonymous_id="dev", text="after the merge")
    assert merged.person_id == user.pk
    undo_merge(record=MergeRecord.objects.get())
    device = Person.objects.get(identities__value="dev")
    assert device.pk != user.pk and device.merged_into_id is None
    after = chat_message(anonymous_id="dev", text="after the undo")
    assert after.person_id == device.pk
    assert after.conversation_id == device_conversation
    assert chat_message(user_id="u-1", text="user again").conversation_id in {
        user_conversation, merged.conversation_id}
    assert invariant_problems() == []


@pytest.mark.django_db
def test_chat_with_an_email_another_user_has_does_not_merge_or_fail(post):
    ann = identify(user_id="u-ann", email="ann@example.com")
    response = post("batch", {"batch": [
        {"type": "chat", "anonymous_id": "stranger", "text": "I am ann@example.com"},
    ]})
    assert response.status_code == 200
    stranger = Person.objects.get(identities__value="stranger")
    assert stranger.pk != ann.pk
    assert stranger.merged_into_id is None and not stranger.user_id
    assert stranger.status == "visitor"
    ann.refresh_from_db()
    assert ann.merged_into_id is None and ann.email == "ann@example.com"
    assert invariant_problems() == []


# --- Races on PostgreSQL ------------------------------------------------------------------------



def _site():
    from profiles.models import Site

    return Site.objects.create(name="race", rate_limit_per_minute=0,
                               require_identity_verification=False)


def _check_conservation(expected_views: int) -> None:
    views = Activity.objects.filter(kind=ActivityKind.PAGE_VIEW)
    assert views.count() == expected_views
    live = Person.objects.filter(merged_into__isnull=True)
    assert not Activity.objects.exclude(person__in=live).exists()
    for person in live:
        assert person.page_views == views.filter(person=person).count(), person.pk
    assert invariant_problems() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_batches_locking_two_people_in_opposite_orders_do_not_fail(round_):
    site = _site()
    track(anonymous_id="a", kind="page_view")
    track(anonymous_id="b", kind="page_view")

    def batch(first: str, second: str):
        def send() -> None:
            for _ in range(5):
                events = [
                    {"type": "track", "anonymous_id": first, "kind": "page_view"},
                    {"type": "chat", "anonymous_id": second, "text": "hi"},
                    {"type": "track", "anonymous_id": second, "kind": "page_view"},
                    {"type": "chat", "anonymous_id": first, "text": "hi"},
                ]
                record_batch(clean_batch(events, site=site), site=site)
        return send

    run_threads([batch("a", "b"), batch("b", "a"), batch("a", "b"), batch("b", "a")])
    _check_conservation(2 + 4 * 5 * 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_batches_race_admin_merges_and_undos_of_the_same_people():
    from profiles.models import MergeRecord

    site = _site()
    devices = [f"dev-{n}" for n in range(4)]
    for device in devices:
        track(anonymous_id=device, kind="page_view")
    ids = [Person.objects.get(identities__value=d).pk for d in devices]

    def send(seed: int):
        def run() -> None:
            rng = random.Random(seed)
            for _ in range(10):
                events = []
                for _ in range(12):
                    device = rng.choice(devices)
                    events.append(rng.choice([
                        {"type": "track", "anonymous_id": device, "kind": "page_view"},
                        {"type": "chat", "anonymous_id": device, "text": "hey"},
                    ]))
                record_batch(clean_batch(events, site=site), site=site)
        return run

    def admin() -> None:
        for _ in range(4):
            record = merge_people(base=ids[0], others=ids[1:])
            undo_merge(record=MergeRecord.objects.get(pk=record.pk))

    run_threads([send(1), send(2), send(3), admin])
    assert Person.objects.filter(merged_into__isnull=True).count() == 4
    batches_views = Activity.objects.filter(kind=ActivityKind.PAGE_VIEW).count()
    _check_conservation(batches_views)
    assert Activity.objects.filter(kind=ActivityKind.CHAT_MESSAGE).count() + batches_views \
        == 4 + 3 * 10 * 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_anonymous_events_from_threads_while_identify_merges_in_a_batch():
    site = _site()
    user = identify(user_id="u-1")
    track(anonymous_id="busy", kind="page_view")

    def sender() -> None:
        for _ in range(15):
            events = [{"type": "track", "anonymous_id": "busy", "kind": "page_view"},
                      {"type": "chat", "anonymous_id": "busy", "text": "x"}]
            record_batch(clean_batch(events, site=site), site=site)

    def identifier() -> None:
        record_batch(clean_batch([
            {"type": "track", "anonymous_id": "busy", "kind": "page_view"},
            {"type": "identify", "anonymous_id": "busy", "user_id": "u-1"},
            {"type": "track", "anonymous_id": "busy", "kind": "page_view"},
        ], site=site), site=site)

    run_threads([sender, sender, identifier])
    _check_conservation(1 + 2 * 15 + 2)
    assert list(Person.objects.filter(merged_into__isnull=True)) == [user]
    assert Conversation.objects.filter(person=user).exists()
