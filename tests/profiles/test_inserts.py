"""`inserts.json_document` (orjson) writes what the standard encoder with `json_default` writes."""

import datetime as dt
import json
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from profiles.models import ActivityKind
from profiles.services.inserts import json_default, json_document


def _standard(value):
    return json.dumps(value, default=json_default, separators=(",", ":"))


def test_every_kind_of_value_reads_back_as_with_the_standard_encoder():
    value = {
        1: "int key", "when": dt.datetime(2026, 12, 1, 9, 54, 36, 120000, tzinfo=dt.UTC),
        "whole second": dt.datetime(2026, 12, 1, 9, 54, 36, tzinfo=dt.UTC),
        "paris": dt.datetime(2026, 7, 1, 2, 0, 0, 5, tzinfo=ZoneInfo("Europe/Paris")),
        "naive": dt.datetime(2026, 1, 2, 3, 4, 5, 6), "day": dt.date(2026, 2, 28),
        "time": dt.time(23, 59, 59, 999999), "price": Decimal("12.50"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"), "none": None,
        "text": "Zoë « ✓ » \"quoted\" \\ \n", "kind": ActivityKind.MERGED,
        "nested": [{"a": [1, 2.5, True, False]}, ()], "big": 2**62, "huge": [10**30, -(2**64)],
    }
    assert json.loads(json_document(value)) == json.loads(_standard(value))
    # Dates and times are the same text (undo and the journal read them back as written).
    assert json.loads(json_document(value))["when"] == "2026-12-01T09:54:36.120000+00:00"
    assert json.loads(json_document(value))["paris"] == "2026-07-01T02:00:00.000005+02:00"


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.datetimes(timezones=st.sampled_from([dt.UTC, ZoneInfo("Europe/Paris")]))
    | st.dates() | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text() | st.integers(0, 10**9), inner, max_size=4),
    max_leaves=20,
))
def test_generated_values_read_back_as_with_the_standard_encoder(value):
    assert json.loads(json_document(value)) == json.loads(_standard(value))


def test_keys_of_every_kind_read_back_as_with_the_standard_encoder():
    # Text keys take orjson's fast form; any other key (an int, a text subclass such as a
    # choice) is written as json.dumps writes it.
    for value in ({"a": 1}, {1: "a"}, {ActivityKind.MERGED: 1}, [{"a": {2: [{"b": 3}]}}],
                  {"nested": {True: None, 2.5: "x"}}):
        assert json_document(value) == _standard(value)
