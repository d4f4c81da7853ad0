"""A big segment's rebuild in Chromium at 1366×768 (Europe/Paris): saving sends it to the
workers, and the segment page follows its progress without a reload until it is over
(screenshots in artifacts/segment-rebuild-*.png)."""

from __future__ import annotations

import json

import pytest

from segments.models import Segment, SegmentRebuild
from segments.services.rebuild import finish_if_complete, process_chunk
from tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_segment_page_follows_a_rebuild_on_the_workers(staff_page, live_server,
                                                            artifacts_dir, settings,
                                                            monkeypatch):
    settings.SEGMENT_REBUILD_INLINE_MAX, settings.SEGMENT_REBUILD_CHUNK_PEOPLE = 3, 3
    sent: list[tuple] = []  # the chunk tasks the save sends: this test is the worker
    monkeypatch.setattr("segments.tasks.rebuild_chunk_task.delay",
                        lambda *args: sent.append(args))
    for n in range(12):
        PersonFactory(city=("Paris", "Rome", "Lyon")[n % 3])
    page = staff_page
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.fill("#id_name", "Parisians")
    page.fill("#id_definition", json.dumps({"field": "city", "op": "eq", "value": "Paris"}))
    page.click("input[name=_continue]")
    assert "being rebuilt by the background workers" in \
        page.locator(".messagelist").inner_text()
    line = page.locator(".field-rebuild .readonly")
    assert "Rebuilding on the background workers: 0 of 4 parts done" in line.inner_text()
    assert "CET by admin (the segment was created)" in line.inner_text()
    assert len(sent) == 4

    rebuild = SegmentRebuild.objects.get(segment=Segment.objects.get())
    chunks = list(rebuild.chunks.order_by("index"))
    for chunk in chunks[:2]:
        process_chunk(chunk_id=chunk.pk)
    page.wait_for_function("document.querySelector('.field-rebuild .readonly')"
                           ".textContent.includes('2 of 4 parts done')")
    line.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "segment-rebuild-running.png"))

    for chunk in chunks[2:]:
        process_chunk(chunk_id=chunk.pk)
    finish_if_complete(rebuild_id=rebuild.pk)
    page.wait_for_function("document.querySelector('.field-rebuild .readonly')"
                           ".textContent.includes('Last rebuild finished')")
    text = line.inner_text()
    assert "4 people entered and 0 people left; 4 members then." in text
    assert page.locator(".field-members .readonly").inner_text() == "4"  # followed too
    assert "CET" in page.locator(".field-last_rebuild .readonly").inner_text()
    page.screenshot(path=str(artifacts_dir / "segment-rebuild-finished.png"))
