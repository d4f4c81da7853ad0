"""The seed document's rules (User.com "Deduplicate users"), one by one, through run_dedup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dedup.models import DedupConflict, DedupStatus
from dedup.services import run_dedup
from profiles.models import Activity, MergeRecord, Person, PersonStatus
from profiles.services.merging import conservation_problems, rows_by_relation
from tests.factories import (
    ActivityFactory,
    ConversationFactory,
    DealFactory,
    IdentityFactory,
    PersonFactory,
    PersonTagFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def person(email="ann@example.com", *, age_days=0, **fields):
    """A person whose Last Updated is `age_days` ago (older wins)."""
    stamp = timezone.now() - age_days * DAY
    return PersonFactory(email=email, updated_at=stamp, created_at=stamp, **fields)


def live(p: Person) -> Person:
    p.refresh_from_db()
    return p


def test_user_id_wins_over_everything_else():
    older_user = person(age_days=30, status=PersonStatus.USER)
    with_id = person(" ANN@example.com ", user_id="u-1", status=PersonStatus.VISITOR)
    run_dedup()
    assert live(with_id).merged_into_id is None
    assert live(older_user).merged_into_id == with_id.pk


def test_user_status_wins_over_visitor():
    visitor = person(age_days=30, status=PersonStatus.VISITOR)
    user = person("Ann@Example.com", status=PersonStatus.USER)
    run_dedup()
    assert live(visitor).merged_into_id == user.pk
    assert live(user).merged_into_id is None


def test_older_last_updated_wins():
    newer = person(age_days=1)
    older = person("ann@example.com ", age_days=9)
    run_dedup()
    assert live(newer).merged_into_id == older.pk


def test_different_user_ids_never_merge_and_become_a_conflict():
    a = person(user_id="u-1")
    b = person("ANN@example.com", user_id="u-2")
    c = person(" ann@example.com")  # no user ID: the group is still not merged at all
    run = run_dedup()
    assert all(live(p).merged_into_id is None for p in (a, b, c))
    conflict = DedupConflict.objects.get(run=run)
    assert conflict.email_normalized == "ann@example.com"
    assert conflict.person_ids == sorted([a.pk, b.pk, c.pk])
    assert conflict.user_ids == ["u-1", "u-2"]
    assert (run.conflicts, run.groups_merged, run.groups_found) == (1, 0, 1)


def test_missing_attributes_are_filled_from_others_in_rule_order():
    base = person(age_days=10, phone="", city="", attributes={"plan": "gold"})
    second = person(age_days=5, phone="+33 1", city="", os="Linux",
                    attributes={"plan": "free", "size": "L"})
    third = person(age_days=1, phone="+44 2", city="Lyon", os="Mac", attributes={"size": "S"})
    run_dedup()
    base = live(base)
    assert (base.phone, base.city, base.os) == ("+33 1", "Lyon", "Linux")
    assert base.attributes == {"plan": "gold", "size": "L"}
    assert {live(second).merged_into_id, live(third).merged_into_id} == {base.pk}


def test_timelines_tags_deals_and_chats_move_to_the_base():
    base, dup = person(age_days=5), person(age_days=1)
    shared, own = TagFactory(name="vip"), TagFactory(name="newsletter")
    PersonTagFactory(person=base, tag=shared)
    PersonTagFactory(person=dup, tag=shared)
    PersonTagFactory(person=dup, tag=own)
    ActivityFactory.create_batch(3, person=dup)
    ConversationFactory(person=dup)
    DealFactory(person=dup, title="Big deal")
    IdentityFactory(person=dup, value="anon-dup")
    before = rows_by_relation()
    run_dedup()
    assert conservation_problems(before) == []
    base = live(base)
    assert set(base.tags.values_list("name", flat=True)) == {"vip", "newsletter"}
    assert base.activities.filter(kind="page_view").count() == 3
    assert base.conversations.count() == 1 and base.deals.get().title == "Big deal"
    assert base.identities.filter(value="anon-dup").exists()


def test_page_visits_are_summed_and_latest_dates_kept():
    now = timezone.now()
    base = person(age_days=5, page_views=3, visits=1, last_seen=now - 9 * DAY,
                  last_contacted=now - 1 * DAY, last_heard_from=None, first_seen=now - 20 * DAY)
    dup = person(age_days=1, page_views=4, visits=2, last_seen=now - 2 * DAY,
                 last_contacted=now - 7 * DAY, last_heard_from=now - 3 * DAY,
                 first_seen=now - 40 * DAY)
    run_dedup()
    base = live(base)
    assert (base.page_views, base.visits) == (7, 3)
    assert base.last_seen == dup.last_seen
    assert base.last_contacted == now - 1 * DAY
    assert base.last_heard_from == dup.last_heard_from
    assert base.first_seen == dup.first_seen


def test_journal_rows_link_the_run_and_say_dedup():
    base, dup1, dup2 = person(age_days=3), person(age_days=2), person(age_days=1)
    run = run_dedup()
    record = MergeRecord.objects.get()
    assert record.reason == "dedup" and record.dedup_run_id == run.pk
    assert record.base_id == base.pk and record.merged_ids == [dup1.pk, dup2.pk]
    assert Activity.objects.filter(person=base, kind="merged").count() == 1
    assert (run.status, run.groups_merged, run.people_merged) == (DedupStatus.SUCCEEDED, 1, 2)
    reasons = set(Person.history.filter(id__in=[base.pk, dup1.pk]).values_list(
        "history_change_reason", flat=True))
    assert f"merge #{record.pk} (dedup)" in reasons


def test_people_without_email_and_tombstones_are_ignored():
    person(email="")
    person(email="")
    run = run_dedup()
    assert (run.groups_found, MergeRecord.objects.count()) == (0, 0)
    person("bob@example.com", age_days=2)
    person("BOB@example.com")
    run_dedup()
    again = run_dedup()  # the second run finds nothing left to merge
    assert (again.groups_found, MergeRecord.objects.count()) == (0, 1)


def test_several_chunks_are_merged(settings):
    settings.DEDUP_CHUNK_GROUPS = 2
    for n in range(5):
        person(f"p{n}@example.com", age_days=2)
        person(f"P{n}@EXAMPLE.com", age_days=1)
    run = run_dedup()
    assert (run.chunks_total, run.chunks_done, run.groups_merged) == (3, 3, 5)
    assert Person.objects.filter(merged_into__isnull=True).count() == 5


def test_a_dedup_merge_can_be_undone_exactly():
    from profiles.services.merging import undo_merge
    from profiles.services.merging.state import snapshot_person

    base, dup = person(age_days=5, city=""), person(age_days=1, city="Lyon", page_views=2)
    tag = TagFactory(name="vip")
    PersonTagFactory(person=base, tag=tag)
    PersonTagFactory(person=dup, tag=tag)  # parked on the tombstone, then back on undo
    ActivityFactory.create_batch(2, person=dup)
    IdentityFactory(person=dup, value="anon-undo")
    before_rows = rows_by_relation()
    before_people = {p.pk: snapshot_person(live(p)) for p in (base, dup)}
    run_dedup()
    undo_merge(record=MergeRecord.objects.get())
    now_rows = rows_by_relation()
    # Every row that existed before is back on its person (the journal's own "merged"/"undone"
    # timeline entries are new rows on the base).
    assert {label: {pk: now_rows[label][pk] for pk in rows} for label, rows in before_rows.items()
            } == before_rows
    after = {p.pk: snapshot_person(live(p)) for p in (base, dup)}
    for pk in after:
        after[pk].pop("updated_at"), before_people[pk].pop("updated_at")
    assert after == before_people


def test_the_actor_is_recorded_on_journal_history_and_timeline():
    from tests.factories import UserFactory

    staff = UserFactory(username="nightly-operator")
    base, dup = person(age_days=3), person(age_days=1)
    run_dedup(actor=staff, trigger="staff")
    record = MergeRecord.objects.get()
    assert record.actor == staff
    latest = Person.history.filter(id__in=[base.pk, dup.pk], history_type="~")
    assert {h.history_user_id for h in latest} == {staff.pk}
    merged = Activity.objects.get(person=base, kind="merged")
    assert merged.properties["actor"] == "nightly-operator"
