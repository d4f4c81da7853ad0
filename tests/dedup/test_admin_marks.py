"""Marking people as not the same person from the admin: the person page, the suspected
duplicates and the dedup conflicts; confirmation pages, permissions, plain messages."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from dedup.admin_marks import mark_url, remove_url
from dedup.models import DedupConflict, KeptApart
from dedup.services import run_dedup
from dedup.services.marks import keep_apart, kept_apart_pairs
from profiles.models import Identity, IdentityKind, IdentityTrust, PersonStatus
from tests.factories import PersonFactory, UserFactory
from tests.profiles.admin_helpers import PREVIEW, change_url, messages_of

pytestmark = pytest.mark.django_db

CONFLICTS = reverse("admin:dedup_dedupconflict_changelist")
DUPLICATES = reverse("admin:profiles_person_duplicates")


def staff(*perms: str):
    """A staff user with exactly these permissions ("app.codename")."""
    user = UserFactory()
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename))
    return user


@pytest.fixture
def marker(client):
    client.force_login(staff("profiles.view_person", "profiles.merge_person",
                             "dedup.add_keptapart", "dedup.delete_keptapart",
                             "dedup.view_dedupconflict"))
    return client


def test_the_mark_page_shows_who_and_asks_why_and_changes_nothing(marker):
    ann, bob = PersonFactory(name="Ann"), PersonFactory(name="Bob", user_id="u-9")

    page = marker.get(mark_url([ann.pk, bob.pk], next_url=change_url(ann)))

    text = page.content.decode()
    assert page.status_code == 200
    assert f"Ann (#{ann.pk}) and Bob (#{bob.pk}), each from every other" in text
    assert "user ID u-9" in text and 'name="reason"' in text and "required" in text
    assert not KeptApart.objects.exists()


def test_posting_the_mark_page_keeps_them_apart_logs_it_and_says_so(marker):
    ann, bob = PersonFactory(name="Ann"), PersonFactory(name="Bob")

    response = marker.post(reverse("admin:dedup_keptapart_mark"), {
        "ids": [ann.pk, bob.pk], "reason": "twins", "post": "yes", "next": change_url(ann)})

    assert response.status_code == 302 and response["Location"] == change_url(ann)
    assert kept_apart_pairs([ann.pk, bob.pk]) == {frozenset((ann.pk, bob.pk))}
    assert KeptApart.objects.get().reason == "twins"
    (message,) = messages_of(response)
    assert message.startswith(f"Marked as not the same person: Ann (#{ann.pk}) and Bob")
    assert "[" not in message
    assert LogEntry.objects.filter(object_id=str(ann.pk)).exists()


def test_a_mark_without_a_reason_is_refused_in_a_sentence(marker):
    ann, bob = PersonFactory.create_batch(2)

    response = marker.post(reverse("admin:dedup_keptapart_mark"),
                           {"ids": [ann.pk, bob.pk], "reason": " ", "post": "yes"})

    assert response.status_code == 200
    assert messages_of(response) == ["Nothing was marked: Say why (a reason is required)."]
    assert not KeptApart.objects.exists()


def test_the_mark_page_never_sends_staff_to_another_site(marker):
    ann, bob = PersonFactory.create_batch(2)

    response = marker.post(reverse("admin:dedup_keptapart_mark"), {
        "ids": [ann.pk, bob.pk], "reason": "x", "post": "yes", "next": "https://evil.example/"})

    assert response["Location"] == reverse("admin:profiles_person_changelist")


@pytest.mark.parametrize("perms", [(), ("dedup.view_keptapart", "profiles.merge_person")])
def test_marking_needs_the_add_permission(client, perms):
    client.force_login(staff(*perms))
    ann, bob = PersonFactory.create_batch(2)

    get = client.get(mark_url([ann.pk, bob.pk]))
    post = client.post(reverse("admin:dedup_keptapart_mark"),
                       {"ids": [ann.pk, bob.pk], "reason": "x", "post": "yes"})

    assert get.status_code == post.status_code == 403
    assert not KeptApart.objects.exists()


def test_removing_a_mark_needs_the_delete_permission_a_reason_and_keeps_the_record(client):
    ann, bob = PersonFactory.create_batch(2)
    (mark,) = keep_apart(people=[ann, bob], actor=None, reason="twins")
    client.force_login(staff("dedup.add_keptapart"))
    assert client.post(remove_url(mark), {"reason": "x", "post": "yes"}).status_code == 403

    remover = staff("dedup.delete_keptapart", "profiles.view_person")
    client.force_login(remover)
    page = client.get(remove_url(mark, next_url=change_url(ann)))
    assert "“twins”" in page.content.decode() and not KeptApart.objects.get().removed_at
    response = client.post(remove_url(mark), {"reason": "same person after all", "post": "yes",
                                               "next": change_url(ann)})

    mark.refresh_from_db()
    assert (mark.removed_by, mark.removal_reason) == (remover, "same person after all")
    assert response["Location"] == change_url(ann)
    assert "are no longer marked as different people" in messages_of(response)[0]


def test_the_person_page_lists_marks_and_offers_to_mark_a_suspect(marker):
    ann = PersonFactory(name="Ann", email="ann@x.io")
    sister = PersonFactory(name="Sis", email="ann@x.io")
    cousin = PersonFactory(name="Cousin", email="ann@x.io")
    keep_apart(people=[ann, sister], actor=None, reason="sisters")

    text = marker.get(change_url(ann)).content.decode()

    assert 'id="person-kept-apart"' in text and "“sisters”" in text
    assert "Remove the mark…" in text
    box = text[text.index('id="person-suspects"'):text.index('id="person-kept-apart"')]
    assert f"Cousin (#{cousin.pk})" in box and f"Sis (#{sister.pk})" not in box
    assert "Not the same person…" in box and 'id="mark-apart-form"' in text


def test_the_person_page_hides_mark_actions_without_the_permissions(client):
    client.force_login(staff("profiles.view_person", "profiles.change_person"))
    ann, _sister = PersonFactory(email="a@x.io"), PersonFactory(email="a@x.io")
    keep_apart(people=[ann], apart_from=[PersonFactory()], actor=None, reason="other")

    text = client.get(change_url(ann)).content.decode()

    assert "Not the same person…" not in text and "Remove the mark…" not in text
    assert 'id="person-kept-apart"' in text


def test_suspected_duplicates_never_offer_to_merge_a_group_with_different_user_ids(marker):
    a = PersonFactory(name="A", email="c@x.io", user_id="u-1")
    b = PersonFactory(name="B", email="c@x.io", user_id="u-2")
    c = PersonFactory(name="C", email="c@x.io")
    PersonFactory.create_batch(2, email="plain@x.io")

    text = marker.get(DUPLICATES).content.decode()

    group = text[text.index('data-key="c@x.io"'):]
    group = group[:group.index('data-key="plain@x.io"')] if 'data-key="plain@x.io"' in group \
        else group
    assert "Merge this group…" not in group
    assert f"{PREVIEW}?ids={a.pk}&amp;ids={c.pk}&amp;base={a.pk}" in group
    assert f"{PREVIEW}?ids={b.pk}&amp;ids={c.pk}&amp;base={b.pk}" in group
    assert "Mark as different people…" in group
    assert text.count("Merge this group…") == 1  # the plain group
    assert 'id="mark-selected-duplicates"' in text


def test_a_conflict_offers_what_can_be_done_and_shows_the_user_ids(marker):
    a = PersonFactory(name="A", email="c@x.io", user_id="u-1")
    b = PersonFactory(name="B", email="c@x.io", user_id="u-2")
    c = PersonFactory(name="C", email="c@x.io")
    run_dedup(dry_run=True)

    text = marker.get(CONFLICTS).content.decode()

    assert "u-1" in text and "u-2" in text and "User ID" in text
    assert "Mark as different people…" in text
    assert f"{PREVIEW}?ids={a.pk}&amp;ids={c.pk}&amp;base={a.pk}" in text
    assert f"{PREVIEW}?ids={b.pk}&amp;ids={c.pk}&amp;base={b.pk}" in text
    assert f"ids={a.pk}&amp;ids={b.pk}&amp;ids={c.pk}&amp;base" not in text  # never the group
    assert ">open<" in text


def test_a_conflict_resolved_by_marking_is_shown_resolved_without_actions(marker):
    a = PersonFactory(email="c@x.io", user_id="u-1")
    b = PersonFactory(email="c@x.io", user_id="u-2")
    run_dedup(dry_run=True)
    conflict = DedupConflict.objects.get()
    marker.post(reverse("admin:dedup_keptapart_mark"),
                {"ids": conflict.person_ids, "reason": "two customers", "post": "yes"})

    text = marker.get(CONFLICTS).content.decode()

    assert "resolved: kept apart" in text and "Mark as different people…" not in text
    assert run_dedup().conflicts == 0
    assert a.pk != b.pk


def test_a_review_is_resolved_by_keeping_apart_or_by_merging(marker):
    victim = PersonFactory(name="Victor", email="v@x.io", user_id="V-1")
    typed = PersonFactory(name="Mallory", email="v@x.io", status=PersonStatus.VISITOR)
    Identity.objects.create(person=typed, original_person=typed, kind=IdentityKind.EMAIL,
                            value="v@x.io", trust=IdentityTrust.TYPED)
    run_dedup(dry_run=True)

    text = marker.get(CONFLICTS).content.decode()
    assert "Needs review" in text and "typed in chat" in text and "(left out)" in text
    keep = mark_url([typed.pk], apart_from=[victim.pk], next_url=CONFLICTS).replace("&", "&amp;")
    assert keep in text
    merge = f"{PREVIEW}?ids={victim.pk}&amp;ids={typed.pk}&amp;base={victim.pk}"
    assert merge in text

    # Merge, through the normal merge preview.
    marker.post(PREVIEW, {"ids": [victim.pk, typed.pk], "base": victim.pk, "post": "yes"})
    assert "resolved: merged" in marker.get(CONFLICTS).content.decode()
    typed.refresh_from_db()
    assert typed.merged_into_id == victim.pk


def test_a_review_kept_apart_from_the_conflict_page_is_not_listed_again(marker):
    victim = PersonFactory(email="v@x.io", user_id="V-1")
    typed = PersonFactory(email="v@x.io", status=PersonStatus.VISITOR)
    Identity.objects.create(person=typed, original_person=typed, kind=IdentityKind.EMAIL,
                            value="v@x.io", trust=IdentityTrust.TYPED)
    run_dedup(dry_run=True)

    marker.post(reverse("admin:dedup_keptapart_mark"), {
        "ids": [typed.pk], "apart_from": [victim.pk], "reason": "a visitor typed it",
        "post": "yes"})

    assert "resolved: kept apart" in marker.get(CONFLICTS).content.decode()
    assert run_dedup(dry_run=True).needs_review == 0


def test_conflict_actions_need_their_permissions(client):
    PersonFactory(email="c@x.io", user_id="u-1")
    PersonFactory(email="c@x.io", user_id="u-2")
    PersonFactory(email="c@x.io")
    run_dedup(dry_run=True)
    client.force_login(staff("dedup.view_dedupconflict"))

    text = client.get(CONFLICTS).content.decode()

    assert "Mark as different people…" not in text and PREVIEW not in text
    assert "u-1" in text


def test_the_merge_preview_says_when_people_are_marked_as_different(marker):
    ann, bob = PersonFactory(name="Ann"), PersonFactory(name="Bob")
    keep_apart(people=[ann, bob], actor=None, reason="twins")

    text = marker.get(f"{PREVIEW}?ids={ann.pk}&ids={bob.pk}").content.decode()

    assert f"Marked as not the same person: Ann (#{ann.pk}) and Bob (#{bob.pk})" in text
