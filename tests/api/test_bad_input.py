"""Every kind of bad input gets a 4xx JSON error naming the field, and nothing is written."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from profiles.models import Activity, Person
from tests.api.conftest import row_counts

pytestmark = pytest.mark.django_db

TRACK = {"anonymous_id": "dev-1", "kind": "page_view"}
IDENTIFY = {"anonymous_id": "dev-1", "user_id": "u-1"}


def deep(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"n": value}
    return value


# "2026-11-22T10:00:00Z" written with Arabic-Indic digits
ARABIC_INDIC_TIME = "2026-11-22T10:00:00Z".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
INVISIBLE_IDS = [
    "\u200b", "\ufeff", "\u2060", "\u180e", "\u202e", "\x01\x02", "u-1\u200b", "u\x7f1",
    "undefined\u200b", "\u200bnull", "NULL\u200d", "undefined\u00ad",
]
MALFORMED_EMAILS = [
    "a..b@c.co", ".a@b.co", "a.@b.co", "a@-b.co", "a@b-.co", "a@b.-co", "a@b.co-", "a@b.c",
    "a@1.2.3.4", "a@b..co", "a@.b.co", "a@b.co.", "a@b.c0", "a@b_c.co", "a@b", "a" * 65 + "@b.co",
]

BAD = [
    # junk IDs
    ("identify", {**IDENTIFY, "user_id": "null"}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": "undefined"}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": "anonymous"}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": "0"}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": 0}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": "[object Object]"}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": ""}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": " \t "}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": "u" * 256}, 400, "user_id"),
    ("track", {**TRACK, "anonymous_id": "undefined"}, 400, "anonymous_id"),
    ("track", {**TRACK, "anonymous_id": "[object Object]"}, 400, "anonymous_id"),
    ("track", {**TRACK, "anonymous_id": ""}, 400, "anonymous_id"),
    # invisible, control and format characters, alone or disguising junk
    *[("identify", {**IDENTIFY, "user_id": bad}, 400, "user_id") for bad in INVISIBLE_IDS],
    *[("track", {**TRACK, "anonymous_id": bad}, 400, "anonymous_id") for bad in INVISIBLE_IDS],
    ("identify", {**IDENTIFY, "user_id": "\uff4e\uff55\uff4c\uff4c"}, 400, "user_id"),
    ("track", {**TRACK, "anonymous_id": "\uff35\uff2e\uff24\uff25\uff26\uff29\uff2e\uff25\uff24"},
     400, "anonymous_id"),
    ("track", {"kind": "page_view"}, 400, "anonymous_id"),
    # malformed emails
    ("identify", {**IDENTIFY, "email": "ann@"}, 400, "email"),
    ("identify", {**IDENTIFY, "email": "ann example.com"}, 400, "email"),
    ("identify", {**IDENTIFY, "traits": {"email": "@x.com"}}, 400, "traits.email"),
    *[("identify", {**IDENTIFY, "email": bad}, 400, "email") for bad in MALFORMED_EMAILS],
    ("identify", {**IDENTIFY, "traits": {"email": "a..b@c.co"}}, 400, "traits.email"),
    # NUL bytes
    ("identify", {**IDENTIFY, "user_id": "u\u0000"}, 400, "user_id"),
    ("track", {**TRACK, "properties": {"title": "a\u0000b"}}, 400, "properties"),
    ("chat", {"anonymous_id": "d", "text": "hi\u0000"}, 400, "text"),
    # wrong types
    ("identify", {**IDENTIFY, "user_id": {"id": 1}}, 400, "user_id"),
    ("identify", {**IDENTIFY, "user_id": True}, 400, "user_id"),
    ("identify", {**IDENTIFY, "traits": "vip"}, 400, "traits"),
    ("track", {**TRACK, "properties": [1, 2]}, 400, "properties"),
    ("track", {**TRACK, "occurred_at": 1700000000}, 400, "occurred_at"),
    ("track", {**TRACK, "message_id": 7}, 400, "message_id"),
    ("chat", {"anonymous_id": "d", "text": ["hi"]}, 400, "text"),
    # integers a browser cannot send exactly (and that overflow float arithmetic)
    ("track", {**TRACK, "kind": "purchase", "properties": {"amount": 10**400}}, 400,
     "properties"),
    ("track", {**TRACK, "properties": {"n": {"m": [-(2**53)]}}}, 400, "properties"),
    ("identify", {**IDENTIFY, "traits": {"score": 2**53}}, 400, "traits"),
    ("batch", {"batch": [{"type": "track", **TRACK, "properties": {"n": 2**64}}]}, 400,
     "batch[0].properties"),
    # deep nesting
    ("track", {**TRACK, "properties": deep(6)}, 400, "properties"),
    ("identify", {**IDENTIFY, "traits": deep(6)}, 400, "traits"),
    # timestamps far in the future, or not timestamps
    ("track", {**TRACK, "occurred_at": "2999-01-01T00:00:00Z"}, 400, "occurred_at"),
    ("chat", {"anonymous_id": "d", "text": "hi", "occurred_at": "2999-01-01"}, 400,
     "occurred_at"),
    ("track", {**TRACK, "occurred_at": "not a date"}, 400, "occurred_at"),
    # not a full date and time in the one accepted form
    ("track", {**TRACK, "occurred_at": "2026-11-22"}, 400, "occurred_at"),
    ("track", {**TRACK, "occurred_at": "2026-W47-1"}, 400, "occurred_at"),
    ("track", {**TRACK, "occurred_at": "2026-W47-1T10:00:00Z"}, 400, "occurred_at"),
    ("track", {**TRACK, "occurred_at": "20261122T100000Z"}, 400, "occurred_at"),
    ("track", {**TRACK, "occurred_at": ARABIC_INDIC_TIME}, 400, "occurred_at"),
    ("track", {**TRACK, "occurred_at": "2026-11-22T10:00:00+24:00"}, 400, "occurred_at"),
    ("track", {**TRACK, "occurred_at": "2026-11-22T10:00:00+05:60"}, 400, "occurred_at"),
    ("track", {**TRACK, "occurred_at": "2026-13-22T10:00:00Z"}, 400, "occurred_at"),
    ("batch", {"batch": [{"type": "track", **TRACK, "occurred_at": "2026-11-22"}]}, 400,
     "batch[0].occurred_at"),
    # unknown kinds and fields, missing fields
    ("track", {**TRACK, "kind": "merged"}, 400, "kind"),
    ("track", {**TRACK, "kind": "teleport"}, 400, "kind"),
    ("track", {"anonymous_id": "d"}, 400, "kind"),
    ("track", {**TRACK, "kind": "event"}, 400, "properties.name"),
    ("track", {**TRACK, "colour": "red"}, 400, "colour"),
    ("chat", {"anonymous_id": "d"}, 400, "text"),
    ("batch", {"batch": []}, 400, "batch"),
    ("batch", {"batch": "x"}, 400, "batch"),
    ("batch", {"batch": [1]}, 400, "batch[0]"),
    ("batch", {"batch": [{"type": "delete", **TRACK}]}, 400, "batch[0].type"),
    ("batch", {"events": []}, 400, "events"),
]


@pytest.mark.parametrize(("path", "body", "status", "field"), BAD)
def test_bad_input_is_refused_with_the_field_and_nothing_is_written(post, path, body, status,
                                                                     field):
    before = row_counts()

    response = post(path, body)

    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["field"] == field and error["message"]
    assert row_counts() == before


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"anonymous_id": "d", "kind": "page_view", "properties": {"x": NaN}}', "body"),
        (b"\xff\xfe", "body"),
        (b"[" * 30_000 + b"]" * 2, "body"),
        (b'{"anonymous_id": "d", "kind": "page_view", "properties": {"x": 1e999}}', "properties"),
        (b'{"anonymous_id": "d\\ud800", "kind": "page_view"}', "anonymous_id"),
        (b'{"anonymous_id": "d", "kind": "page_view", "properties": {"t": "\\udfff"}}',
         "properties"),
    ],
)
def test_unparseable_bodies_are_refused(post, raw, field):
    before = row_counts()

    response = post("track", None, raw=raw)

    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert row_counts() == before


def test_get_is_refused_with_405(client):
    response = client.get("/api/v1/track")

    assert response.status_code == 405
    assert response.json()["error"]["field"] == "method"


def test_an_event_over_32_kb_is_refused_with_413(post):
    before = row_counts()

    response = post("track", {**TRACK, "properties": {"blob": "x" * 33_000}})

    assert response.status_code == 413
    assert response.json()["error"]["field"] == "body"
    assert row_counts() == before


def test_a_batch_event_over_32_kb_is_refused_by_index(post):
    events = [{"type": "track", **TRACK}, {"type": "track", **TRACK,
                                           "properties": {"blob": "x" * 33_000}}]
    response = post("batch", {"batch": events})

    assert response.status_code == 413
    assert response.json()["error"]["field"] == "batch[1]"


def test_a_batch_over_100_events_is_refused(post):
    before = row_counts()

    response = post("batch", {"batch": [{"type": "track", **TRACK}] * 101})

    assert response.status_code == 413
    assert response.json()["error"]["field"] == "batch"
    assert row_counts() == before


def test_a_batch_body_over_500_kb_is_refused(post):
    event = {"type": "track", **TRACK, "properties": {"blob": "x" * 30_000}}
    body = json.dumps({"batch": [event] * 20})
    assert len(body) > 500 * 1024

    response = post("batch", None, raw=body.encode())

    assert response.status_code == 413
    assert response.json()["error"]["field"] == "body"


def test_unknown_endpoint_is_a_json_404(post):
    response = post("teleport", TRACK)

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "path"


@pytest.mark.parametrize(
    ("sent", "utc"),
    [
        # offsets of 16 hours and more overflowed PostgreSQL's time zone range: a 500
        ("2025-06-15T10:00:00+16:00", dt.datetime(2025, 6, 14, 18, 0, tzinfo=dt.UTC)),
        ("2025-06-15T10:00:00-16:00", dt.datetime(2025, 6, 16, 2, 0, tzinfo=dt.UTC)),
        ("2025-06-15T10:00:00+23:59", dt.datetime(2025, 6, 14, 10, 1, tzinfo=dt.UTC)),
        ("2025-06-15T10:00:00-2359", dt.datetime(2025, 6, 16, 9, 59, tzinfo=dt.UTC)),
        ("2025-06-15T10:00:00+05:30", dt.datetime(2025, 6, 15, 4, 30, tzinfo=dt.UTC)),
        ("2025-06-15 10:00:00.123Z", dt.datetime(2025, 6, 15, 10, 0, 0, 123000, tzinfo=dt.UTC)),
        ("2025-06-15T10:00", dt.datetime(2025, 6, 15, 10, 0, tzinfo=dt.UTC)),  # naive: UTC
        ("2025-06-15T10:00:00.123456789", dt.datetime(2025, 6, 15, 10, 0, 0, 123456,
                                                      tzinfo=dt.UTC)),
    ],
)
def test_any_offset_is_stored_as_the_same_instant(post, sent, utc):
    response = post("track", {**TRACK, "occurred_at": sent})

    assert response.status_code == 200, response.content
    assert Activity.objects.get().occurred_at == utc


@pytest.mark.parametrize(
    "email",
    ["Ann.Lee+shop@Mail.Example.COM", "a@b.co", "x_y-z@sub1.sub-2.example.museum",
     "o'neil@xn--bcher-kva.example", "a1@123.example.io", "user@example.xn--p1ai"],
)
def test_normal_emails_are_accepted(post, email):
    response = post("identify", {**IDENTIFY, "email": email})

    assert response.status_code == 200, response.content
    assert Person.objects.get().email == email


@pytest.mark.parametrize(
    "user_id", ["Ünïcode-用户-١", "Null-island", "id with spaces", "undefined-1"]
)
def test_real_ids_are_accepted_and_stored_unchanged(post, user_id):
    response = post("identify", {**IDENTIFY, "user_id": user_id})

    assert response.status_code == 200, response.content
    assert Person.objects.get().user_id == user_id


def test_safe_integers_and_large_floats_are_accepted(post):
    properties = {"max": 2**53 - 1, "min": -(2**53 - 1), "list": [2**53 - 1, 0.5]}

    response = post("track", {**TRACK, "properties": {**properties, "big": 1.7e308}})

    assert response.status_code == 200, response.content
    stored = Activity.objects.get().properties
    # jsonb prints 1.7e308 without an exponent, so it is read back as a 309-digit int
    assert float(stored.pop("big")) == 1.7e308 and stored == properties


@pytest.mark.parametrize(
    ("first", "second"),
    [("José-77", "Jose\u0301-77"), ("BOB", "ＢＯＢ"), ("ガ-1", "ｶﾞ-1")],
)
def test_ids_that_look_alike_are_one_profile(post, first, second):
    for user_id in (first, second):
        assert post("track", {"user_id": user_id, "kind": "page_view"}).status_code == 200
    for anonymous_id in (first, second):
        assert post("track", {"anonymous_id": anonymous_id, "kind": "page_view"}).status_code == 200

    assert Person.objects.filter(user_id=first).get().page_views == 2
    assert Person.objects.count() == 2  # one for the user ID, one for the device


@pytest.mark.parametrize(
    "user_id",
    ["\u3164", "undefined\u3164", "\u2800", "\uffa0", "\u115f", "null\u034f", "bob\ufe0f"],
)
def test_invisible_fillers_in_ids_are_refused(post, user_id):
    before = row_counts()

    response = post("track", {"user_id": user_id, "kind": "page_view"})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "user_id"
    assert row_counts() == before
