"""Validation of what websites send: every check raises `InvalidInput` naming the field.

The website API and the Python services share these checks, so a bad event is refused the same
way from the shell and over HTTP, and always before anything is written.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from typing import Any

from django.utils import timezone

from profiles.services.errors import INVALID, ServiceError
from profiles.services.lookalikes import (
    JUNK_IDS,
    compatibility_character,
    invisible_character,
    junk_key,
    normalize_id,
)

MAX_ID_LENGTH = 255
MAX_MESSAGE_ID_LENGTH = 128
MAX_EMAIL_LENGTH = 254
MAX_TEXT_LENGTH = 10_000
MAX_DEPTH = 5
# Clocks drift; an event stamped more than a day ahead is a bug in the sender, not a fact.
MAX_FUTURE = dt.timedelta(days=1)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# A deliverable address, anchored at both ends (\Z, not $, which would let a trailing newline
# through): a local part of at most 64 characters with no leading, trailing or doubled dot; a
# domain of two or more labels (letters and digits, hyphens only inside), ending in an alphabetic
# or punycode (xn--) top-level domain, so "a@b.c" and "a@1.2.3.4" are refused.
_EMAIL_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LEVEL_DOMAIN = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)"
EMAIL_RE = re.compile(
    rf"^(?=[^@]{{1,64}}@){_EMAIL_LOCAL}@(?:{_DOMAIN_LABEL}\.)+{_TOP_LEVEL_DOMAIN}\Z"
)
# The one accepted time form: ASCII digits only (re.ASCII: \d would match Arabic-Indic digits),
# a full date and time, seconds and fraction optional, then Z, ±HH:MM, ±HHMM or nothing (UTC).
# T and Z may be lower case, as RFC 3339 allows.
TIMESTAMP_RE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6})\d{0,6})?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<offset_hours>\d{2}):?(?P<offset_minutes>\d{2}))?",
    re.ASCII,
)
TIMESTAMP_FORMAT = "YYYY-MM-DDTHH:MM[:SS[.fff]], then optionally Z, ±HH:MM or ±HHMM"
# Beyond this an integer is not exact in a browser's JSON, and overflows float arithmetic.
MAX_SAFE_INTEGER = 2**53 - 1


class InvalidInput(ServiceError):
    """Bad input from a website or a caller: `field` names what is wrong, `code` what kind
    (profiles.services.errors: invalid by default, too_large, verification_required)."""

    def __init__(self, field: str, message: str, *, code: str = INVALID) -> None:
        super().__init__(field, message, code=code)


def _plain_text(field: str, value: str) -> str:
    if "\x00" in value:
        raise InvalidInput(field, "must not contain NUL bytes")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800"
            raise InvalidInput(field, "must be valid Unicode text") from exc
    return value


def clean_id(field: str, value: Any, *, required: bool = False) -> str | None:
    """A user or anonymous ID: a non-junk string (integers are accepted and stringified),
    normalized so that IDs that look the same are the same (see normalize_id)."""
    if value is None:
        if required:
            raise InvalidInput(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(field, "must be a string")
    text = normalize_id(_plain_text(field, str(value)).strip())
    if not text:
        raise InvalidInput(field, "must not be empty or whitespace")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidInput(field, f"must be at most {MAX_ID_LENGTH} characters")
    invisible = invisible_character(text)
    if invisible is not None:
        raise InvalidInput(
            field,
            f"must not contain control or invisible characters (U+{ord(invisible):04X})",
        )
    compatibility = compatibility_character(text)
    if compatibility is not None:
        raise InvalidInput(
            field,
            f"must not contain compatibility characters such as {compatibility!r} "
            f"(U+{ord(compatibility):04X}): send "
            f"{unicodedata.normalize('NFKC', compatibility)!r} instead",
        )
    if junk_key(text) in JUNK_IDS:
        raise InvalidInput(field, f"{text!r} is not a real ID (placeholder value refused)")
    return text


def clean_email(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    # NFC as IDs are (the pattern then accepts ASCII addresses only: an internationalized
    # domain is sent in its xn-- form).
    text = unicodedata.normalize("NFC", _plain_text(field, value)).strip()
    if len(text) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(text):
        raise InvalidInput(field, "is not a valid email address")
    return text


def clean_text(field: str, value: Any, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    text = _plain_text(field, value)
    if not text.strip():
        raise InvalidInput(field, "must not be empty")
    if len(text) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    return text


def clean_message_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("message_id", "must be a string")
    text = _plain_text("message_id", value).strip()
    if not text or len(text) > MAX_MESSAGE_ID_LENGTH:
        raise InvalidInput(
            "message_id", f"must be 1 to {MAX_MESSAGE_ID_LENGTH} characters"
        )
    return text


def clean_timestamp(field: str, value: Any) -> dt.datetime:
    """An ISO 8601 time (or a datetime), not far in the future, in UTC; now when absent.

    A time without an offset is taken as UTC. The result is always converted to UTC: the
    database refuses offsets of 16 hours or more, which Python (and ISO 8601) allow.
    """
    now = timezone.now()
    if value is None:
        return now
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        moment = _parse_timestamp(field, _plain_text(field, value).strip())
    else:
        raise InvalidInput(field, "must be an ISO 8601 string")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    # Range checks first: converting year 1 or 9999 with an offset could overflow.
    if moment > now + MAX_FUTURE:
        raise InvalidInput(field, "is too far in the future")
    if moment < EARLIEST:
        raise InvalidInput(field, "is before the year 2000")
    return moment.astimezone(dt.UTC)


def parse_timestamp(field: str, value: Any) -> dt.datetime:
    """An ISO 8601 time in the form clean_timestamp accepts, aware (UTC when sent without an
    offset), with no range check: a client's clock reading, which may be far off, that a
    caller uses to correct clock skew before clean_timestamp checks the result."""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be an ISO 8601 string")
    moment = _parse_timestamp(field, _plain_text(field, value).strip())
    return moment if not timezone.is_naive(moment) else timezone.make_aware(moment, dt.UTC)


def _parse_timestamp(field: str, text: str) -> dt.datetime:
    """The one form TIMESTAMP_RE accepts; a date alone, a week date or odd digits are refused."""
    match = TIMESTAMP_RE.fullmatch(text)
    if match is None:
        raise InvalidInput(field, f"must be an ISO 8601 date and time: {TIMESTAMP_FORMAT}")
    part = match.groupdict()
    try:
        return dt.datetime(
            int(part["year"]), int(part["month"]), int(part["day"]),
            int(part["hour"]), int(part["minute"]), int(part["second"] or 0),
            int((part["fraction"] or "0").ljust(6, "0")),
            tzinfo=_offset(part),
        )
    except ValueError as exc:  # month 13, 25 o'clock, an offset of 24 hours...
        raise InvalidInput(field, f"is not a valid date and time: {TIMESTAMP_FORMAT}") from exc


def _offset(part: dict[str, str | None]) -> dt.tzinfo | None:
    """The time zone of a matched timestamp: None when naive; ValueError when out of range."""
    if part["utc"]:
        return dt.UTC
    if not part["sign"]:
        return None
    hours, minutes = int(part["offset_hours"] or 0), int(part["offset_minutes"] or 0)
    if minutes > 59:
        raise ValueError("offset minutes out of range")
    delta = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-delta if part["sign"] == "-" else delta)  # ValueError from 24 hours


def clean_object(field: str, value: Any, *, max_depth: int = MAX_DEPTH) -> dict:
    """A JSON object of JSON values: no NUL bytes, nesting at most `max_depth` levels."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object")
    _check_json(field, value, depth=1, max_depth=max_depth)
    return value


