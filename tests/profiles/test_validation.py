"""The shared checks of what websites send, called directly (the HTTP cases are in tests/api)."""

from __future__ import annotations

import datetime as dt

import pytest

from profiles.services.chat import email_in_text
from profiles.services.validation import (
    EMAIL_RE,
    InvalidInput,
    clean_email,
    clean_id,
    clean_object,
    clean_timestamp,
)


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2025-06-15T10:00:00+16:00", dt.datetime(2025, 6, 14, 18, tzinfo=dt.UTC)),
        ("2025-06-15T10:00:00+0530", dt.datetime(2025, 6, 15, 4, 30, tzinfo=dt.UTC)),
        ("2025-06-15T10:00:00-00:00", dt.datetime(2025, 6, 15, 10, tzinfo=dt.UTC)),
        ("2025-06-15t10:00:00z", dt.datetime(2025, 6, 15, 10, tzinfo=dt.UTC)),  # RFC 3339
        ("  2025-06-15 10:00:59.5  ", dt.datetime(2025, 6, 15, 10, 0, 59, 500000, tzinfo=dt.UTC)),
        (dt.datetime(2025, 6, 15, 10, tzinfo=dt.timezone(dt.timedelta(hours=-20))),
         dt.datetime(2025, 6, 16, 6, tzinfo=dt.UTC)),
        (dt.datetime(2025, 6, 15, 10), dt.datetime(2025, 6, 15, 10, tzinfo=dt.UTC)),
    ],
)
def test_timestamps_are_returned_in_utc_as_the_same_instant(value, utc):
    moment = clean_timestamp("occurred_at", value)

    assert moment == utc and moment.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "value",
    ["2026-11-22", "2026-W47-1", "2026-326T10:00:00", "20261122T100000", "2026-11-22T10",
     "2026-11-22T10:00:00+05", "2026-11-22T10:00:00 +05:00", "2026-11-22x10:00:00Z",
     "2026-11-22T10:00:00+24:00", "2026-02-30T10:00:00Z",
     "2026-11-22T24:00:00Z", "２０２６-11-22T10:00:00Z", "2026-11-22T10:00:00.Z",
     "9999-12-31T23:59:59-23:59"],
)
def test_timestamps_other_than_a_full_date_and_time_are_refused(value):
    with pytest.raises(InvalidInput) as refused:
        clean_timestamp("occurred_at", value)

    assert refused.value.field == "occurred_at"


def test_a_year_1_timestamp_with_an_offset_is_refused_not_overflowed():
    with pytest.raises(InvalidInput, match="before the year 2000"):
        clean_timestamp("occurred_at", "0001-01-01T00:00:00+23:00")


@pytest.mark.parametrize(
    "value",
    ["a\u200bb", "\u2066u-1\u2069", "u-1\u00ad", "\u0085u-1x\u0085y", "a\tb", "\ufeffu-1",
     # joiners where no script needs one: between ASCII letters, at an end, beside a space
     "a\u200db", "u-1\u200c", "\u200dمی", "می \u200cخواهم", "می\u200c\u200cخواهم"],
)
def test_ids_with_control_or_format_characters_are_refused(value):
    with pytest.raises(InvalidInput, match="control or invisible"):
        clean_id("user_id", value)


@pytest.mark.parametrize(
    "value", ["ｎｕｌｌ", "ＵＮＤＥＦＩＮＥＤ", "Ｎ/Ａ", "NaN", "\u00a0None\u3000", "nul\u200dｌ"]
)
def test_placeholders_in_disguise_are_refused(value):
    with pytest.raises(InvalidInput, match="placeholder|invisible"):
        clean_id("anonymous_id", value)


@pytest.mark.parametrize(
    "value",
    ["Straße-7", "İd-1", " u-1\n", 42, "José-1", "ガ-1", "❤\ufe0f-fan", "🏳\ufe0f\u200d🌈-7",
     "می\u200cخواهم", "क्\u200dष-7", "👩\u200d💻-dev"],  # joiners inside Persian, Devanagari, emoji
)
def test_real_ids_are_kept_as_sent_apart_from_surrounding_whitespace(value):
    assert clean_id("user_id", value) == str(value).strip()


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("Jose\u0301-1", "José-1"),  # NFD (e + combining acute) is NFC's é
     ("ＢＯＢ", "BOB"), ("ｕｓｅｒ-1", "user-1"),  # full-width is the usual form
     ("ｶﾞ-1", "ガ-1"),  # half-width katakana and its voicing mark: one full-width letter
     ("a\u3000b", "a b")],  # the ideographic space is a full-width space
)
def test_ids_that_look_alike_are_stored_in_one_form(sent, stored):
    assert clean_id("user_id", sent) == stored


