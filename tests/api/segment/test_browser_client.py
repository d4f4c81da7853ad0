"""The stock browser library, `@segment/analytics-next` from npm, in Debian's Chromium.

The shop's page is served by a server of its own (another origin than Onefold's, as on a real
website) with the library's UMD build from `tests/api/segment/browser/node_modules`
(`npm ci` there; .ci/run does it). The library is pointed at Onefold by its one setting,
`cdnURL`: it loads its settings from Onefold, which name Onefold as its API host. Nothing
leaves the machine.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from api.segment.rejections import count_rejected
from profiles.models import Activity, Person
from profiles.services.sites import issue_site_key

# The admin logged in at 1366×768 and the screenshots' folder (tests/browser/conftest.py).
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, artifacts_dir, staff_page  # noqa: F401
from tests.factories import SiteFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PACKAGE = Path(__file__).parent / "browser"
BUNDLE = PACKAGE / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"
SHOP_PAGE = """<!doctype html><html><head><title>Boot shop</title>
<script src="/analytics-next/index.js"></script>
<script>
  window.loaded = AnalyticsNext.AnalyticsBrowser
    .load({writeKey: "%(key)s", cdnURL: "%(onefold)s"})
    .then(function (result) { window.analytics = result[0]; return true; });
</script></head><body><h1>Boots</h1></body></html>
"""


@pytest.fixture(scope="module")
def browser():
    """Chromium for this module alone: closed before tests/browser/ starts its session's one
    (Playwright's sync API runs one at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class ShopHandler(SimpleHTTPRequestHandler):
    """The shop: its page at /, the library's build under /analytics-next/."""

    page = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] in ("/", "/index.html"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(self.page)))
            self.end_headers()
            self.wfile.write(self.page)
            return
        super().do_GET()

    def translate_path(self, path: str) -> str:
        name = path.split("?")[0].removeprefix("/analytics-next/")
        return str(BUNDLE / Path(name).name)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site():
    return SiteFactory(require_identity_verification=False)


@pytest.fixture
def shop(live_server, site) -> Iterator[str]:
    """The shop's origin; the site's key issued and the origin allowed."""
    if not (BUNDLE / "index.js").exists():
        pytest.fail(f"@segment/analytics-next is not installed: run `npm ci` in {PACKAGE}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopHandler)
    origin = f"http://127.0.0.1:{server.server_port}"
    site.allowed_origins = origin
    site.save()
    key = issue_site_key(site=site)
    page = SHOP_PAGE % {"key": key, "onefold": live_server.url}
    handler = functools.partial(type("Handler", (ShopHandler,), {"page": page.encode()}))
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield origin
    server.shutdown()
    server.server_close()


@pytest.fixture
def open_browser(browser, shop):  # noqa: F811
    """`open_browser()`: a visitor's own browser (a fresh context: its own anonymous id) on
    the shop's page, the library loaded; any request that fails fails the test."""
    contexts, failed = [], []

    def open_one():
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto(shop + "/")
        page.wait_for_function("window.loaded !== undefined && window.analytics !== undefined")
        return page

    yield open_one
    for context in contexts:
        context.close()
    assert failed == []


def test_two_browsers_of_one_user_become_one_person(open_browser, shop):
    laptop = open_browser()
    laptop.evaluate("""async () => {
        await analytics.page();
        await analytics.track('Product Viewed', {product_id: 'sku-1', category: 'Boots'});
    }""")
    anonymous = Person.objects.get()
    assert anonymous.is_anonymous and anonymous.page_views == 1
    assert Activity.objects.filter(kind="event").count() == 1

    laptop.evaluate("async () => { await analytics.identify('u-7', {name: 'Ann'}); }")
    phone = open_browser()
    phone.evaluate("async () => { await analytics.page(); await analytics.identify('u-7'); }")

    devices = [page.evaluate("() => analytics.user().anonymousId()") for page in (laptop, phone)]
    assert devices[0] != devices[1]
    person = Person.objects.get(merged_into__isnull=True)
    assert person.user_id == "u-7" and person.name == "Ann"
    assert set(person.identities.filter(kind="anonymous_id").values_list("value", flat=True)) \
        == set(devices)
    kinds = sorted(person.activities.exclude(kind__in=["identify", "merged"])
                   .values_list("kind", flat=True))
    assert kinds == ["event", "page_view", "page_view"]  # both devices' events
    assert person.page_views == 2
    assert person.attributes["products_viewed"] == {"sku-1": 1}
    view = person.activities.filter(kind="page_view").order_by("id").first()
    assert view.properties["url"] == shop + "/" and view.properties["title"] == "Boot shop"
    assert "user_agent" in view.properties


def test_staff_read_the_rejected_events_on_the_site_page(open_browser, site, live_server,
                                                         staff_page, artifacts_dir):  # noqa: F811
    shop_page = open_browser()
    shop_page.evaluate("""async () => {
        await analytics.track('Clicked', {}, {anonymousId: 'null'});  // a placeholder ID
        await analytics.page();
    }""")


    count_rejected(site=site, reasons=Counter({
        "track call — anonymousId: 'undefined' is not a real ID (placeholder value refused)": 41,
    }))

    staff_page.goto(f"{live_server.url}/admin/profiles/site/{site.pk}/change/")
    table = staff_page.locator(".field-rejected_events_summary")
    table.scroll_into_view_if_needed()
    staff_page.screenshot(path=artifacts_dir / "segment-site-rejected-events.png",
                          full_page=True)
    text = table.inner_text()
    assert "why it was not recorded" in text.lower() and "41" in text
    assert "track call — anonymousId: 'null' is not a real ID" in text
    staff_page.goto(f"{live_server.url}/admin/profiles/site/")
    staff_page.screenshot(path=artifacts_dir / "segment-site-list.png")
    assert "43" in staff_page.locator("#result_list").inner_text()  # 41 + 2 from the browser
