"""api/segment/messages.py builds the native track event field by field: it must know them all."""

from __future__ import annotations

from dataclasses import fields

from profiles.services.events import Event
from profiles.services.tracking import TrackInput

# The fields _with_digest_as_sent copies; a field added to either class must be copied there.
EVENT_FIELDS = {"kind", "occurred_at", "properties", "source", "message_id", "message_digest",
                "conversation"}
TRACK_INPUT_FIELDS = {"anonymous_id", "user_id", "event", "proof"}


def test_every_field_of_the_native_track_event_is_copied():
    for cls, known in ((Event, EVENT_FIELDS), (TrackInput, TRACK_INPUT_FIELDS)):
        missing = {field.name for field in fields(cls)} - known
        assert not missing, (f"{cls.__name__} gained {sorted(missing)}: copy it in "
                             "api/segment/messages.py _with_digest_as_sent")
