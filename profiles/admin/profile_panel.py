"""The person page's profile panel: what real-time profiling learned, for a salesperson.

Read from the profiling attributes (`profiling.PROFILING_KEYS`, written by the recording path)
and the person's counters, and shown as a table of sentences. Stored values are read without
trusting their shape — a value of the wrong type (an old import, a hand-written row) shows as
a dash, never as an error. `READS` names the profiling key(s) each row reads; a test fails,
naming the key, when a profiling key is shown by no row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from profiles.admin.plain import DASH, day, is_number, link, moment, money, number, when
from profiles.models import Person
from profiles.services.attributes import profiling_part

TOP_ITEMS = 5


@dataclass
class PanelRow:
    key: str  # a stable name for tests and CSS
    label: str
    value: SafeString | str


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _words(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _host(url: str) -> str:
    """The site a URL is on ("www.google.com"), or the URL when it has none."""
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def touch_summary(touch: Any) -> SafeString | str:
    """Where a visit came from: referrer, search keywords, campaign (source / medium), ad."""
    touch = _object(touch)
    if not touch:
        return DASH
    parts = []
    referrer = _words(touch.get("referrer"))
    parts.append(format_html("from {}", link(referrer, _host(referrer)))
                 if referrer else "direct (no referrer)")
    keywords = _words(touch.get("search_keywords"))
    if keywords:
        parts.append(format_html("searched “{}”", keywords))
    campaign = _words(touch.get("utm_campaign"))
    channel = " / ".join(value for value in (_words(touch.get("utm_source")),
                                             _words(touch.get("utm_medium"))) if value)
    if campaign:
        parts.append(format_html("campaign “{}”{}", campaign,
                                 format_html(" ({})", channel) if channel else ""))
    elif channel:
        parts.append(format_html("via {}", channel))
    term = _words(touch.get("utm_term"))
    if term and term != keywords:
        parts.append(format_html("term “{}”", term))
    ad = _words(touch.get("ad"))
    if ad:
        parts.append(format_html("ad click {}", ad))
    at = moment(touch.get("at"))
    if at is not None:
        parts.append(format_html('<span class="quiet">{}</span>', when(at)))
    return format_html_join(" · ", "{}", ((part,) for part in parts))


def landing_pages(first: Any, latest: Any) -> SafeString | str:
    first_page = _words(_object(first).get("landing_page"))
    latest_page = _words(_object(latest).get("landing_page"))
    if not first_page and not latest_page:
        return DASH
    if not latest_page or latest_page == first_page:
        return link(first_page)
    if not first_page:
        return format_html("latest visit: {}", link(latest_page))
    return format_html("first visit: {} · latest visit: {}", link(first_page), link(latest_page))


def visits(person: Person) -> str:
    """"12 visits and 40 page views since 3 Mar 2026 — about 2 visits a week"."""
    count, views = person.visits, person.page_views
    if not count and not views:
        return "None recorded"
    text = f"{number(count)} visit{'s' if count != 1 else ''} and {number(views)} " \
           f"page view{'s' if views != 1 else ''}"
    if person.first_seen is None:
        return text
    text += f" since {day(person.first_seen)}"
    last = person.last_seen or person.first_seen
    days = max((last - person.first_seen).days, 0)
    if count < 2 or days < 14:
        return text
    weekly = count / (days / 7)
    if weekly >= 1:
        return f"{text} — about {weekly:.0f} visit{'s' if round(weekly) != 1 else ''} a week"
    monthly = count / (days / 30)
    return f"{text} — about {max(monthly, 1):.0f} visit" \
           f"{'s' if round(monthly) > 1 else ''} a month"


def top_items(counts: Any, limit: int = TOP_ITEMS) -> str:
    """"Runner 2 (12), Tote (3) and 4 more" from {name: count}; junk counts left out."""
    counted = [(str(name), value) for name, value in _object(counts).items()
               if is_number(value) and value > 0]
    if not counted:
        return DASH
    counted.sort(key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{name} ({number(value)})" for name, value in counted[:limit])
    more = len(counted) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def purchases(summary: Any) -> str:
    summary = _object(summary)
    count = summary.get("count")
    if not is_number(count) or count <= 0:
        return "None yet"
    text = f"{number(count)} purchase{'s' if count != 1 else ''}"
    revenue = summary.get("revenue")
    if is_number(revenue):
        text += f", {money(revenue)} in total"
    last = moment(summary.get("last_at"))
    if last is not None:
        text += f"; last on {day(last)}"
    return text


def email_offers(stats: Any) -> str:
    """"12 sent · 6 opened (50%) · 2 clicked (17%)"."""
    stats = _object(stats)
    counts = {name: stats.get(name) if is_number(stats.get(name)) else 0
              for name in ("sent", "opened", "clicked")}
    if not any(counts.values()):
        return "No email offers yet"
    sent = counts["sent"]
    parts = [f"{number(sent)} sent"]
    for name in ("opened", "clicked"):
        rate = f" ({counts[name] / sent:.0%})" if sent else ""
        parts.append(f"{number(counts[name])} {name}{rate}")
    return " · ".join(parts)


# Each row: (key, label, the profiling keys it reads, how it is shown).
READS = {
    "first_source": ("first_touch",),
    "latest_source": ("latest_touch",),
    "landing_page": ("first_touch", "latest_touch"),
    "exit_page": ("exit_page",),
    "visits": (),
    "categories": ("categories_viewed",),
    "products": ("products_viewed",),
    "purchases": ("purchases",),
    "email": ("email_offers",),
}


def profile_rows(person: Person) -> list[PanelRow]:
    """The panel's rows for a person (any stored `attributes` value: malformed reads empty)."""
    profiling = profiling_part(person.attributes)
    exit_page = _words(profiling.get("exit_page"))
    return [
        PanelRow("first_source", "First source", touch_summary(profiling.get("first_touch"))),
        PanelRow("latest_source", "Latest source", touch_summary(profiling.get("latest_touch"))),
        PanelRow("landing_page", "Landing page",
                 landing_pages(profiling.get("first_touch"), profiling.get("latest_touch"))),
        PanelRow("exit_page", "Exit page", link(exit_page) if exit_page else DASH),
        PanelRow("visits", "Visits", visits(person)),
        PanelRow("categories", "Top categories viewed",
                 top_items(profiling.get("categories_viewed"))),
        PanelRow("products", "Top products viewed", top_items(profiling.get("products_viewed"))),
        PanelRow("purchases", "Purchases", purchases(profiling.get("purchases"))),
        PanelRow("email", "Email offers", email_offers(profiling.get("email_offers"))),
    ]
