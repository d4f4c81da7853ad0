"""Staff merge two profiles in a real browser, override one field, then undo it."""

from __future__ import annotations

import pytest

from profiles.models import MergeRecord, Person
from tests.factories import ActivityFactory, PersonFactory, PersonTagFactory, TagFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_merge_with_override_then_undo(admin_page, live_server, artifacts_dir):
    page = admin_page
    base = PersonFactory(name="Ann Lee", email="ann@example.com", user_id="u-1", city="Paris")
    dup = PersonFactory(name="Ann L.", email="ANN@example.com", city="Lyon", phone="+33 6 12",
                        attributes={"plan": "pro"})
    ActivityFactory.create_batch(3, person=dup)
    vip = TagFactory(name="VIP")
    PersonTagFactory(person=base, tag=vip)
    PersonTagFactory(person=dup, tag=vip)  # the base holds it: stays parked on the duplicate

    page.goto(f"{live_server.url}/admin/profiles/person/{base.pk}/change/")
    page.click("#merge-button")
    page.wait_for_selector("#merge-pick-form")

    # Pick the duplicate with the admin autocomplete (select2 + PersonAdmin search).
    page.click("#merge-pick-form .select2-selection")
    page.keyboard.type("Ann L.")
    page.locator(".select2-results__option", has_text="Ann L.").first.click()
    page.screenshot(path=str(artifacts_dir / "merge-pick.png"), full_page=True)
    page.click("#merge-pick-form input[type=submit]")
    page.wait_for_selector("#merge-preview-table")

    city_base = page.locator(f'input[name="choice:city"][value="{base.pk}"]')
    city_dup = page.locator(f'input[name="choice:city"][value="{dup.pk}"]')
    assert city_base.is_checked() and not city_dup.is_checked()  # the rule keeps the base's
    city_dup.check()  # staff override: the duplicate's city wins
    row = page.locator('tr[data-field="city"]')
    assert row.locator("td.result").inner_text() == "Lyon"
    moves = page.locator("#merge-moves").inner_text()
    assert "3 activities" in moves and "person tags" not in moves.split(".")[0]
    assert "1 stays where it is (parked)" in page.locator("#merge-moves .parked").inner_text()
    page.screenshot(path=str(artifacts_dir / "merge-preview.png"), full_page=True)

    page.click("#confirm-merge")
    page.wait_for_url(f"**/admin/profiles/person/{base.pk}/change/")
    assert "Merged Ann L. into Ann Lee" in page.locator(".messagelist").inner_text()
    assert page.input_value("#id_city") == "Lyon"
    assert page.input_value("#id_phone") == "+33 6 12"  # filled from the duplicate by rule
    page.screenshot(path=str(artifacts_dir / "merge-done.png"), full_page=True)
    record = MergeRecord.objects.get()
    assert Person.objects.get(pk=dup.pk).merged_into_id == base.pk

    page.click(f".messagelist a:has-text('Journal entry #{record.pk}')")
    page.wait_for_selector("#undo-button")
    assert "chosen by staff" in page.content()
    page.screenshot(path=str(artifacts_dir / "merge-journal-entry.png"), full_page=True)
    page.click("#undo-button")
    page.click("#confirm-undo")
    page.wait_for_url(f"**/admin/profiles/person/{base.pk}/change/")
    assert "separate again" in page.locator(".messagelist").inner_text()
    assert page.input_value("#id_city") == "Paris"

    page.goto(f"{live_server.url}/admin/profiles/person/{dup.pk}/change/")
    assert page.input_value("#id_name") == "Ann L."  # no redirect: a live profile again
    assert page.input_value("#id_city") == "Lyon"
    dup.refresh_from_db()
    assert dup.merged_into_id is None and dup.activities.filter(kind="page_view").count() == 3


def test_suspected_duplicates_delete_one_after_confirmation(admin_page, live_server,
                                                             artifacts_dir):
    page = admin_page
    keep = PersonFactory(name="Bob Stone", email="bob@example.com", user_id="u-9")
    spam = PersonFactory(name="Bob S", email="BOB@example.com")
    ActivityFactory.create_batch(2, person=spam)

    page.goto(f"{live_server.url}/admin/")
    page.click("#profiles-shortcuts a:has-text('Suspected duplicates')")
    page.wait_for_selector(".dup-group")
    page.screenshot(path=str(artifacts_dir / "suspected-duplicates.png"), full_page=True)
    page.check(f'input[name="ids"][value="{spam.pk}"]')
    page.click("#delete-selected-duplicates")
    page.wait_for_selector("#deletion-plan")
    assert "Activities: 2" in page.locator("#deletion-plan").inner_text()
    page.screenshot(path=str(artifacts_dir / "delete-confirmation.png"), full_page=True)
    page.click("#confirm-delete")
    page.wait_for_selector(".messagelist")
    assert "Deleted 1 person" in page.locator(".messagelist").inner_text()
    assert not Person.objects.filter(pk=spam.pk).exists()
    assert Person.objects.filter(pk=keep.pk).exists()
