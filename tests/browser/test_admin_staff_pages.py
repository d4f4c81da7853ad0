"""The pages a support person reads, in Chromium at 1366×768 (Europe/Paris), with screenshots in
artifacts/ (staff-*.png) for people to look at: the person page's timeline and profile panel,
custom attributes as rows, the merge pick and journal, and lists that show every column."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dedup.models import DedupSchedule
from dedup.services import run_dedup
from profiles.models import MergeRecord, Person
from profiles.services import merge_people, track
from profiles.services.chat import chat_message
from tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = '<img src=x onerror="window.hacked=1">'


def shot(page, artifacts_dir, name: str, full: bool = False) -> None:
    page.screenshot(path=str(artifacts_dir / f"staff-{name}.png"), full_page=full)


def a_customer() -> Person:
    """A visitor found on Google, who browsed, chatted, bought and read an email."""
    device = {"anonymous_id": "dev-staff-ui"}
    start = timezone.now() - timedelta(days=20)
    track(**device, kind="page_view", occurred_at=start, properties={
        "url": "https://shop.example.com/?utm_source=newsletter&utm_medium=email"
               "&utm_campaign=spring-sale", "title": "Otter & Co.",
        "referrer": "https://www.google.com/search?q=running+shoes"})
    track(**device, kind="page_view", occurred_at=start + timedelta(minutes=1), properties={
        "url": "javascript:alert(document.cookie)", "title": SCRIPT, "category": "Shoes",
        "product": "Runner 2"})
    chat_message(**device, text=f"Hi! Size 44? {SCRIPT}",
                 occurred_at=start + timedelta(minutes=2))
    track(**device, kind="purchase", occurred_at=start + timedelta(days=10),
          properties={"amount": 129, "currency": "EUR", "products": ["Runner 2"],
                      "note": "x" * 400})
    track(**device, kind="email_opened", occurred_at=start + timedelta(days=15),
          properties={"subject": "Spring sale: 20% off", "campaign": "spring-sale"})
    person = Person.objects.get(identities__value="dev-staff-ui")
    Person.objects.filter(pk=person.pk).update(name="Inès Duval", email="ines@example.com",
                                               attributes={**person.attributes, "plan": "pro"})
    other = PersonFactory(name="Inès D.", email="INES@example.com")
    merge_people(base=person, others=[other], reason="manual")
    return Person.objects.get(pk=person.pk)


def test_person_page_timeline_and_profile_panel(staff_page, live_server, artifacts_dir):
    page = staff_page
    person = a_customer()

    page.goto(f"{live_server.url}/admin/profiles/person/{person.pk}/change/")
    panel = page.locator("#profile-panel")
    rows = {row.get_attribute("data-row"): row.locator("td").inner_text()
            for row in panel.locator("tr.profile-row").all()}
    assert "www.google.com" in rows["first_source"]
    assert "searched “running shoes”" in rows["first_source"]
    assert "campaign “spring-sale” (newsletter / email)" in rows["first_source"]
    assert rows["purchases"].startswith("1 purchase, 129.00 in total; last on ")
    assert rows["products"] == "Runner 2 (1)" and rows["categories"] == "Shoes (1)"
    assert rows["email"].startswith("0 sent · 1 opened")
    assert "CET" in rows["first_source"] or "CEST" in rows["first_source"]
    shot(page, artifacts_dir, "person-profile-panel")

    timeline = page.locator("#timeline")
    timeline.scroll_into_view_if_needed()
    text = timeline.inner_text()
    assert "Merged with Inès D." in text and "journal #" in text
    assert "Was sent an email" not in text and "Opened an email: “Spring sale: 20% off”" in text
    assert "Bought for 129.00 EUR: Runner 2" in text
    assert "Inès Duval wrote:" in text and SCRIPT in text  # shown as text, not run
    assert "{'" not in text and "['" not in text
    assert timeline.locator('a[href^="javascript"]').count() == 0
    assert page.evaluate("window.hacked") is None
    assert page.locator('#timeline a[href="https://www.google.com/search?q=running+shoes"]'
                        ).count() == 1
    # Long values wrap inside the page instead of widening it.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shot(page, artifacts_dir, "person-timeline")
    shot(page, artifacts_dir, "person-page-full", full=True)


def test_custom_attributes_are_edited_as_rows(staff_page, live_server, artifacts_dir):
    page = staff_page
    person = PersonFactory(name="Bea", attributes={"plan": "pro",
                                                   "purchases": {"count": 2, "revenue": 20}})

    page.goto(f"{live_server.url}/admin/profiles/person/{person.pk}/change/")
    box = page.locator(".attribute-rows")
    box.scroll_into_view_if_needed()
    assert box.locator("input.attribute-name").first.input_value() == "plan"
    assert "purchases" not in [field.input_value()
                               for field in box.locator("input.attribute-name").all()]
    box.locator(".attribute-add").click()
    row = box.locator("tr.attribute-row").last
    row.locator("input.attribute-name").fill("seats")
    row.locator("select").select_option("number")
    row.locator("textarea").fill("12")
    box.locator("tr.attribute-row").first.locator("textarea").fill("team")
    shot(page, artifacts_dir, "person-attribute-rows")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist")
    assert Person.objects.get(pk=person.pk).attributes == {
        "plan": "team", "seats": 12, "purchases": {"count": 2, "revenue": 20}}

    box = page.locator(".attribute-rows")
    box.locator(".attribute-add").click()
    row = box.locator("tr.attribute-row").last
    row.locator("input.attribute-name").fill("age")
    row.locator("select").select_option("number")
    row.locator("textarea").fill("twelve")
    page.click("input[name=_continue]")
    assert "age: “twelve” is not a number." in page.locator(".errorlist").inner_text()
    box = page.locator(".attribute-rows")
    box.scroll_into_view_if_needed()
    shot(page, artifacts_dir, "person-attribute-error")


def test_merge_pick_shows_who_each_person_is_and_the_journal_reads_well(
        staff_page, live_server, artifacts_dir):
    page = staff_page
    ann = PersonFactory(name="Ann Lee", email="ann@example.com", user_id="u-3", city="")
    a_lee = PersonFactory(name="Ann Lee", email="ANN.LEE@example.com", city="Paris")

    page.goto(f"{live_server.url}/admin/profiles/person/{ann.pk}/merge/")
    page.click("#merge-pick-form .select2-selection")
    page.keyboard.type("Ann")
    options = page.locator(".select2-results__option:not(.loading-results)")
    options.first.wait_for()
    texts = options.all_inner_texts()
    assert texts == [f"Ann Lee · ANN.LEE@example.com · #{a_lee.pk}"]  # never Ann herself
    shot(page, artifacts_dir, "merge-pick-search")
    options.first.click()
    page.click("#merge-pick-form input[type=submit]")
    page.wait_for_selector("#merge-preview-table")
    assert page.locator('tr[data-field="status"] td.result').inner_text() == "User"
    assert "Avatar" in page.locator('tr[data-field="avatar_seed"]').inner_text()
    _every_column_visible(page, "#merge-preview-table")
    shot(page, artifacts_dir, "merge-preview")

    page.click("#confirm-merge")
    page.wait_for_selector(".messagelist")
    record = MergeRecord.objects.get()
    page.goto(f"{live_server.url}/admin/profiles/mergerecord/{record.pk}/change/")
    title = page.locator("h1").inner_text()
    assert title == f"Merge #{record.pk}: Ann Lee (#{ann.pk}) ← Ann Lee (#{a_lee.pk})"
    city = page.locator("table.merge-journal tr", has_text="City").inner_text()
    assert "Paris" in city
    # The journal stores a rule code; staff read its sentence.
    assert "base empty: first non-empty in rule order" in city and "filled" not in city
    rules = page.locator("table.merge-journal td.rule").all_inner_texts()
    assert "base value kept" in rules and "sum of all" in rules and "kept" not in rules
    shot(page, artifacts_dir, "journal-entry", full=True)

    page.goto(f"{live_server.url}/admin/profiles/mergerecord/?undone=no")
    assert "By undone" in page.locator("#changelist-filter").inner_text()
    assert page.locator("#result_list tbody tr").count() == 1
    shot(page, artifacts_dir, "journal-list")


def _every_column_visible(page, table: str, beside: str | None = None) -> None:
    """The table's last header cell ends inside the window, left of `beside` (the filters),
    and the table does not scroll sideways."""
    last = page.locator(f"{table} thead th").last.bounding_box()
    limit = page.locator(beside).bounding_box()["x"] if beside else 1366
    assert last["x"] + last["width"] <= limit + 1, (last, limit)
    overflow = page.evaluate(
        "(selector) => { const t = document.querySelector(selector);"
        " const box = t.closest('.results') || t.parentElement;"
        " return box.scrollWidth - box.clientWidth; }", table)
    assert overflow <= 1


@pytest.mark.parametrize("navigation", ["folded", "open"])
def test_lists_show_every_column_at_1366(staff_page, live_server, artifacts_dir, navigation):
    page = staff_page
    for n in range(3):
        PersonFactory(email=f"someone.with.a.long.address.{n}@example.com", user_id=f"u-{n}",
                      last_seen=timezone.now(), page_views=1234)
        PersonFactory(email=f"SOMEONE.WITH.A.LONG.ADDRESS.{n}@EXAMPLE.COM")
    run_dedup(dry_run=True)
    if navigation == "open":
        page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'true')")

    page.goto(f"{live_server.url}/admin/profiles/person/")
    assert page.locator("#nav-sidebar").is_visible() == (navigation == "open")
    _every_column_visible(page, "#result_list", beside="#changelist-filter")
    shot(page, artifacts_dir, f"people-list-{navigation}")

    page.goto(f"{live_server.url}/admin/dedup/deduprun/")
    _every_column_visible(page, "#result_list", beside="#changelist-filter")
    assert "would merge" in page.locator("#result_list").inner_text()
    shot(page, artifacts_dir, f"dedup-runs-{navigation}")

    page.goto(f"{live_server.url}/admin/profiles/person/duplicates/")
    headers = page.locator(".dup-group th:has-text('Email')").all()
    assert len(headers) == 3 and len({round(h.bounding_box()["x"]) for h in headers}) == 1
    assert page.locator("#delete-selected-duplicates-top").is_visible()
    assert page.locator("#mark-selected-duplicates-top").is_visible()
    assert page.locator("#duplicates-actions-bottom input[type=submit]").count() == 2
    _every_column_visible(page, ".dup-group table")
    shot(page, artifacts_dir, f"suspected-duplicates-{navigation}")


def test_dedup_pages_read_for_people(staff_page, live_server, artifacts_dir):
    page = staff_page
    for n in range(3):
        PersonFactory(email=f"pair{n}@example.com", name=f"Base {n}", user_id=f"u{n}", city="")
        PersonFactory(email=f"PAIR{n}@example.com", name=f"Dup {n}", city="Lyon")
    PersonFactory(email="sam@example.com", user_id="s-1")
    PersonFactory(email="sam@example.com", user_id="s-2")
    run = run_dedup(dry_run=True)

    page.goto(f"{live_server.url}/admin/dedup/deduprun/{run.pk}/report/")
    assert "Rules (the letter after each value says which chose it)" in page.content()
    assert page.locator(".report-row").count() == 4
    assert "City: Lyon — from Dup 0" in page.locator("#report-table").inner_text()
    _every_column_visible(page, "#report-table")
    shot(page, artifacts_dir, "dedup-report")
    with page.expect_navigation():
        page.click("#show-conflicts")
    assert page.locator(".report-row").count() == 1
    shot(page, artifacts_dir, "dedup-report-conflicts")

    page.goto(f"{live_server.url}/admin/dedup/deduprun/run-now/")
    assert f"The last dry run (#{run.pk}" in page.locator("#last-dry-run").inner_text()
    shot(page, artifacts_dir, "dedup-run-now")

    DedupSchedule.objects.get_or_create(name="Nightly dedup")  # flushed by transaction=True
    page.goto(f"{live_server.url}/admin/dedup/dedupschedule/")
    text = page.locator("#result_list").inner_text()
    assert "02:00 Europe/Paris — next run" in text and "UTC)" in text
    shot(page, artifacts_dir, "dedup-schedules")
