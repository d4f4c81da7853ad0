"""Segment rebuild knobs: a Django setting wins, then an environment variable, then the
default (so a test can start a Celery worker with, say, a chunk delay, without a settings
change)."""

from __future__ import annotations

from crm.knobs import read_knob

DEFAULTS: dict[str, float | int] = {
    # Ids per chunk (so at most that many people) = per transaction: bounds how long a chunk
    # holds its people's locks and how often the progress moves; a million people are 20.
    "SEGMENT_REBUILD_CHUNK_PEOPLE": 50_000,
    # The admin rebuilds a segment in the request when there are at most this many live
    # people, and on the Celery workers (in chunks, with progress) when there are more.
    "SEGMENT_REBUILD_INLINE_MAX": 20_000,
    # Test only: sleep inside each chunk transaction so a test can act mid-rebuild.
    "SEGMENT_REBUILD_CHUNK_DELAY_SECONDS": 0.0,
}


def get(name: str) -> float | int:
    return read_knob(name, DEFAULTS)  # type: ignore[return-value]
