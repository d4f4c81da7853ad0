"""The tracking snippet in a real browser: ids, cookies, retries, errors, async and double loads.

Pages are served through Playwright routes on the live server's origin (so API calls reach the
real server) or on https://shop.example (cookie attributes only, no API call).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiles.models import Activity, ActivityKind, Person, Site
from profiles.services.sites import issue_site_key, user_hash
from tests.factories import SiteFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SNIPPET = (Path(__file__).resolve().parents[2] / "api" / "static" / "onefold" / "onefold.js")
IDLE = "window.onefold && window.onefold.idle && window.onefold.idle()"


@pytest.fixture
def key():
    return issue_site_key(site=SiteFactory(allowed_origins="", require_identity_verification=False))


def serve(page, url: str, html: str) -> None:
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))


def html_page(key: str, *, before: str = "", attributes: str = "", extra: str = "",
              after: str = "") -> str:
    return (f"<!doctype html><html><head><title>Review page</title>{before}"
            f'<script src="/onefold.js" data-key="{key}" {attributes}></script>{extra}'
            f"</head><body><p>hi</p>{after}</body></html>")


def record_api(page) -> list[dict]:
    sent: list[dict] = []
    page.on("request", lambda request: sent.append(
        {"url": request.url, "body": json.loads(request.post_data)})
        if "/api/v1/" in request.url else None)
    return sent


def test_page_view_carries_referrer_utm_and_one_message_id(page, live_server, key):
    serve(page, f"{live_server.url}/shop/**", html_page(key))
    page.goto(f"{live_server.url}/shop/landing?utm_source=news&utm_campaign=fall&gclid=abc",
              referer="https://www.google.com/")
    page.wait_for_function(IDLE)

    view = Activity.objects.get(kind=ActivityKind.PAGE_VIEW)
    props = view.properties
    assert props["utm_source"] == "news" and props["utm_campaign"] == "fall"
    assert props["gclid"] == "abc" and props["referrer"] == "https://www.google.com/"
    assert props["path"] == "/shop/landing" and props["title"] == "Review page"
    assert view.message_id


def test_async_and_defer_work_and_a_queued_identify_is_sent_after_load(page, live_server, key):
    stub = ('<script>window.onefold=window.onefold||{q:[]};["identify","track","chat","page",'
            '"reset"].forEach(function(m){onefold[m]=onefold[m]||function(){onefold.q.push('
            '[m,arguments])}})</script>')
    call = '<script>onefold.identify("cust-1", {email: "a@example.com"});</script>'
    for attributes in ("async", "defer"):
        Person.objects.all().delete()
        serve(page, f"{live_server.url}/shop/**", html_page(key, before=stub,
                                                              attributes=attributes, extra=call))
        page.goto(f"{live_server.url}/shop/{attributes}")
        page.wait_for_function(IDLE)
        page.wait_for_function("onefold.userId() === 'cust-1'")
        person = Person.objects.get(user_id="cust-1")
        assert person.email == "a@example.com"


def test_without_the_stub_an_inline_call_after_an_async_tag_fails(page, live_server, key):
    # What the docs' example did: onefold is not defined yet when the inline script runs.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    call = '<script>onefold.track("x");</script>'
    serve(page, f"{live_server.url}/shop/**", html_page(key, attributes="async", extra=call))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)
    assert any("onefold is not defined" in error for error in errors)


def test_double_inclusion_sends_one_page_view_and_keeps_one_global(page, live_server, key):
    twice = f'<script src="/onefold.js?again" data-key="{key}"></script>'
    serve(page, f"{live_server.url}/shop/**", html_page(key, extra=twice))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)
    page.wait_for_timeout(300)

    assert Activity.objects.filter(kind=ActivityKind.PAGE_VIEW).count() == 1
    added = page.evaluate("""() => {
        const frame = document.createElement('iframe'); document.body.appendChild(frame);
        const clean = new Set(Object.keys(frame.contentWindow));
        return Object.keys(window).filter(k => !clean.has(k) && isNaN(k));
    }""")
    assert added == ["onefold"]


def test_identify_sends_the_hashes_the_server_computed_and_can_name_only_an_email(
    page, live_server
):
    from profiles.services.sites import email_hash

    site = SiteFactory(allowed_origins="")  # verifies identities, as a new site does
    key = issue_site_key(site=site)
    sent = record_api(page)
    serve(page, f"{live_server.url}/shop/**", html_page(key))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)
    signed = email_hash(site=site, email="ann@example.com")

    page.evaluate(f"onefold.identify(null, {{email: 'ann@example.com'}}, "
                  f"{{emailHash: '{signed}'}})")
    page.wait_for_function(IDLE)

    body = next(r["body"] for r in sent if r["url"].endswith("/identify"))
    assert "user_id" not in body and body["email_hash"] == signed
    assert page.evaluate("onefold.userId()") is None
    person = Person.objects.get(email="ann@example.com")
    assert person.identities.get(kind="email").trust == "verified"


def test_reset_starts_a_fresh_anonymous_id_and_forgets_the_user(page, live_server, key):
    serve(page, f"{live_server.url}/shop/**", html_page(key))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)
    first = page.evaluate("onefold.anonymousId()")
    signed = user_hash(site=Site.objects.get(key_prefix=key[:12]), user_id="cust-9")
    page.evaluate(f"onefold.identify('cust-9', {{}}, {{userHash: '{signed}'}})")
    page.wait_for_function("onefold.userId() === 'cust-9'")

    page.evaluate("onefold.reset()")
    second = page.evaluate("onefold.anonymousId()")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert second != first and page.evaluate("onefold.userId()") is None
    assert "onefold_uid" not in cookies and "onefold_uhash" not in cookies
    assert cookies["onefold_aid"]["value"] == second
    page.reload()
    page.wait_for_function(IDLE)
    assert page.evaluate("onefold.anonymousId()") == second


def test_the_id_survives_without_local_storage_through_the_cookie(page, live_server, key):
    block = ("<script>Object.defineProperty(window,'localStorage',{get(){throw new "
             "Error('denied')}})</script>")
    serve(page, f"{live_server.url}/shop/**", html_page(key, before=block))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)
    first = page.evaluate("onefold.anonymousId()")
    page.reload()
    page.wait_for_function(IDLE)
    assert page.evaluate("onefold.anonymousId()") == first


def test_cookie_is_first_party_lax_a_year_and_secure_on_https(page):
    source = SNIPPET.read_text()
    page.route("https://shop.example/onefold.js", lambda route: route.fulfill(
        status=200, content_type="application/javascript", body=source))
    config = '<script>window.OnefoldConfig = {autoPage: false};</script>'
    for origin in ("https://shop.example", "http://shop.example"):
        serve(page, f"{origin}/page", html_page("ofk_x", before=config).replace(
            'src="/onefold.js"', 'src="https://shop.example/onefold.js"'))
        page.goto(f"{origin}/page")
        page.wait_for_function("window.onefold && onefold.anonymousId")
        page.evaluate("onefold.anonymousId()")
        cookie = next(c for c in page.context.cookies(origin) if c["name"] == "onefold_aid")
        assert cookie["sameSite"] == "Lax" and cookie["path"] == "/"
        assert cookie["domain"] == "shop.example"  # host-only: no Domain attribute
        assert cookie["secure"] is (origin.startswith("https"))
        import time

        assert 364 * 86400 < cookie["expires"] - time.time() <= 365 * 86400
        page.context.clear_cookies()


def _fail_first(page, live_server, *, status: int, body: str, content_type: str,
                headers: dict | None = None) -> list[dict]:
    seen: list[dict] = []

    def handle(route, request):
        seen.append(json.loads(request.post_data))
        if len(seen) == 1:
            route.fulfill(status=status, body=body, content_type=content_type,
                          headers=headers or {})
        else:
            route.continue_()

    page.route(f"{live_server.url}/api/v1/track", handle)
    return seen


@pytest.mark.parametrize("status,body,content_type,headers", [
    (502, "<html><body>Bad gateway</body></html>", "text/html", {}),
    (503, '{"error": {"field": null, "message": "database unavailable"}}', "application/json",
     {"Retry-After": "1"}),
    (429, '{"error": {"field": null, "message": "rate limit exceeded"}}', "application/json",
     {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),  # an HTTP date in the past: retry now
])
def test_a_retried_request_reuses_its_message_id_and_is_recorded_once(
    page, live_server, key, status, body, content_type, headers
):
    seen = _fail_first(page, live_server, status=status, body=body, content_type=content_type,
                       headers=headers)
    serve(page, f"{live_server.url}/shop/**", html_page(key))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)

    assert len(seen) == 2 and seen[0]["message_id"] == seen[1]["message_id"]
    assert page.evaluate("onefold.ready.then(r => r.ok)") is True
    assert Activity.objects.filter(kind=ActivityKind.PAGE_VIEW).count() == 1


def test_a_network_error_is_retried_with_the_same_message_id(page, live_server, key):
    seen: list[dict] = []

    def handle(route, request):
        seen.append(json.loads(request.post_data))
        route.abort() if len(seen) == 1 else route.continue_()

    page.route(f"{live_server.url}/api/v1/track", handle)
    serve(page, f"{live_server.url}/shop/**", html_page(key))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)
    assert len(seen) == 2 and seen[0]["message_id"] == seen[1]["message_id"]
    assert Activity.objects.count() == 1


def test_a_4xx_is_not_retried_and_rejects_with_status_and_field(page, live_server, key):
    sent = record_api(page)
    serve(page, f"{live_server.url}/shop/**",
          html_page(key, before="<script>window.OnefoldConfig={autoPage:false}</script>"))
    page.goto(f"{live_server.url}/shop/")
    error = page.evaluate("""onefold.track('').then(() => null,
                                e => ({status: e.status, field: e.field, message: e.message}))""")
    assert error["status"] == 400 and error["field"] == "properties.name"
    assert len(sent) == 1


def test_a_409_that_names_a_field_is_not_retried(page, live_server, key):
    seen = []

    def handle(route, request):
        seen.append(1)
        route.fulfill(status=409, content_type="application/json",
                      body='{"error": {"field": "message_id", "message": "used"}}')

    page.route(f"{live_server.url}/api/v1/track", handle)
    serve(page, f"{live_server.url}/shop/**", html_page(key))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)
    assert len(seen) == 1


def test_the_automatic_page_view_failing_logs_no_unhandled_rejection(page, live_server):
    rejections: list[str] = []
    page.on("console", lambda message: rejections.append(message.text)
            if "Uncaught" in message.text else None)
    page.on("pageerror", lambda error: rejections.append(str(error)))
    serve(page, f"{live_server.url}/shop/**", html_page("ofk_unknown_key_for_the_review"))
    page.goto(f"{live_server.url}/shop/")
    page.wait_for_function(IDLE)
    page.wait_for_timeout(200)
    assert rejections == []
    assert page.evaluate("onefold.ready.then(() => 'ok', e => e.status)") == 401


@pytest.fixture
def lan_page(browser):
    """A page whose browser lets a routed (hence "public") page call the loopback server:
    Chromium's local-network-access checks would block it, as they would not for a real site."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    other = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
        "--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,"
        "PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests"])
    context = other.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    other.close()


