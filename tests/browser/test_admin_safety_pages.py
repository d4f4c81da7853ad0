"""The pages the admin-trust work changed, in Chromium at 1366×768, with screenshots in artifacts/
(admin-*.png) for people to look at."""

from __future__ import annotations

import pytest

from dedup.models import DedupSchedule
from dedup.services import run_dedup
from profiles.models import Identity, MergeRecord, Person
from profiles.services import merge_people
from tests.factories import ActivityFactory, IdentityFactory, PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPOOF = "John \u202egnp.exe"


@pytest.fixture
def staff_page(browser, live_server, admin_user):
    """A superuser in a 1366×768 window, logged in through the login form."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    yield page
    context.close()


def shot(page, artifacts_dir, name: str, full: bool = False) -> None:
    page.screenshot(path=str(artifacts_dir / f"admin-{name}.png"), full_page=full)


def test_person_page_list_and_history(staff_page, live_server, artifacts_dir):
    page = staff_page
    person = PersonFactory(name=SPOOF, email="john@example.com", user_id="u-7", city="Lyon",
                           attributes={"plan": "pro", "purchases": {"count": 3, "revenue": 310},
                                       "products_viewed": {"hat": 2, "scarf": 1}})
    ActivityFactory(person=person, properties={"url": "/shop", "text": "hi \u202e there"})
    IdentityFactory(person=person, kind="user_id", value="u-7")

    page.goto(f"{live_server.url}/admin/profiles/person/")
    assert "John [RLO]gnp.exe" in page.locator("#result_list").inner_text()
    shot(page, artifacts_dir, "person-list-bidi")

    page.goto(f"{live_server.url}/admin/profiles/person/{person.pk}/change/")
    assert "[RLO]" in page.locator("#person-card").inner_text()
    page.locator("fieldset:has-text('Custom attributes')").scroll_into_view_if_needed()
    profiling = page.locator(".field-profiling").inner_text()
    assert "purchases" in profiling and "plan" not in profiling
    assert "purchases" not in page.input_value("#id_attributes")
    shot(page, artifacts_dir, "person-attributes")

    # Somebody else renames the person while the page is open; staff change the name too.
    Person.objects.filter(pk=person.pk).update(name="Johnny")
    page.fill("#id_name", "John Smith")
    page.click("input[name=_continue]")
    message = page.locator(".messagelist").inner_text()
    assert "changed since you opened the page" in message and "John Smith" in message
    assert page.input_value("#id_name") == "Johnny"
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, artifacts_dir, "person-stale-edit")

    version = person.history.earliest().history_id
    page.goto(f"{live_server.url}/admin/profiles/person/{person.pk}/history/{version}/")
    assert page.locator("input[value=Revert]").count() == 0
    assert page.locator("#id_name").count() == 0  # read-only, no inputs
    shot(page, artifacts_dir, "person-history-version")


def test_identity_pages(staff_page, live_server, artifacts_dir):
    page = staff_page
    person = PersonFactory(user_id="u-1")
    user_id = IdentityFactory(person=person, kind="user_id", value="u-1")

    page.goto(f"{live_server.url}/admin/profiles/identity/{user_id.pk}/change/")
    assert page.locator("#id_value").count() == 0
    assert page.locator("input[name=_save]").count() == 0
    shot(page, artifacts_dir, "identity-user-id-read-only")

    page.goto(f"{live_server.url}/admin/profiles/identity/add/")
    options = page.locator("#id_kind option").all_inner_texts()
    assert "User ID" not in options and "Email" in options
    shot(page, artifacts_dir, "identity-add")
    assert Identity.objects.count() == 1


def test_merge_preview_and_journal_of_a_huge_profile(staff_page, live_server, artifacts_dir):
    page = staff_page
    big = PersonFactory(name="Big Bertha", user_id="u-big",
                        attributes={f"key{i:04d}": "v" * 400 for i in range(1500)})
    small = PersonFactory(name="Small \u202eX", email=big.email.upper(),
                          attributes={"key0001": "w", "note": "n" * 5000})

    page.goto(f"{live_server.url}/admin/profiles/person/merge/?ids={big.pk}&ids={small.pk}")
    assert "more custom attributes not shown" in page.locator("#hidden-rows").inner_text()
    assert len(page.content()) < 400_000
    shot(page, artifacts_dir, "merge-preview-huge")
    page.locator("#hidden-rows").scroll_into_view_if_needed()
    shot(page, artifacts_dir, "merge-preview-huge-end")

    page.goto(f"{live_server.url}/admin/profiles/person/merge/?ids={big.pk}&ids={small.pk}"
              "&base=99999999")
    assert "not found" in page.locator(".messagelist").inner_text()
    shot(page, artifacts_dir, "merge-missing-base")

    merge_people(base=big, others=[small], reason="manual")
    record = MergeRecord.objects.get()
    page.goto(f"{live_server.url}/admin/profiles/mergerecord/{record.pk}/change/")
    assert "more custom attributes not shown" in page.content()
    assert "[RLO]" in page.content()
    shot(page, artifacts_dir, "journal-huge")


def test_duplicates_dedup_report_schedule_and_login(staff_page, browser, live_server,
                                                     artifacts_dir):
    page = staff_page
    PersonFactory(name="Eve \u202eevE", email="=cmd|'/ccalc'!a0@x.example",
                  user_id='=HYPERLINK("http://x.example","y")')
    PersonFactory(name="Eve 2", email="=CMD|'/ccalc'!a0@x.example")

    page.goto(f"{live_server.url}/admin/profiles/person/duplicates/?after=zzzz")
    assert "no longer exists" in page.locator(".messagelist").inner_text()
    shot(page, artifacts_dir, "duplicates-stale-page")

    run = run_dedup(dry_run=True)
    page.goto(f"{live_server.url}/admin/dedup/deduprun/{run.pk}/report/")
    assert "would merge" in page.content()
    shot(page, artifacts_dir, "dedup-report")

    schedule, _ = DedupSchedule.objects.get_or_create(name="Nightly dedup")
    page.goto(f"{live_server.url}/admin/dedup/dedupschedule/{schedule.pk}/change/")
    page.fill("#id_every_days", "2147483647")
    page.click("input[name=_save]")
    assert "3650" in page.locator(".errorlist").inner_text()
    shot(page, artifacts_dir, "schedule-interval-error")

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    login = context.new_page()
    for _ in range(6):
        login.goto(f"{live_server.url}/admin/login/?next=/admin/")
        login.fill("#id_username", "admin")
        login.fill("#id_password", "wrong")
        login.click("input[type=submit]")
    assert "refused for 15 minutes" in login.content()
    shot(login, artifacts_dir, "login-locked-out")
    context.close()
