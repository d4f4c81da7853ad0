"""Segments in Chromium at 1366×768: staff write a rule (JSON), see a bad one named by its
path, save a good one, see how many it matches, and find the person in it (screenshots in
artifacts/segments-*.png)."""

from __future__ import annotations

import json

import pytest

from profiles.models import Person
from profiles.services import track
from tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, artifacts_dir, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"segments-{name}.png"), full_page=True)


def test_staff_define_a_segment_and_find_a_person_in_it(staff_page, live_server,
                                                           artifacts_dir):
    page = staff_page
    ann = PersonFactory(name="Ann Parisienne", city="Paris")
    PersonFactory(name="Bob Romano", city="Rome")
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.fill("#id_name", "Parisian shoppers")
    page.fill("#id_definition", json.dumps({"all": [
        {"field": "city", "op": "eq", "value": "paris"},
        {"kind": "page_view", "count": {"op": "gte", "value": "two"}}]}))
    page.click("input[name=_continue]")
    error = page.locator(".errorlist").inner_text()
    assert "$.all[1].count.value" in error
    shot(page, artifacts_dir, "bad-rule")

    page.fill("#id_definition", json.dumps({"all": [
        {"field": "city", "op": "eq", "value": "paris"},
        {"kind": "page_view", "count": {"op": "gte", "value": 1}}]}, indent=1))
    page.click("input[name=_continue]")
    assert "has 0 members now" in page.locator(".messagelist").inner_text()

    track(user_id="ann", kind="page_view", properties={"path": "/shoes"})  # another profile
    Person.objects.filter(user_id="ann").update(city="Paris")
    track(user_id="ann", kind="page_view", properties={"path": "/shoes"})  # enters now
    page.reload()
    assert "1 person" in page.locator(".field-matches").inner_text()
    assert "city is “paris” and at least 1 × page view" in page.content()
    shot(page, artifacts_dir, "change-form")

    page.goto(f"{live_server.url}/admin/segments/segment/")
    assert "Parisian shoppers" in page.locator("#result_list").inner_text()
    shot(page, artifacts_dir, "list")

    member = Person.objects.get(user_id="ann")
    page.goto(f"{live_server.url}/admin/profiles/person/{member.pk}/change/")
    box = page.locator("#person-segments").inner_text()
    assert "Parisian shoppers" in box and "since" in box
    shot(page, artifacts_dir, "person-sidebar")
    assert ann.pk != member.pk

    page.goto(f"{live_server.url}/admin/profiles/person/")
    page.get_by_role("link", name="Parisian shoppers").click()
    names = page.locator("#result_list").inner_text()
    assert member.display_name in names and "Bob Romano" not in names
    shot(page, artifacts_dir, "people-filter")


def test_the_rule_builder_builds_counts_and_saves(staff_page, live_server, artifacts_dir):
    page = staff_page
    ann = PersonFactory(name="Ann Parisienne", city="Paris", page_views=4)
    PersonFactory(name="Paul Parisien", city="paris", page_views=0)
    PersonFactory(name="Bob Romano", city="Rome", page_views=9)
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.fill("#id_name", "Keen Parisians")
    builder = page.locator(".rule-builder")
    builder.get_by_label("value").first.fill("PARIS")
    page.wait_for_function(
        "document.querySelector('.rb-count').textContent.includes('Matches 2 people')")
    builder.get_by_role("button", name="+ Condition").click()
    row = builder.locator(".rb-children > li").nth(1)
    row.get_by_label("field").select_option("page_views")
    row.get_by_label("operator").select_option("gte")
    row.get_by_label("value").fill("3")
    page.wait_for_function(
        "document.querySelector('.rb-count').textContent.includes('Matches 1 person')")
    assert "Ann Parisienne" in page.locator(".rb-sample").inner_text()
    definition = json.loads(page.locator("#id_definition").input_value())
    assert definition == {"all": [{"field": "city", "op": "eq", "value": "PARIS"},
                                  {"field": "page_views", "op": "gte", "value": 3}]}
    builder.get_by_role("button", name="+ Activity").click()
    page.wait_for_function(
        "document.querySelector('.rb-count').textContent.includes('Matches 0 people')")
    builder.get_by_role("button", name="+ Group").click()
    shot(page, artifacts_dir, "builder-activity")
    builder.get_by_role("button", name="Remove").nth(4).click()  # the group (its row comes after)
    builder.get_by_role("button", name="Remove").nth(2).click()
    page.wait_for_function(
        "document.querySelector('.rb-count').textContent.includes('Matches 1 person')")
    builder.get_by_label("value").first.fill("")
    page.wait_for_function(
        "document.querySelector('.rb-count').textContent.includes('$.all[0].value')")
    shot(page, artifacts_dir, "builder-error")
    builder.get_by_label("value").first.fill("paris")
    page.wait_for_function(
        "document.querySelector('.rb-count').textContent.includes('Matches 1 person')")
    shot(page, artifacts_dir, "builder")
    page.click("input[name=_save]")
    assert "has 1 member now" in page.locator(".messagelist").inner_text()
    page.goto(f"{live_server.url}/admin/profiles/person/{ann.pk}/change/")
    assert "Keen Parisians" in page.locator("#person-segments").inner_text()
