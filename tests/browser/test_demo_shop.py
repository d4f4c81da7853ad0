"""Two devices browse the demo shop, chat, then log in as the same user: one person in the admin.

Drives the real snippet (onefold.js) in Debian's Chromium against live_server, so the whole
path is exercised: first-party anonymous id, page views, chat, identify and the merge.
"""

from __future__ import annotations

import pytest

from profiles.models import Activity, ActivityKind, Conversation, MergeRecord, Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IDLE = "window.onefold && window.onefold.idle()"


def open_shop(browser, url: str, **context_options):
    context = browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{url}/demo/")
    page.wait_for_function(IDLE)
    return context, page


def browse_and_chat(page, *, product: str, message: str) -> None:
    page.click(f"a[data-sku='{product}']")
    page.wait_for_load_state("load")
    page.wait_for_function(IDLE)
    page.fill("#chat-text", message)
    page.click("#chat-form button")
    page.wait_for_function(IDLE)


def log_in(page, *, user_id: str, email: str = "") -> None:
    page.fill("#user-id", user_id)
    if email:
        page.fill("#email", email)
    page.click("#login-form button")
    page.wait_for_function(IDLE)
    page.wait_for_selector("#status:has-text('user " + user_id + "')")


def test_two_devices_are_stitched_into_one_person_with_one_history(
    browser, live_server, settings, admin_page, artifacts_dir
):
    from profiles.services.sites import ensure_demo_site

    settings.ONEFOLD_DEMO = True
    ensure_demo_site()  # as `manage.py seed_demo` does
    phone_context, phone = open_shop(
        browser, live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    laptop_context, laptop = open_shop(browser, live_server.url)
    try:
        browse_and_chat(phone, product="mug-otter", message="Hi from my phone")
        browse_and_chat(laptop, product="lamp-heron", message="Hi from my laptop")
        phone_id = phone.evaluate("onefold.anonymousId()")
        laptop_id = laptop.evaluate("onefold.anonymousId()")
        assert phone_id != laptop_id
        assert Person.objects.filter(merged_into__isnull=True).count() == 2  # two visitors

        log_in(phone, user_id="shopper-42", email="shopper@example.com")
        log_in(laptop, user_id="shopper-42")
        laptop.fill("#chat-text", "Still me, on the laptop")
        laptop.click("#chat-form button")
        laptop.wait_for_function(IDLE)
        laptop.screenshot(path=str(artifacts_dir / "demo_shop_laptop.png"), full_page=True)
    finally:
        phone_context.close()
        laptop_context.close()

    person = Person.objects.get(merged_into__isnull=True)
    assert person.user_id == "shopper-42" and person.email == "shopper@example.com"
    assert set(person.identities.filter(kind="anonymous_id").values_list("value", flat=True)) == {
        phone_id, laptop_id}
    views = Activity.objects.filter(kind=ActivityKind.PAGE_VIEW)
    assert views.count() == 4 and set(views.values_list("person_id", flat=True)) == {person.pk}
    assert person.page_views == 4
    assert person.attributes["products_viewed"] == {"mug-otter": 1, "lamp-heron": 1}
    chats = person.activities.filter(kind=ActivityKind.CHAT_MESSAGE)
    assert set(chats.values_list("properties__text", flat=True)) == {
        "Hi from my phone", "Hi from my laptop", "Still me, on the laptop"}
    assert set(Conversation.objects.values_list("person_id", flat=True)) == {person.pk}
    assert MergeRecord.objects.filter(reason="identify").count() == 1

    admin_page.goto(f"{live_server.url}/admin/profiles/person/{person.pk}/change/")
    body = admin_page.content()
    for text in ("shopper-42", "Hi from my phone", "Hi from my laptop", phone_id, laptop_id):
        assert text in body
    assert admin_page.locator("#person-counters").inner_text().count("4") >= 1
    admin_page.screenshot(path=str(artifacts_dir / "demo_shop_stitched_person.png"),
                          full_page=True)
