"""Decisions that stick, in Chromium at 1366×768 (Europe/Paris): an undone merge is not redone by
the next dedup, and a conflict is resolved by marking its people as different. Screenshots in
artifacts/ (decisions-*.png) for people to look at."""

from __future__ import annotations

import pytest

from dedup.models import DedupConflict
from dedup.services import run_dedup
from profiles.models import MergeRecord, Person
from tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, artifacts_dir, name: str, full: bool = False) -> None:
    page.screenshot(path=str(artifacts_dir / f"decisions-{name}.png"), full_page=full)


def live(person: Person) -> bool:
    person.refresh_from_db()
    return person.merged_into_id is None


def test_undo_a_merge_then_the_dedup_keeps_the_people_apart(staff_page, live_server,
                                                              artifacts_dir):
    page = staff_page
    ann = PersonFactory(name="Ann Lee", email="ann@example.com", user_id="ann-1")
    mother = PersonFactory(name="Ann Lee senior", email="ANN@example.com")
    run_dedup()  # the night's dedup merges them (same email)
    record = MergeRecord.objects.get(base=ann)

    page.goto(f"{live_server.url}/admin/profiles/mergerecord/{record.pk}/change/")
    page.click("#undo-button")
    with page.expect_navigation():
        page.click("#confirm-undo")
    assert live(mother)

    again = run_dedup()  # the next night
    dry = run_dedup(dry_run=True)
    assert live(mother) and live(ann)
    assert again.groups_merged == dry.groups_merged == 0 and again.kept_apart == 1

    page.goto(f"{live_server.url}/admin/profiles/person/{ann.pk}/change/")
    box = page.locator("#person-kept-apart")
    assert "Ann Lee senior" in box.inner_text()
    assert f"Merge #{record.pk} was undone" in box.inner_text()
    assert "Remove the mark…" in box.inner_text()
    box.scroll_into_view_if_needed()
    shot(page, artifacts_dir, "person-page-marks")

    page.goto(f"{live_server.url}/admin/dedup/deduprun/{again.pk}/report/")
    row = page.locator(".report-row").first
    assert "split: people marked as different" in row.inner_text()
    assert "Marked as not the same person" in row.inner_text()
    assert "1 group split (kept apart)" in page.locator("#content-main").inner_text()
    shot(page, artifacts_dir, "report-kept-apart")


def test_a_conflict_is_resolved_by_marking_its_people_different(staff_page, live_server,
                                                                 artifacts_dir):
    page = staff_page
    PersonFactory(name="Sam Stone", email="sam@example.com", user_id="s-1")
    PersonFactory(name="Samantha Stone", email="SAM@example.com", user_id="s-2")
    PersonFactory(name="S. Stone", email="sam@example.com")
    run_dedup(dry_run=True)
    conflict = DedupConflict.objects.get()

    page.goto(f"{live_server.url}/admin/profiles/person/duplicates/")
    group = page.locator(".dup-group", has_text="sam@example.com")
    assert "Merge this group" not in group.inner_text()
    assert "Merge the one without a user ID into Sam Stone" in group.inner_text()
    shot(page, artifacts_dir, "suspected-duplicates-conflict")

    page.goto(f"{live_server.url}/admin/dedup/dedupconflict/")
    table = page.locator("#result_list")
    assert "s-1" in table.inner_text() and "s-2" in table.inner_text()
    assert "Merge S. Stone into Sam Stone" in table.inner_text()
    assert "Merge this group" not in page.content()
    right = page.evaluate("document.querySelector('#result_list').getBoundingClientRect().right")
    assert right <= 1366, "the conflicts table is wider than the screen"
    shot(page, artifacts_dir, "conflicts")

    page.click("a.conflict-mark")
    page.wait_for_selector("#confirm-mark")
    assert "each from every other" in page.content()
    shot(page, artifacts_dir, "mark-confirmation")
    page.fill("#id_reason", "Three different customers of the same family")
    with page.expect_navigation():
        page.click("#confirm-mark")

    assert "Marked as not the same person" in page.locator(".messagelist").inner_text()
    assert "resolved: kept apart" in page.locator("#result_list").inner_text()
    shot(page, artifacts_dir, "conflict-resolved")
    run = run_dedup()
    assert run.conflicts == 0 and run.groups_merged == 0
    assert all(live(p) for p in Person.objects.filter(pk__in=conflict.person_ids))

    page.goto(f"{live_server.url}/admin/profiles/person/duplicates/")
    assert "everyone sharing it is marked as not the same person" in page.content()
    assert page.locator("#mark-selected-duplicates").count() == 0  # nothing left to select
    shot(page, artifacts_dir, "suspected-duplicates")


def test_a_typed_email_left_out_is_shown_with_its_evidence_and_kept_apart(
        staff_page, live_server, artifacts_dir):
    from profiles.models import Identity, IdentityKind, IdentityTrust, PersonStatus

    page = staff_page
    victor = PersonFactory(name="Victor Hugo", email="victor@corp.example", user_id="V-1")
    mallory = PersonFactory(name="Mallory", email="victor@corp.example",
                            status=PersonStatus.VISITOR)
    Identity.objects.create(person=mallory, original_person=mallory, kind=IdentityKind.EMAIL,
                            value="victor@corp.example", trust=IdentityTrust.TYPED)
    run = run_dedup(dry_run=True)

    page.goto(f"{live_server.url}/admin/dedup/deduprun/{run.pk}/report/")
    row = page.locator(".report-row").first
    assert "left out: email only typed (needs review)" in row.inner_text()
    assert "typed in chat" in row.inner_text() and "user ID V-1" in row.inner_text()
    shot(page, artifacts_dir, "report-needs-review")

    page.click("a.report-decide")
    page.wait_for_selector("#result_list")
    assert "Needs review" in page.locator("#result_list").inner_text()
    shot(page, artifacts_dir, "review-row")
    page.click("a.conflict-mark")
    page.fill("#id_reason", "A visitor typed a customer's address in chat")
    with page.expect_navigation():
        page.click("#confirm-mark")
    assert "resolved: kept apart" in page.locator("#result_list").inner_text()
    assert run_dedup().needs_review == 0 and live(mallory) and live(victor)
