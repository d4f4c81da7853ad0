"""The Python API: create/update/delete, count preview, a person's segments, rebuilds with
their entered/left activities."""

from __future__ import annotations

import pytest

from profiles.models import Activity, ActivityKind
from segments.models import Segment, SegmentMembership
from segments.services import (
    DefinitionError,
    SegmentRefused,
    count_matching,
    create_segment,
    delete_segment,
    rebuild_segment,
    segments_of,
    update_segment,
)
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db
PARIS = {"field": "city", "op": "eq", "value": "Paris"}


def members(segment: Segment) -> set[int]:
    return set(segment.memberships.values_list("person_id", flat=True))


def segment_activities(kind: str) -> list[tuple[int, str]]:
    return sorted(Activity.objects.filter(kind=kind).values_list("person_id",
                                                                 "properties__segment"))


def test_create_computes_members_and_records_entries():
    ann, _bob = PersonFactory(city="Paris"), PersonFactory(city="Rome")
    staff = UserFactory()
    segment = create_segment(name="Parisians", definition=PARIS, actor=staff)
    assert segment.key == "parisians"
    assert segment.created_by == staff and segment.updated_by == staff
    assert members(segment) == {ann.pk}
    assert segment.member_count == 1 and segment.last_rebuilt_at is not None
    assert segment_activities(ActivityKind.SEGMENT_ENTERED) == [(ann.pk, "Parisians")]
    entry = Activity.objects.get(kind=ActivityKind.SEGMENT_ENTERED)
    assert entry.source == "system" and entry.properties["segment_id"] == segment.pk


def test_keys_are_unique():
    create_segment(name="VIP", definition=PARIS)
    assert create_segment(name="VIP", definition=PARIS).key == "vip-2"
    with pytest.raises(SegmentRefused) as caught:
        create_segment(name="Other", key="vip", definition=PARIS)
    assert caught.value.field == "key"


def test_bad_definition_writes_nothing():
    with pytest.raises(DefinitionError) as caught:
        create_segment(name="Broken", definition={"all": [{"field": "nope"}]})
    assert caught.value.path == "$.all[0].field"
    assert not Segment.objects.exists()
    with pytest.raises(SegmentRefused):
        create_segment(name=" ", definition=PARIS)


def test_update_rebuilds_with_entered_and_left():
    ann, bob = PersonFactory(city="Paris"), PersonFactory(city="Rome")
    segment = create_segment(name="City", definition=PARIS)
    segment = update_segment(segment=segment, definition={**PARIS, "value": "rome"})
    assert members(segment) == {bob.pk}
    assert segment_activities(ActivityKind.SEGMENT_LEFT) == [(ann.pk, "City")]
    assert segment_activities(ActivityKind.SEGMENT_ENTERED) == [(ann.pk, "City"),
                                                                (bob.pk, "City")]
    with pytest.raises(DefinitionError):
        update_segment(segment=segment, definition={"any": []})
    with pytest.raises(SegmentRefused):
        update_segment(segment=segment, member_count=4)
    segment = update_segment(segment=segment, enabled=False)
    assert members(segment) == set() and segment.member_count == 0


def test_rebuild_is_repeatable_and_follows_changes():
    ann = PersonFactory(city="Paris")
    segment = create_segment(name="P", definition=PARIS)
    assert rebuild_segment(segment=segment) == (0, 0)
    ann.city = "Lyon"
    ann.save()
    assert rebuild_segment(segment=segment) == (0, 1)
    assert members(segment) == set()


def test_count_matching_writes_nothing():
    PersonFactory(city="Paris"), PersonFactory(city="paris"), PersonFactory(city="Rome")
    assert count_matching(definition=PARIS) == 2
    assert not SegmentMembership.objects.exists()
    with pytest.raises(DefinitionError):
        count_matching(definition={"field": "city"})


def test_segments_of_lists_with_entry_time_and_delete_removes():
    ann = PersonFactory(city="Paris", page_views=3)
    b = create_segment(name="B readers", definition={"field": "page_views", "op": "gt",
                                                      "value": 1})
    a = create_segment(name="A Parisians", definition=PARIS)
    found = segments_of(person=ann)
    assert [s.pk for s in found] == [a.pk, b.pk]
    assert all(s.entered_at is not None for s in found)
    delete_segment(segment=a)
    assert [s.pk for s in segments_of(person=ann)] == [b.pk]
    assert SegmentMembership.objects.count() == 1
