"""When a Segment message happened, corrected for the sending device's clock, as the spec does.

A device's clock may be off by hours. The client stamps each message when it is made
(`originalTimestamp`, or `timestamp` in the libraries that send only that) and the request when
it is sent (`sentAt`, per message or for the whole batch), both by that clock; their difference
is how long the message waited on the device, which holds whatever the clock's error. So:

    timestamp = received_at - (sentAt - originalTimestamp)

Without `sentAt` the message's own `timestamp` (else `originalTimestamp`) is taken as it is (a
server importing history), and without either the event happened when it was received. The
result is then checked as any event's time is (not before 2000, at most a day ahead).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from profiles.services.validation import InvalidInput, parse_timestamp


def occurred_at(message: dict[str, Any], batch_sent_at: Any,
                received_at: dt.datetime) -> dt.datetime | None:
    """The corrected time of `message` (None: now); raises InvalidInput naming the field."""
    get = message.get
    stamp, original = get("timestamp"), get("originalTimestamp")
    if stamp is None and original is None:
        return None
    sent = get("sentAt", batch_sent_at)
    if sent is None:  # taken as it is: `timestamp` first
        return read_timestamp(*(("timestamp", stamp) if stamp is not None else
                                ("originalTimestamp", original)))
    # When the message was made: `originalTimestamp` first
    field, made = ("originalTimestamp", original) if original is not None else ("timestamp", stamp)
    made_at = read_timestamp(field, made)
    sent_at = _sent_at(sent) if isinstance(sent, str) else parse_timestamp("sentAt", sent)
    try:
        return received_at - (sent_at - made_at)
    except OverflowError as exc:  # years apart, near the calendar's ends
        raise InvalidInput(field, "is too far from sentAt") from exc


# What the libraries send (JavaScript's toISOString, Python's isoformat): a strict part of the
# form the validation accepts, which Python's own parser reads ten times faster. Anything else
# (or a date that does not exist) is read by the validation, which says what is wrong.
LIBRARY_FORM = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3}(?:\d{3})?)?(?:Z|[+-]\d{2}:\d{2})", re.ASCII
)


def read_timestamp(field: str, value: Any) -> dt.datetime:
    """validation.parse_timestamp, faster for the libraries' own form."""
    if isinstance(value, str) and LIBRARY_FORM.fullmatch(value):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    return parse_timestamp(field, value)


@lru_cache(maxsize=256)
def _sent_at(value: str) -> dt.datetime:
    """A batch's sentAt, read once for all its messages."""
    return parse_timestamp("sentAt", value)
