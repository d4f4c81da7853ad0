"""merge_people: rows move, tombstones, sums and dates, conservation, journal and history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from profiles.models import Activity, ActivityKind, Identity, MergeRecord, Person
from profiles.services import MergeRefused, merge_people
from profiles.services.merging import (
    conservation_problems,
    invariant_problems,
    read_decisions,
    rows_by_relation,
)
from profiles.services.merging.moves import move_rows_orm
from tests.factories import (
    ActivityFactory,
    AnonymousPersonFactory,
    ConversationFactory,
    DealFactory,
    IdentityFactory,
    PersonFactory,
    PersonTagFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def with_rows(person: Person, activities: int = 3) -> Person:
    ActivityFactory.create_batch(activities, person=person)
    IdentityFactory(person=person)
    ConversationFactory(person=person)
    DealFactory(person=person)
    PersonTagFactory(person=person)
    return person


def test_every_row_of_the_merged_person_moves_to_the_base():
    base, other = with_rows(PersonFactory()), with_rows(AnonymousPersonFactory(), 5)

    merge_people(base=base, others=[other])

    assert Activity.objects.filter(person=other).count() == 0
    assert Activity.objects.filter(person=base, original_person=other).count() == 5
    assert base.conversations.count() == 2
    assert base.deals.count() == 2
    assert base.identities.count() == 2
    assert base.person_tags.count() == 2


def test_merged_person_becomes_a_tombstone_of_the_base():
    base, other = PersonFactory(), AnonymousPersonFactory()

    merge_people(base=base, others=[other])

    other.refresh_from_db()
    assert other.merged_into_id == base.pk
    assert other.merged_at is not None
    base.refresh_from_db()
    assert base.merged_into_id is None


def test_conservation_holds_for_every_relation():
    base, first, second = PersonFactory(), with_rows(PersonFactory()), with_rows(PersonFactory())
    with_rows(base)
    shared = TagFactory(name="vip")
    for person in (base, first, second):
        PersonTagFactory(person=person, tag=shared)
        IdentityFactory(person=person, kind="email", value="same@example.com")
    before = rows_by_relation()

    merge_people(base=base, others=[first, second])

    assert conservation_problems(before) == []
    assert invariant_problems() == []


def test_tags_are_unioned_and_a_tag_the_base_has_stays_parked_on_the_tombstone():
    vip, new = TagFactory(name="vip"), TagFactory(name="new")
    base, other = PersonFactory(), PersonFactory()
    PersonTagFactory(person=base, tag=vip)
    parked = PersonTagFactory(person=other, tag=vip)
    PersonTagFactory(person=other, tag=new)

    record = merge_people(base=base, others=[other])

    assert set(base.tags.values_list("name", flat=True)) == {"vip", "new"}
    parked.refresh_from_db()
    assert parked.person_id == other.pk
    assert record.moved["parked"] == {"profiles.persontag": [parked.pk]}


def test_same_email_identity_on_both_sides_is_kept_once_on_the_base():
    base, other = PersonFactory(), PersonFactory()
    IdentityFactory(person=base, kind="email", value="a@example.com")
    IdentityFactory(person=other, kind="email", value="a@example.com")
    IdentityFactory(person=other, kind="email", value="b@example.com")

    merge_people(base=base, others=[other])

    assert sorted(base.identities.values_list("value", flat=True)) == [
        "a@example.com", "b@example.com"
    ]


def test_sums_counters_and_keeps_most_recent_and_earliest_dates():
    now = timezone.now()
    base = PersonFactory(
        page_views=3, visits=1, last_seen=now - timedelta(days=5), first_seen=now,
        created_at=now, last_contacted=None, last_heard_from=now - timedelta(days=1),
    )
    other = PersonFactory(
        page_views=4, visits=2, last_seen=now, first_seen=now - timedelta(days=9),
        created_at=now - timedelta(days=9), last_contacted=now - timedelta(days=2),
        last_heard_from=now - timedelta(days=3),
    )

    merge_people(base=base, others=[other])

    base.refresh_from_db()
    assert (base.page_views, base.visits) == (7, 3)
    assert base.last_seen == now
    assert base.last_contacted == now - timedelta(days=2)
    assert base.last_heard_from == now - timedelta(days=1)
    assert base.first_seen == now - timedelta(days=9)
    assert base.created_at == now - timedelta(days=9)


def test_base_takes_the_user_id_of_the_merged_person():
    base = AnonymousPersonFactory(updated_at=timezone.now() - timedelta(days=1))
    other = PersonFactory(user_id="u-1")

    merge_people(base=base, others=[other])

    base.refresh_from_db()
    assert base.user_id == "u-1"
    assert Person.objects.filter(user_id="u-1", merged_into__isnull=True).get() == base


def test_journal_records_people_snapshot_rows_and_decisions():
    staff = UserFactory()
    base, other = PersonFactory(name="", city="Paris"), with_rows(PersonFactory(name="Ann"))

    record = merge_people(base=base, others=[other], actor=staff, reason="manual")

    record = MergeRecord.objects.get(pk=record.pk)
    assert record.base_id == base.pk and record.merged_ids == [other.pk]
    assert record.actor == staff and record.reason == "manual"
    assert record.snapshot[str(other.pk)]["name"] == "Ann"
    assert record.snapshot[str(base.pk)]["name"] == ""
    # The short form: "Ann" is the winner's own value before, which the snapshot holds.
    assert record.decisions["name"] == {"rule": "filled", "winner": other.pk}
    assert read_decisions(record)["name"] == {"value": "Ann", "winner": other.pk,
                                              "rule": "filled"}
    assert record.decisions["city"] == {"rule": "kept"}  # the base's own value
    assert record.moved["counts"]["profiles.activity"] == {str(other.pk): 3}
    assert record.moved["origins"] == {str(other.pk): [other.pk]}


def test_history_rows_name_the_actor_and_the_merge():
    staff = UserFactory()
    base, other = PersonFactory(), PersonFactory()

    record = merge_people(base=base, others=[other], actor=staff, reason="identify")

    for person in (base, other):
        latest = person.history.latest()
        assert latest.history_user == staff
        assert latest.history_change_reason == f"merge #{record.pk} (identify)"
    assert other.history.latest().merged_into_id == base.pk


def test_a_merged_activity_is_written_on_the_base():
    base, other = PersonFactory(), PersonFactory()

    record = merge_people(base=base, others=[other], reason="dedup")

    note = Activity.objects.get(person=base, kind=ActivityKind.MERGED)
    assert note.source == "system" and note.original_person_id == base.pk
    assert note.properties["merge_record"] == record.pk
    assert note.properties["merged_ids"] == [other.pk]


def test_identity_moves_are_listed_in_the_journal():
    base, other = PersonFactory(), PersonFactory()
    identity = IdentityFactory(person=other)

    record = merge_people(base=base, others=[other])

    assert record.moved["rows"]["profiles.identity"] == {str(other.pk): [identity.pk]}
    assert Identity.objects.get(pk=identity.pk).person_id == base.pk


def test_merging_into_itself_is_refused():
    person = PersonFactory()
    with pytest.raises(MergeRefused) as refused:
        merge_people(base=person, others=[person])
    assert refused.value.code == "self"


def test_empty_list_is_refused():
    with pytest.raises(MergeRefused) as refused:
        merge_people(base=PersonFactory(), others=[])
    assert refused.value.code == "empty"


def test_a_tombstone_cannot_be_merged_or_merged_into():
    base, other, third = PersonFactory(), PersonFactory(), PersonFactory()
    merge_people(base=base, others=[other])

    with pytest.raises(MergeRefused) as as_other:
        merge_people(base=third, others=[other])
    with pytest.raises(MergeRefused) as as_base:
        merge_people(base=other, others=[third])

    assert as_other.value.code == "tombstone" and as_base.value.code == "tombstone"
    assert f"#{base.pk}" in str(as_other.value)


def test_merging_again_what_is_already_merged_is_refused_and_changes_nothing():
    base, other = PersonFactory(), PersonFactory()
    merge_people(base=base, others=[other])
    records = MergeRecord.objects.count()

    with pytest.raises(MergeRefused) as refused:
        merge_people(base=base, others=[other])

    assert refused.value.code == "already_merged"
    assert MergeRecord.objects.count() == records


def test_a_refused_merge_writes_nothing():
    base, other = PersonFactory(user_id="a"), with_rows(PersonFactory(user_id="b"))
    before = rows_by_relation()

    with pytest.raises(MergeRefused):
        merge_people(base=base, others=[other])

    assert rows_by_relation() == before
    assert MergeRecord.objects.count() == 0
    other.refresh_from_db()
    assert other.merged_into_id is None


def test_chain_of_merges_resolves_to_the_latest_base():
    first, second, third = PersonFactory(), PersonFactory(), PersonFactory()
    ActivityFactory(person=first)
    merge_people(base=second, others=[first])
    merge_people(base=third, others=[second])

    assert Activity.objects.get(original_person=first).person_id == third.pk
    assert Person.objects.get(pk=first.pk).merged_into_id == second.pk
    assert invariant_problems() == []


def test_ids_are_accepted_instead_of_people():
    base, other = PersonFactory(), PersonFactory()

    record = merge_people(base=base.pk, others=[other.pk])

    assert record.base_id == base.pk


def test_unknown_person_is_refused():
    with pytest.raises(MergeRefused) as refused:
        merge_people(base=PersonFactory(), others=[999_999])
    assert refused.value.code == "missing"


@pytest.mark.postgres
def test_the_single_statement_path_moves_exactly_like_the_portable_path():
    from profiles.services.merging import moves_sql
    from profiles.services.merging.relations import person_relations

    tags = [TagFactory(name=f"t{index}") for index in range(3)]
    groups = []
    for _ in range(2):  # two groups moved by one statement
        base, *others = [with_rows(PersonFactory()) for _ in range(4)]
        merge_people(base=others[0], others=[with_rows(PersonFactory())])  # a tombstone's rows
        for index, person in enumerate([base, *others]):
            PersonTagFactory(person=person, tag=tags[index % 3])
            IdentityFactory(person=person, kind="email", value=f"e{index % 2}@example.com")
        groups.append((base.pk, [other.pk for other in others]))

    savepoint = transaction.savepoint()
    portable = [move_rows_orm(base_id=base, other_ids=ids) for base, ids in groups]
    portable_rows = rows_by_relation()
    transaction.savepoint_rollback(savepoint)
    fast = moves_sql.move_groups(groups, person_relations())

    assert fast == portable
    assert rows_by_relation() == portable_rows
    assert all(moved["parked"] for moved in fast)  # the scenario does exercise clashes


def test_a_locked_resolve_follows_tombstones_to_the_live_base():
    from profiles.services.tombstones import resolve_live

    first, second, third = PersonFactory(), PersonFactory(), PersonFactory()
    merge_people(base=second, others=[first])
    merge_people(base=third, others=[second])

    with transaction.atomic():
        assert resolve_live(first.pk, lock=True) == third
        assert resolve_live(third.pk, lock=True, shared=True) == third


@pytest.mark.django_db(transaction=True)
def test_a_locked_resolve_needs_a_transaction():
    from django.db.transaction import TransactionManagementError

    from profiles.services.tombstones import resolve_live

    with pytest.raises(TransactionManagementError):
        resolve_live(PersonFactory().pk, lock=True)


def test_a_locked_resolve_of_an_unknown_id_raises_does_not_exist():
    from profiles.services.tombstones import resolve_live

    with transaction.atomic(), pytest.raises(Person.DoesNotExist):
        resolve_live(987_654, lock=True)


def test_an_anonymous_actor_is_recorded_as_nobody():
    from django.contrib.auth.models import AnonymousUser

    base, other = PersonFactory(), PersonFactory()
    record = merge_people(base=base, others=[other], actor=AnonymousUser())
    assert record.actor is None


def test_unknown_reason_is_refused():
    with pytest.raises(MergeRefused) as refused:
        merge_people(base=PersonFactory(), others=[PersonFactory()], reason="whim")
    assert refused.value.code == "invalid_reason"


def test_a_unique_race_becomes_a_conflict_refusal_with_nothing_written(monkeypatch):
    from django.db import IntegrityError

    def clash(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    # After the rows moved (on PostgreSQL in the lock's round trip), while writing the rest.
    monkeypatch.setattr("profiles.services.merging.merge.writes_sql.write_merges", clash)
    monkeypatch.setattr("profiles.services.merging.merge.write_merged_people", clash)
    base, other = PersonFactory(), PersonFactory()
    activity = ActivityFactory(person=other)

    with pytest.raises(MergeRefused) as refused:
        merge_people(base=base, others=[other])

    assert refused.value.code == "conflict"
    assert MergeRecord.objects.count() == 0
    activity.refresh_from_db()
    other.refresh_from_db()
    assert activity.person_id == other.pk and other.merged_into_id is None


def test_user_id_moves_to_the_base_from_any_of_several_others():
    base = AnonymousPersonFactory()
    plain, owner = AnonymousPersonFactory(), PersonFactory(user_id="u-5")
    ActivityFactory(person=owner)

    record = merge_people(base=base, others=[plain, owner])

    base.refresh_from_db()
    assert base.user_id == "u-5" and read_decisions(record)["user_id"]["winner"] == owner.pk
    assert set(Person.objects.filter(merged_into=base).values_list("pk", flat=True)) == {
        plain.pk, owner.pk
    }


@pytest.mark.postgres
def test_the_one_round_trip_writes_equal_the_orm_writes(monkeypatch):
    from profiles.services.merging import merge as merge_module
    from profiles.services.merging.state import SNAPSHOT_FIELDS

    fixed = timezone.now()
    staff = UserFactory()

    def scenario() -> tuple[Person, Person]:
        dates = {"created_at": fixed - timedelta(days=2), "updated_at": fixed - timedelta(days=1)}
        base = AnonymousPersonFactory(name="", city="", attributes={"a": 1}, page_views=2,
                                      **dates)
        other = PersonFactory(user_id=f"u-{Person.objects.count()}", name="Ann", city="Oslo",
                              attributes={"b": 2}, page_views=3, **dates)
        return base, other

    def outcome(base: Person, other: Person, record: MergeRecord) -> dict:
        ignore = {"merged_into", "user_id", "avatar_seed", "email"}
        rename = {base.pk: "base", other.pk: "other", str(record.pk): "#"}

        def fields(person: Person) -> dict:
            person = Person.objects.get(pk=person.pk)
            return {n: getattr(person, n) for n in SNAPSHOT_FIELDS if n not in ignore}

        history = [
            (rename[row.id], row.history_type, row.history_user_id,
             row.history_change_reason.replace(str(record.pk), "#"), row.merged_into_id is None)
            for row in Person.history.filter(history_change_reason__startswith="merge #")
            .filter(id__in=[base.pk, other.pk]).order_by("id")
        ]
        note = Activity.objects.get(person=base, kind="merged")
        record.refresh_from_db()
        return {
            "base": fields(base), "other": fields(other), "history": history,
            "note": (note.source, note.original_person_id == base.pk,
                     note.properties["merge_record"] == record.pk, note.properties["reason"]),
            "record": (record.reason, record.actor_id, record.created_at,
                       {k: (v["value"], v["rule"]) for k, v in read_decisions(record).items()
                        if k not in ("user_id", "avatar_seed", "email")}),
        }

    monkeypatch.setattr(merge_module.timezone, "now", lambda: fixed)
    fast_base, fast_other = scenario()
    fast = merge_people(base=fast_base, others=[fast_other], actor=staff)
    monkeypatch.setattr(merge_module, "_merge_sql", merge_module._merge_orm)
    orm_base, orm_other = scenario()
    portable = merge_people(base=orm_base, others=[orm_other], actor=staff)

    assert outcome(fast_base, fast_other, fast) == outcome(orm_base, orm_other, portable)


def test_values_with_quotes_and_percent_signs_survive_the_merge():
    tricky = "100% 'quoted' \"double\" %s %(x)s; DROP TABLE x; -- é"
    base = AnonymousPersonFactory(name="", attributes={})
    other = PersonFactory(name=tricky, attributes={"note": tricky, tricky: [tricky]})

    merge_people(base=base, others=[other], actor=UserFactory(username=tricky[:30]))

    base.refresh_from_db()
    assert base.name == tricky
    assert base.attributes == {"note": tricky, tricky: [tricky]}
    assert base.history.latest().name == tricky


@pytest.mark.postgres
def test_a_refused_merge_in_a_transaction_undoes_its_moves_and_leaves_the_transaction_usable():
    # Different user IDs are only refused after the lock, once the move (sent in the same
    # round trip) has run: the merge's savepoint must take it back, and only it.
    base, other = PersonFactory(user_id="u-one"), PersonFactory(user_id="u-two")
    activity = ActivityFactory(person=other)

    with transaction.atomic():
        before = PersonFactory()
        with pytest.raises(MergeRefused) as refused:
            merge_people(base=base, others=[other])
        after = PersonFactory()  # the caller's transaction goes on

    assert refused.value.code == "different_user_ids"
    activity.refresh_from_db()
    assert activity.person_id == other.pk
    assert Person.objects.filter(pk__in=[before.pk, after.pk]).count() == 2
    assert MergeRecord.objects.count() == 0
    record = merge_people(base=base, others=[PersonFactory()])  # and merges still work
    assert record.pk is not None


@pytest.mark.parametrize("fast", [True, False])
def test_the_returned_base_is_the_stored_row(fast, monkeypatch):
    from django.db import connection

    from profiles.services.merging import merge as merge_module

    if not fast:
        monkeypatch.setattr(merge_module, "_merge_sql", merge_module._merge_orm)
    elif connection.vendor != "postgresql":
        pytest.skip("the fast path is PostgreSQL's")
    base = AnonymousPersonFactory(email="", name="", attributes={"a": 1})
    other = PersonFactory(email="  Ann@Example.COM ", name="Ann", attributes={"b": 2})

    record = merge_people(base=base, others=[other])

    stored = Person.objects.get(pk=base.pk)
    returned = record.base
    fields = [field.attname for field in Person._meta.concrete_fields]
    assert {n: getattr(returned, n) for n in fields} == {n: getattr(stored, n) for n in fields}
    assert returned.email_normalized == "ann@example.com"
