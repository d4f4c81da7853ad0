"""Real-time profiling rules (docs/rules.md): what each event teaches us about the person.

Each rule is a profile updater registered with the recording path in `events.py`; they keep
their findings in the person's custom `attributes`, under the keys below, so staff see them in
the admin and the merge engine fills them key by key like any other attribute.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

from profiles.models import Activity, ActivityKind, Person
from profiles.services.events import ProfileChange, register_updater

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
AD_CLICK_KEYS = ("gclid", "fbclid", "msclkid")
SEARCH_ENGINES = {"google": "q", "bing": "q", "duckduckgo": "q", "yahoo": "p", "ecosia": "q"}
# The attribute keys these rules own: a website's traits may not overwrite them.
PROFILING_KEYS = frozenset(
    {"first_touch", "latest_touch", "exit_page", "products_viewed", "categories_viewed",
     "purchases", "email_offers"}
)
logger = logging.getLogger(__name__)

# Bounded so a bot browsing the whole catalogue cannot grow a profile without limit.
MAX_TRACKED_ITEMS = 50


def _attributes(person: Person, change: ProfileChange) -> dict[str, Any]:
    change.fields.add("attributes")
    if not isinstance(person.attributes, dict):
        person.attributes = {}
    return person.attributes


def _section(person: Person, attributes: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The stored profiling object under `key`, or None when there is none. A malformed one (a
    hand edit or an old import left a string, a list or a number there) is dropped and logged:
    one bad stored value never fails the event that updates it."""
    value = attributes.get(key)
    if value is None or isinstance(value, dict):
        return value
    logger.warning("person #%s: attribute %r is not an object; started over", person.pk, key)
    del attributes[key]
    return None