def _cross_origin_page(page, live_server, key: str) -> str:
    other = live_server.url.replace("localhost", "127.0.0.1")
    serve(page, f"{other}/shop/**", html_page(key).replace(
        'src="/onefold.js"', f'src="{live_server.url}/onefold.js"'))
    return other


def test_a_cross_origin_page_sends_through_the_preflight_without_cookies(lan_page, live_server):
    page = lan_page
    other = live_server.url.replace("localhost", "127.0.0.1")
    key = issue_site_key(site=SiteFactory(allowed_origins=other))
    sent = []
    page.on("request", lambda request: sent.append(request) if "/api/v1/" in request.url
            else None)
    _cross_origin_page(page, live_server, key)
    page.goto(f"{other}/shop/")
    page.wait_for_function(IDLE)

    assert page.evaluate("onefold.ready.then(r => r.ok)") is True
    assert Activity.objects.filter(kind=ActivityKind.PAGE_VIEW).count() == 1
    post = next(r for r in sent if r.method == "POST")
    assert "cookie" not in post.headers


def test_a_revoked_key_seen_cross_origin_is_a_readable_401_not_retried(lan_page, live_server):
    page = lan_page
    # Without CORS headers on the 401 (and a preflight that passes for a revoked site's origin)
    # the page would see "Failed to fetch", no status, and the snippet would retry it twice.
    from profiles.services.sites import revoke_site_key

    other = live_server.url.replace("localhost", "127.0.0.1")
    site = SiteFactory(allowed_origins=other)
    key = issue_site_key(site=site)
    revoke_site_key(site=site)
    posts = []
    page.on("request", lambda request: posts.append(1)
            if "/api/v1/" in request.url and request.method == "POST" else None)
    _cross_origin_page(page, live_server, key)
    page.goto(f"{other}/shop/")
    page.wait_for_function(IDLE)

    outcome = page.evaluate("onefold.ready.then(() => 'ok', e => [e.status || null, e.message])")
    assert outcome[0] == 401 and "revoked" in outcome[1]
    assert len(posts) == 1