def _check_json(field: str, value: Any, *, depth: int, max_depth: int) -> None:
    if type(value) is dict:
        if depth > max_depth:
            raise InvalidInput(field, f"is nested deeper than {max_depth} levels")
        for key, item in value.items():
            if type(key) is str:
                _check_string(field, key)
            _check_json_value(field, item, depth, max_depth)
    elif type(value) is list:
        if depth > max_depth:
            raise InvalidInput(field, f"is nested deeper than {max_depth} levels")
        for item in value:
            _check_json_value(field, item, depth, max_depth)
    else:
        _check_json_value(field, value, depth - 1, max_depth)


def _check_json_value(field: str, item: Any, depth: int, max_depth: int) -> None:
    # Inlined for the common scalars: a page view's properties are a dozen short strings.
    kind = type(item)
    if kind is str:
        _check_string(field, item)
    elif kind is dict or kind is list:
        _check_json(field, item, depth=depth + 1, max_depth=max_depth)
    elif kind is float:
        if not math.isfinite(item):  # 1e999 parses as inf
            raise InvalidInput(field, "must not contain NaN or infinite numbers")
    elif kind is int:
        # Python parses any number of digits exactly; a 400-digit amount overflowed profiling.
        if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
            raise InvalidInput(
                field, f"must not contain integers beyond ±{MAX_SAFE_INTEGER} (2**53 - 1)"
            )
    elif item is not None and kind is not bool:
        if isinstance(item, bool | int | float | str | dict | list):  # subclasses: slow path
            _check_json_value(field, _plain(item), depth, max_depth)
        else:
            raise InvalidInput(field, "must contain only JSON values")


def _plain(value: Any) -> Any:
    for kind in (bool, int, float, str, dict, list):
        if isinstance(value, kind):
            return kind(value)
    return value


def _check_string(field: str, value: str) -> None:
    if value.isascii():
        if "\x00" in value:
            raise InvalidInput(field, "must not contain NUL bytes")
        return
    _plain_text(field, value)