def _split(url: str) -> SplitResult | None:
    """The URL's parts; None for one urlsplit refuses (e.g. "http://[x"): a website's broken
    referrer must not fail the event it came with."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _search_keywords(referrer: str) -> str:
    parts = _split(referrer)
    if parts is None:
        return ""
    host = (parts.hostname or "").removeprefix("www.")
    engine = host.split(".")[0]
    param = SEARCH_ENGINES.get(engine)
    return (parse_qs(parts.query).get(param) or [""])[0] if param else ""


def _tags(props: dict[str, Any]) -> dict[str, Any]:
    """UTM tags and ad-click IDs: sent as properties (the snippet does) or left in the page's
    URL (a server-side call sending the URL as it is); a property wins."""
    tags: dict[str, Any] = {}
    url = props.get("url")
    parts = _split(url) if isinstance(url, str) and "?" in url else None
    if parts is not None:
        query = parse_qs(parts.query)
        tags = {key: query[key][0] for key in (*UTM_KEYS, *AD_CLICK_KEYS) if query.get(key)}
    return {**tags, **{key: props[key] for key in (*UTM_KEYS, *AD_CLICK_KEYS) if props.get(key)}}


def touch_from(activity: Activity) -> dict[str, Any]:
    """Where a visit came from: referrer, UTM tags, ad click, search keywords, landing page."""
    props = activity.properties
    tags = _tags(props)
    touch: dict[str, Any] = {"at": activity.occurred_at.isoformat()}
    referrer = str(props.get("referrer") or "")
    if referrer:
        touch["referrer"] = referrer
        keywords = _search_keywords(referrer)
        if keywords:
            touch["search_keywords"] = keywords
    for key in UTM_KEYS:
        if tags.get(key):
            touch[key] = str(tags[key])
    for key in AD_CLICK_KEYS:
        if tags.get(key):
            touch["ad"] = f"{key}={tags[key]}"
    if props.get("url") or props.get("path"):
        touch["landing_page"] = str(props.get("url") or props.get("path"))
    return touch


@register_updater
def update_referral(person: Person, activity: Activity, change: ProfileChange) -> None:
    """First and latest referral source and landing page (set when a visit starts)."""
    if activity.kind != ActivityKind.PAGE_VIEW:
        return
    attributes = _attributes(person, change)
    page = activity.properties.get("url") or activity.properties.get("path")
    # The latest page is the exit page once they leave; a late-arriving older page view is
    # not (update_seen has already moved last_seen to the newest activity).
    if page and (person.last_seen is None or activity.occurred_at >= person.last_seen):
        attributes["exit_page"] = str(page)
    _section(person, attributes, "latest_touch")
    if not change.visit_started and _section(person, attributes, "first_touch") is not None:
        return
    touch = touch_from(activity)
    attributes.setdefault("first_touch", touch)
    attributes["latest_touch"] = touch


def _count(person: Person, attributes: dict[str, Any], key: str, item: Any) -> None:
    counts = _section(person, attributes, key)
    if counts is None:
        counts = attributes[key] = {}
    name = str(item)[:200]
    if name in counts or len(counts) < MAX_TRACKED_ITEMS:
        counts[name] = _added(counts.get(name, 0), 1)


@register_updater
def update_catalogue(person: Person, activity: Activity, change: ProfileChange) -> None:
    """Products and sections/categories viewed, counted."""
    props = activity.properties
    if activity.kind not in (ActivityKind.PAGE_VIEW, ActivityKind.EVENT):
        return
    if not (props.get("product") or props.get("category")):
        return
    attributes = _attributes(person, change)
    if props.get("product"):
        _count(person, attributes, "products_viewed", props["product"])
    if props.get("category"):
        _count(person, attributes, "categories_viewed", props["category"])


@register_updater
def update_purchases(person: Person, activity: Activity, change: ProfileChange) -> None:
    """Purchases (from the website, the backend or the shell): count and revenue."""
    if activity.kind != ActivityKind.PURCHASE:
        return
    attributes = _attributes(person, change)
    summary = _section(person, attributes, "purchases")
    if summary is None:
        summary = attributes["purchases"] = {"count": 0, "revenue": 0}
    summary["count"] = _added(summary.get("count", 0), 1)
    amount = activity.properties.get("amount", activity.properties.get("revenue"))
    if _is_amount(amount):
        summary["revenue"] = _added(summary.get("revenue", 0), amount)
    if _later(activity.occurred_at, summary.get("last_at")):
        summary["last_at"] = activity.occurred_at.isoformat()


def _later(at: dt.datetime, recorded: Any) -> bool:
    """Whether `at` is after the recorded ISO time (or nothing valid is recorded)."""
    return at >= moment(recorded)


EMAIL_KINDS = {
    ActivityKind.EMAIL_SENT: "sent",
    ActivityKind.EMAIL_OPENED: "opened",
    ActivityKind.EMAIL_CLICKED: "clicked",
}


@register_updater
def update_email_responsiveness(
    person: Person, activity: Activity, change: ProfileChange
) -> None:
    """Responsiveness to email offers: sent/opened/clicked counters."""
    counter = EMAIL_KINDS.get(activity.kind)
    if counter is None:
        return
    attributes = _attributes(person, change)
    stats = _section(person, attributes, "email_offers")
    if stats is None:
        stats = attributes["email_offers"] = {"sent": 0, "opened": 0, "clicked": 0}
    stats[counter] = _added(stats.get(counter, 0), 1)


# --- Helpers, also used by these attributes' merge rules (merging/fields.py) ---------------

def moment(recorded: Any) -> dt.datetime:
    """An ISO time as an aware datetime (times sent with different offsets compare right);
    the earliest possible for a missing or invalid one."""
    try:
        found = dt.datetime.fromisoformat(str(recorded))
    except (TypeError, ValueError):
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def sum_counts(counts: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for count in counts:
        for name, value in count.items():
            if _is_amount(value):
                total[name] = _added(total.get(name, 0), value)
    return total


# Beyond this a figure is not a price or a count but junk; adding it would only lose precision
# or overflow (and an infinite sum cannot even be stored as JSON).
MAX_AMOUNT = 1e12


def _is_amount(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) <= MAX_AMOUNT  # also False for NaN and infinities, exact for big ints
    )


def _added(total: Any, value: int | float) -> int | float:
    """`total + value` to the cent; a stored total that is itself junk is started over."""
    return round((total if _is_amount(total) else 0) + value, 2)
