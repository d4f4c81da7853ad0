"""api/segment/messages.py sets the track event's messageId and digest in place: the fields
must be there; timestamps.py reads the libraries' timestamps faster: as the validation does."""

from __future__ import annotations

from dataclasses import fields

import pytest
from django.utils import timezone

from api.segment.messages import Envelope, command_for
from api.segment.timestamps import read_timestamp
from profiles.services.events import Event
from profiles.services.validation import InvalidInput, parse_timestamp


def test_the_fields_set_in_place_are_the_events():
    # object.__setattr__ would add a stray attribute, silently, if Event renamed one of them.
    assert {"message_id", "message_digest"} <= {field.name for field in fields(Event)}


def test_a_track_event_gets_its_message_id_and_the_digest_as_sent(db):
    envelope = Envelope(received_at=timezone.now(), context={})
    message = {"type": "page", "anonymousId": "device-1", "messageId": "m-1",
               "timestamp": "2026-12-01T06:04:47.487Z"}
    first = command_for(message, type_=None, site=None, envelope=envelope)
    again = command_for({**message, "sentAt": "2026-12-01T06:04:48.000Z"}, type_=None,
                        site=None, envelope=envelope)
    other = command_for({**message, "anonymousId": "device-2"}, type_=None, site=None,
                        envelope=envelope)
    assert first.data.event.message_id == "m-1"
    assert first.data.event.message_digest == again.data.event.message_digest  # a resend
    assert first.data.event.message_digest != other.data.event.message_digest


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
