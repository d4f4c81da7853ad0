"""Every kind of bad input gets a 4xx JSON error naming the field, and nothing is written."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import row_counts

pytestmark = pytest.mark.django_db

TRACK = {"anonymous_id": "dev-1", "kind": "page_view"}
IDENTIFY = {"anonymous_id": "dev-1", "user_id": "u-1"}


def deep(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"n": value}
    return value


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
    ("track", {"kind": "page_view"}, 400, "anonymous_id"),
    # malformed emails
    ("identify", {**IDENTIFY, "email": "ann@"}, 400, "email"),
    ("identify", {**IDENTIFY, "email": "ann example.com"}, 400, "email"),
    ("identify", {**IDENTIFY, "traits": {"email": "@x.com"}}, 400, "traits.email"),
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
    # deep nesting
    ("track", {**TRACK, "properties": deep(6)}, 400, "properties"),
    ("identify", {**IDENTIFY, "traits": deep(6)}, 400, "traits"),
    # timestamps far in the future, or not timestamps
    ("track", {**TRACK, "occurred_at": "2999-01-01T00:00:00Z"}, 400, "occurred_at"),
    ("chat", {"anonymous_id": "d", "text": "hi", "occurred_at": "2999-01-01"}, 400,
     "occurred_at"),
    ("track", {**TRACK, "occurred_at": "not a date"}, 400, "occurred_at"),
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
