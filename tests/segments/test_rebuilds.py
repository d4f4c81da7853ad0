"""Rebuilds in chunks (segments/services/rebuild.py): id ranges of live people, one transaction
each, a record of what they did, and an edit that supersedes a running rebuild."""

from __future__ import annotations

import pytest

from profiles.models import Activity, ActivityKind, Person
from profiles.services import merge_people
from segments.models import RebuildState, SegmentMembership, SegmentRebuild
from segments.services import create_segment, rebuild_segment, start_rebuild, update_segment
from segments.services.rebuild import finish_if_complete, process_chunk
from segments.tasks import rebuild_chunk_task
from tests.factories import PersonFactory, UserFactory
from tests.segments.helpers import matched

pytestmark = pytest.mark.django_db
PARIS = {"field": "city", "op": "eq", "value": "Paris"}
ROME = {"field": "city", "op": "eq", "value": "Rome"}


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.SEGMENT_REBUILD_CHUNK_PEOPLE = 3


def members(segment) -> set[int]:
    return set(SegmentMembership.objects.filter(segment=segment)
               .values_list("person_id", flat=True))


def entries(segment, kind=ActivityKind.SEGMENT_ENTERED) -> list[int]:
    return sorted(Activity.objects.filter(kind=kind, properties__segment_id=segment.pk)
                  .values_list("person_id", flat=True))


def town(n: int) -> list[Person]:
    return [PersonFactory(city=("Paris", "Rome", "Oslo")[i % 3]) for i in range(n)]


def test_a_rebuild_runs_in_chunks_of_live_people_and_records_what_it_did():
    town(11)
    staff = UserFactory()
    segment = create_segment(name="Parisians", definition=PARIS, actor=staff)
    rebuild = SegmentRebuild.objects.get(segment=segment)
    assert rebuild.state == RebuildState.FINISHED and rebuild.started_by == staff
    assert (rebuild.chunks_total, rebuild.chunks_done) == (4, 4)  # 11 people, 3 a chunk
    chunks = list(rebuild.chunks.values_list("first_id", "last_id"))
    assert chunks[0][0] is None and chunks[-1][1] is None  # open at both ends
    assert all(chunks[n][1] + 1 == chunks[n + 1][0] for n in range(len(chunks) - 1))
    assert members(segment) == matched(PARIS) and len(members(segment)) == 4
    assert entries(segment) == sorted(members(segment))  # one entry each, none twice
    assert (rebuild.entered, rebuild.left, rebuild.members) == (4, 0, 4)
    assert sum(rebuild.chunks.values_list("entered", flat=True)) == 4
    segment.refresh_from_db()
    assert segment.member_count == 4 and segment.last_rebuilt_at == rebuild.finished_at


def test_rebuild_moves_only_who_changed_and_a_done_chunk_is_not_redone():
    people = town(9)
    segment = create_segment(name="Parisians", definition=PARIS)
    Person.objects.filter(pk=people[0].pk).update(city="Oslo")
    Person.objects.filter(pk=people[1].pk).update(city="Paris")
    assert rebuild_segment(segment=segment) == (1, 1)
    rebuild = SegmentRebuild.objects.filter(segment=segment).first()
    assert members(segment) == matched(PARIS)
    chunk = rebuild.chunks.first()
    assert process_chunk(chunk_id=chunk.pk) is False  # a redelivered task does nothing
    rebuild_chunk_task(chunk.pk, rebuild.pk)
    assert SegmentRebuild.objects.get(pk=rebuild.pk).chunks_done == rebuild.chunks_total
    assert entries(segment, ActivityKind.SEGMENT_LEFT) == [people[0].pk]


def test_people_created_during_a_rebuild_fall_in_its_last_chunk():
    town(6)
    segment = create_segment(name="Parisians", definition=PARIS)
    rebuild = start_rebuild(segment=segment)
    late = PersonFactory(city="Paris")
    for chunk in rebuild.chunks.all():
        process_chunk(chunk_id=chunk.pk)
    assert finish_if_complete(rebuild_id=rebuild.pk)
    assert late.pk in members(segment)


