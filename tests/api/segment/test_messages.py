"""api/segment/messages.py builds the native track event field by field: it must know them all;
timestamps.py reads the libraries' timestamps faster: as the validation does."""

from __future__ import annotations

from dataclasses import fields

import pytest

from api.segment.timestamps import read_timestamp
from profiles.services.events import Event
from profiles.services.tracking import TrackInput
from profiles.services.validation import InvalidInput, parse_timestamp

# The fields _with_digest_as_sent copies; a field added to either class must be copied there.
EVENT_FIELDS = {"kind", "occurred_at", "properties", "source", "message_id", "message_digest",
                "conversation"}
TRACK_INPUT_FIELDS = {"anonymous_id", "user_id", "event", "proof"}


def test_every_field_of_the_native_track_event_is_copied():
    for cls, known in ((Event, EVENT_FIELDS), (TrackInput, TRACK_INPUT_FIELDS)):
        missing = {field.name for field in fields(cls)} - known
        assert not missing, (f"{cls.__name__} gained {sorted(missing)}: copy it in "
                             "api/segment/messages.py _with_digest_as_sent")


@pytest.mark.parametrize("value", [
    "2026-12-01T06:04:47.487Z", "2026-12-01T06:04:47.487+00:00", "2026-12-01T06:04:47+02:00",
    "2026-12-01T06:04:47.123456-05:30", "2026-12-01T06:04:47Z", "2026-02-30T06:04:47Z",
    "2026-12-01T25:04:47Z", "2026-12-01T06:04:47+24:00", "2026-12-01 06:04", "2026-12-01",
    "٢٠٢٦-12-01T06:04:47Z", "2026-12-01T06:04:47.1234567Z", 1700000000,
])
def test_the_fast_reading_of_timestamps_is_the_validations(value):
    def read(reader):
        try:
            return reader("timestamp", value)
        except InvalidInput as exc:
            return exc.text

    assert read(read_timestamp) == read(parse_timestamp)
