"""The rule builder offers `within_days` on a date inside attributes: staff pick
"attribute…", type the path, pick "is within the last", type the days, see the count, save
(screenshot in artifacts/segments-builder-attribute-date.png)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_builder_counts_people_who_bought_this_month(staff_page, live_server, artifacts_dir):
    page = staff_page
    recent = (timezone.now() - dt.timedelta(days=3)).isoformat()
    PersonFactory(name="Ann Recent", attributes={"purchases": {"count": 1, "last_at": recent}})
    PersonFactory(name="Bob Long Ago", attributes={"purchases": {
        "count": 1, "last_at": (timezone.now() - dt.timedelta(days=90)).isoformat()}})
    PersonFactory(name="Carl Garbled", attributes={"purchases": {"last_at": "soon"}})
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.fill("#id_name", "Bought this month")
    builder = page.locator(".rule-builder")
    builder.get_by_label("field").first.select_option("attributes.")
    builder.get_by_label("attribute path").fill("purchases.last_at")
    builder.get_by_label("operator").first.select_option("within_days")
    builder.get_by_label("value").first.fill("30")
    page.wait_for_function(
        "document.querySelector('.rb-count').textContent.includes('Matches 1 person')")
    assert "Ann Recent" in page.locator(".rb-sample").inner_text()
    assert json.loads(page.locator("#id_definition").input_value()) == {"all": [
        {"field": "attributes.purchases.last_at", "op": "within_days", "value": 30}]}
    page.screenshot(path=str(artifacts_dir / "segments-builder-attribute-date.png"),
                    full_page=True)
    page.click("input[name=_save]")
    assert "has 1 member now" in page.locator(".messagelist").inner_text()