@pytest.mark.parametrize("value", ["ﬁle-1", "x²", "①-7", "a\u00a0b", "\u212bngstrom"])
def test_ids_with_other_compatibility_characters_are_refused_not_folded(value):
    if value == "\u212bngstrom":  # the Ångström sign is canonically Å: NFC takes care of it
        assert clean_id("user_id", value) == "Ångstrom"
        return
    with pytest.raises(InvalidInput, match="compatibility characters") as refused:
        clean_id("user_id", value)

    assert refused.value.field == "user_id"


@pytest.mark.parametrize(
    "value",
    ["\u3164", "undefined\u3164", "bob\u2800", "\u2800", "\uffa0", "x\uffa0y", "\u115f",
     "\u1160-1", "a\u034fb", "\u034f", "bob\ufe0f", "\ufe0f", "7\ufe0f", "❤\ufe0f\ufe0f",
     "a\ufe00", "u\U000e0100", "a\u17b4b", "a\u180bb", "u\u2028-1", "u\u2029x"],
)
def test_invisible_fillers_are_refused_like_format_characters(value):
    with pytest.raises(InvalidInput, match="control or invisible") as refused:
        clean_id("anonymous_id", value)

    assert refused.value.field == "anonymous_id"


@pytest.mark.parametrize(
    "email",
    ["a@b.co", "Ann.Lee+tag@Mail.Example.COM", "first.last@sub.domain.example.co.uk",
     "x-1_y@a-b.c-d.io", "o'neil@xn--bcher-kva.example", "a@123.example.museum",
     "a@example.xn--p1ai", "!#$%&'*+/=?^_`{|}~-@example.org", "a" * 64 + "@b.co"],
)
def test_normal_emails_are_accepted(email):
    assert clean_email("email", email) == email


@pytest.mark.parametrize(
    "email",
    ["a..b@c.co", ".a@b.co", "a.@b.co", "a@-b.co", "a@b-.co", "a@b.-co", "a@b.co-", "a@b.c",
     "a@1.2.3.4", "a@b..co", "a@b.c1", "a@" + "b" * 64 + ".co", "a" * 65 + "@b.co",
     "a@b@c.co", "a b@c.co"],
)
def test_malformed_emails_are_refused(email):
    assert EMAIL_RE.match(email) is None
    with pytest.raises(InvalidInput):
        clean_email("email", email)


def test_the_email_pattern_matches_the_whole_text():
    # $ would accept a trailing newline; chat.py's email_in_text relies on a full match
    assert EMAIL_RE.match("a@b.co\n") is None and EMAIL_RE.match("a@b.co x") is None


def test_the_email_check_refuses_hostile_input():
    # Shapes that make a backtracking pattern explode: bounded repeats keep each one linear.
    hostile = ["a" * 5000 + "@" + "b" * 5000, "a@" + "b-" * 5000, "a@" + "b." * 5000 + "-",
               "a." * 5000 + "@b.co", "a@" + ("b" * 63 + ".") * 100 + "1"]

    assert not any(EMAIL_RE.match(text) for text in hostile)


def test_chat_skips_a_malformed_address_and_finds_the_next():
    assert email_in_text("write to a..b@c.co or to ann@example.com.") == "ann@example.com"
    assert email_in_text("mail me at a@b.c") is None


@pytest.mark.parametrize(
    "value",
    [{"n": 2**53}, {"n": -(2**53)}, {"n": [1, {"m": 10**400}]}, {"n": True, "m": 2**63}],
)
def test_integers_beyond_the_safe_range_are_refused(value):
    with pytest.raises(InvalidInput, match="2\\*\\*53") as refused:
        clean_object("properties", value)

    assert refused.value.field == "properties"


def test_safe_integers_booleans_and_big_floats_are_accepted():
    value = {"a": 2**53 - 1, "b": -(2**53 - 1), "c": True, "d": 1.7e308, "e": [0, -1]}

    assert clean_object("traits", value) == value
