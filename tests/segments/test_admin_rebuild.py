"""The segment page shows its rebuild: progress while the workers run it (in the viewer's
zone, by whom, why), what it did when it is over; the admin sends big rebuilds to them."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from segments.models import RebuildState, Segment, SegmentRebuild
from segments.services import create_segment
from segments.services.rebuild import finish_if_complete, process_chunk
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import messages_of

pytestmark = pytest.mark.django_db
PARIS = {"field": "city", "op": "eq", "value": "Paris"}


def form(definition, **fields) -> dict:
    return {"name": "Parisians", "key": "parisians", "description": "", "enabled": "on",
            "definition": json.dumps(definition), **fields}


def test_a_finished_rebuild_in_plain_words(admin_client, admin_user):
    PersonFactory(city="Paris"), PersonFactory(city="Rome")
    segment = create_segment(name="Parisians", definition=PARIS, actor=admin_user)
    admin_client.cookies["onefold_tz"] = "Asia/Tokyo"
    page = admin_client.get(reverse("admin:segments_segment_change", args=[segment.pk]))
    text = page.content.decode()
    assert "Last rebuild finished" in text and "JST" in text
    assert "1 person entered and 0 people left; 1 member then." in text
    assert f"by {admin_user.username} (the segment was created)" in text


def test_big_segments_rebuild_on_the_workers_with_progress(admin_client, settings,
                                                           django_capture_on_commit_callbacks):
    settings.SEGMENT_REBUILD_INLINE_MAX, settings.SEGMENT_REBUILD_CHUNK_PEOPLE = 3, 2
    for n in range(5):
        PersonFactory(city=("Paris", "Rome")[n % 2])
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = admin_client.post(reverse("admin:segments_segment_add"), form(PARIS))
    assert response.status_code == 302 and len(sent) == 1  # the chunks, sent at the commit
    assert ("“Parisians” is being rebuilt by the background workers; its page shows the "
            "progress.") in messages_of(response)
    segment = Segment.objects.get()
    rebuild = SegmentRebuild.objects.get(segment=segment)
    assert rebuild.in_background and rebuild.chunks_total == 3
    progress = reverse("admin:segments_segment_rebuild_progress", args=[segment.pk])
    page = admin_client.get(reverse("admin:segments_segment_change", args=[segment.pk]))
    assert "Rebuilding on the background workers: 0 of 3 parts done" in page.content.decode()
    assert 'data-running="yes"' in page.content.decode()

    process_chunk(chunk_id=rebuild.chunks.get(index=0).pk)  # as a worker would
    answer = admin_client.get(progress).json()
    assert answer["running"] is True
    assert answer["text"].startswith("Rebuilding on the background workers: 1 of 3 parts "
                                     "done, 1 person entered and 0 people left so far.")
    for chunk in rebuild.chunks.filter(done=False):
        process_chunk(chunk_id=chunk.pk)
    finish_if_complete(rebuild_id=rebuild.pk)
    answer = admin_client.get(progress).json()
    assert answer["running"] is False and answer["text"].startswith("Last rebuild finished")
    assert "3 people entered" in answer["text"]


def test_an_edit_shows_the_old_rebuild_was_stopped(admin_client, settings):
    settings.SEGMENT_REBUILD_INLINE_MAX, settings.SEGMENT_REBUILD_CHUNK_PEOPLE = 0, 2
    PersonFactory(city="Paris"), PersonFactory(city="Rome"), PersonFactory(city="Oslo")
    segment = create_segment(name="Parisians", definition=PARIS, in_background=True)
    old = SegmentRebuild.objects.get(segment=segment)
    url = reverse("admin:segments_segment_change", args=[segment.pk])
    admin_client.post(url, form({**PARIS, "value": "Rome"}))
    old.refresh_from_db()
    assert old.state == RebuildState.SUPERSEDED
    assert SegmentRebuild.objects.filter(segment=segment).first().reason == \
        "the segment was changed"


def test_progress_needs_view_permission(client, django_user_model):
    segment = create_segment(name="Parisians", definition=PARIS)
    staff = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(staff)
    url = reverse("admin:segments_segment_rebuild_progress", args=[segment.pk])
    assert client.get(url).status_code == 403