def test_parked_rows_of_merged_people_stay_and_disabled_segments_empty():
    base, other, *_ = town(7)
    other.city = "Paris"
    other.save()
    segment = create_segment(name="Parisians", definition=PARIS)
    merge_people(base=base, others=[other])  # both members: other's row is parked on it
    parked = SegmentMembership.objects.filter(segment=segment, person=other).count()
    rebuild_segment(segment=segment)
    assert SegmentMembership.objects.filter(segment=segment, person=other).count() == parked
    update_segment(segment=segment, enabled=False)
    live = SegmentMembership.objects.filter(segment=segment, person__merged_into__isnull=True)
    assert not live.exists()


def test_an_edit_supersedes_the_running_rebuild_which_then_writes_nothing():
    town(9)
    segment = create_segment(name="City", definition=PARIS)
    old = start_rebuild(segment=segment, in_background=True)
    first, *rest = old.chunks.order_by("index")
    Person.objects.filter(city="Paris").update(city="Lyon")  # everyone must leave…
    assert process_chunk(chunk_id=first.pk)  # …the first chunk of the old rebuild did it
    update_segment(segment=segment, definition=ROME)  # the edit: a new rebuild, now
    old.refresh_from_db()
    assert old.state == RebuildState.SUPERSEDED and old.chunks_done == 1
    before = sorted(SegmentMembership.objects.values_list("segment", "person"))
    for chunk in rest:  # the old rebuild's tasks arrive late: nothing from the old rule
        assert process_chunk(chunk_id=chunk.pk) is False
        rebuild_chunk_task(chunk.pk, old.pk)
    assert sorted(SegmentMembership.objects.values_list("segment", "person")) == before
    assert members(segment) == matched(ROME)
    old.refresh_from_db()
    assert old.state == RebuildState.SUPERSEDED and old.chunks_done == 1
    latest = SegmentRebuild.objects.filter(segment=segment).first()
    assert latest.state == RebuildState.FINISHED and latest.definition == ROME


def test_a_definition_changed_behind_the_services_stops_the_rebuild():
    town(6)
    segment = create_segment(name="City", definition=PARIS)
    rebuild = start_rebuild(segment=segment, in_background=True)
    type(segment).objects.filter(pk=segment.pk).update(definition=ROME)  # a raw edit
    before = members(segment)
    assert process_chunk(chunk_id=rebuild.chunks.first().pk) is False
    rebuild.refresh_from_db()
    assert rebuild.state == RebuildState.SUPERSEDED and members(segment) == before


def test_a_failing_chunk_fails_the_rebuild_in_plain_words(monkeypatch):
    town(4)
    segment = create_segment(name="City", definition=PARIS)
    rebuild = start_rebuild(segment=segment, in_background=True)

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("segments.tasks.process_chunk", broken)
    with pytest.raises(RuntimeError):
        rebuild_chunk_task(rebuild.chunks.first().pk, rebuild.pk)
    rebuild.refresh_from_db()
    assert rebuild.state == RebuildState.FAILED
    assert rebuild.error == "A chunk failed with an unexpected error (RuntimeError)."


def test_in_background_sends_the_chunks_after_the_commit(django_capture_on_commit_callbacks):
    town(8)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        segment = create_segment(name="Parisians", definition=PARIS, in_background=True)
    rebuild = SegmentRebuild.objects.get(segment=segment)
    assert rebuild.in_background and rebuild.state == RebuildState.RUNNING
    assert not members(segment)  # nothing until the commit sends the chunks
    assert len(callbacks) == 1
    from crm.celery import app

    app.conf.task_always_eager = True  # as with CELERY_TASK_ALWAYS_EAGER=true
    try:
        callbacks[0]()
    finally:
        app.conf.task_always_eager = False
    rebuild.refresh_from_db()
    assert rebuild.state == RebuildState.FINISHED and members(segment) == matched(PARIS)


def test_old_rebuild_records_are_forgotten():
    town(3)
    segment = create_segment(name="Parisians", definition=PARIS)
    for _ in range(12):
        rebuild_segment(segment=segment)
    assert SegmentRebuild.objects.filter(segment=segment).count() == 11  # 10 kept + the new
    rebuild = start_rebuild(segment=segment, in_background=True)
    chunk_id = rebuild.chunks.get().pk
    segment.delete()  # its rebuilds go with it: a late chunk task finds nothing to do
    rebuild_chunk_task(chunk_id, rebuild.pk)
