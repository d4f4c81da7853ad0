"""Suspects holding another user ID, in Chromium at 1366×768 (issue 14): the pick page and the
person page say why they cannot be merged and lead to the mark page, never to a preview that
refuses. Screenshots in artifacts/ (conflicts-*.png) for people to look at."""

from __future__ import annotations

import pytest

from tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENTENCE = "Holds a different user ID (ann-2): two user IDs are never merged."


@pytest.fixture
def people():
    ann = PersonFactory(name="Ann Lee", email="ann@example.com", user_id="ann-1", city="Paris")
    other = PersonFactory(name="Ann Lee", email="ANN@example.com", user_id="ann-2", city="Lyon")
    plain = PersonFactory(name="Ann L.", email="ann@example.com ", city="Paris")
    return ann, other, plain


def test_the_pick_page_explains_and_offers_the_mark(staff_page, live_server, artifacts_dir,
                                                     people):
    page = staff_page
    ann, other, plain = people

    page.goto(f"{live_server.url}/admin/profiles/person/{ann.pk}/merge/")
    rows = page.locator("#merge-suggestions tr.suspect")
    refused = rows.filter(has_text=f"#{other.pk}")
    mergeable = rows.filter(has_text=f"#{plain.pk}")
    assert SENTENCE in refused.inner_text()
    assert refused.locator(".suspect-merge").count() == 0
    assert mergeable.locator(".suspect-merge").count() == 1
    page.screenshot(path=str(artifacts_dir / "conflicts-pick-page.png"), full_page=True)

    with page.expect_navigation():
        refused.locator(".suspect-apart").click()
    assert "/admin/dedup/keptapart/mark/" in page.url
    assert f"(#{other.pk})" in page.locator("#content").inner_text()


def test_the_person_page_sidebar_explains_and_opens_the_other(staff_page, live_server,
                                                              artifacts_dir, people):
    page = staff_page
    ann, other, plain = people

    page.goto(f"{live_server.url}/admin/profiles/person/{ann.pk}/change/")
    box = page.locator("#person-suspects")
    refused = box.locator("li.suspect").filter(has_text=f"#{other.pk}")
    assert SENTENCE in refused.inner_text()
    assert refused.locator(".suspect-merge").count() == 0
    assert box.locator("li.suspect").filter(has_text=f"#{plain.pk}").locator(
        ".suspect-merge").count() == 1
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "conflicts-person-sidebar.png"))

    with page.expect_navigation():
        refused.locator(".suspect-open").click()
    assert page.url.endswith(f"/admin/profiles/person/{other.pk}/change/")
