"""Values as staff read them: plain words, links that are safe to follow, dates in their zone.

Everything here takes values a website or a script sent (activity properties, profiling
attributes, journal snapshots) and never trusts their type: a value of an unexpected shape is
shown as words or as a dash, never as a Python repr, and never raises. HTML is built with
`format_html`, so every value is escaped.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

DASH = "—"
# Only these become links. Anything else (javascript:, data:, vbscript:, a path on the
# customer's website, which would resolve against the admin's host) is shown as text.
LINK_SCHEMES = frozenset({"http", "https"})


def safe_url(value: Any) -> str | None:
    """`value` if it is an absolute http(s) URL a link may point to, else None.

    Browsers drop whitespace and control characters inside a URL ("java\\tscript:" runs as
    javascript:), so a value holding any is refused rather than cleaned.
    """
    if not isinstance(value, str) or not value or len(value) > 4096:
        return None
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.netloc:
        return None
    return value


def link(value: Any, text: Any = None) -> SafeString:
    """A link to `value` when it is safe to follow (opens in a new tab, sends no referrer),
    otherwise the value as text. `text` defaults to the URL itself."""
    shown = plain(value if text is None else text)
    url = safe_url(value)
    if url is None:
        return format_html('<span class="url">{}</span>', shown)
    return format_html('<a href="{}" class="url" target="_blank" '
                       'rel="noopener noreferrer nofollow">{}</a>', url, shown)


def plain(value: Any) -> str:
    """Any JSON value as words: text as is, yes/no, numbers with separators, lists joined,
    objects as "key: value; …". Empty is a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {plain(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(item) for item in value)
    return str(value)


def number(value: Any) -> str:
    """1234 -> "1,234"; 1234.5 -> "1,234.50"; junk -> a dash."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return DASH
    if isinstance(value, float) and not math.isfinite(value):
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def money(amount: Any, currency: Any = None) -> str:
    """"129.00 EUR"; a dash when the amount is no number."""
    if not is_number(amount):
        return DASH
    code = f" {currency}" if isinstance(currency, str) and currency.strip() else ""
    return f"{amount:,.2f}{code}"


def moment(value: Any) -> dt.datetime | None:
    """A datetime from a datetime or an ISO string (as the profiling stores them); None for
    anything else."""
    if isinstance(value, dt.datetime):
        moment_ = value
    elif isinstance(value, str) and len(value) <= 64:
        try:
            moment_ = parse_datetime(value.strip())
        except ValueError:
            return None
        if moment_ is None:
            return None
    else:
        return None
    if timezone.is_naive(moment_):
        moment_ = moment_.replace(tzinfo=dt.UTC)
    return moment_


def when(value: Any) -> str:
    """A date and time in the viewer's zone, as the admin shows every date
    ("2 Dec 2026, 14:05 CET": crm/formats); a dash if none."""
    at = moment(value)
    if at is None:
        return DASH
    try:
        return date_format(timezone.localtime(at), "DATETIME_FORMAT")
    except (OverflowError, ValueError):  # year 1 or 9999 pushed past the calendar by a zone
        return DASH


def day(value: Any) -> str:
    """The date alone in the viewer's zone ("2 Dec 2026")."""
    at = moment(value)
    if at is None:
        return DASH
    try:
        return date_format(timezone.localtime(at), "DATE_FORMAT")
    except (OverflowError, ValueError):
        return DASH


def facts(pairs: Iterable[tuple[str, Any]]) -> SafeString:
    """"label: value · label: value" for the pairs whose value is not empty."""
    shown = [(label, plain(value)) for label, value in pairs if plain(value) != DASH]
    return format_html_join(" · ", '<span class="fact">{}: {}</span>', shown)


def labelled(key: str) -> str:
    """A property name as words: "utm_campaign" -> "utm campaign", "orderId" kept."""
    return key.replace("_", " ").strip() or key
