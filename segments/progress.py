"""A segment's rebuild in plain words, for its admin page (times in the viewer's zone)."""

from __future__ import annotations

from profiles.admin.plain import when
from segments.models import RebuildState, SegmentRebuild


def _people(count: int) -> str:
    return f"{count:,} {'person' if count == 1 else 'people'}"


def _parts(rebuild: SegmentRebuild) -> str:
    total = rebuild.chunks_total
    return f"{rebuild.chunks_done:,} of {total:,} {'part' if total == 1 else 'parts'}"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"{seconds:.0f} second{'s' if round(seconds) != 1 else ''}"
    return f"{seconds / 60:.0f} minutes"


def _started(rebuild: SegmentRebuild) -> str:
    who = rebuild.started_by or "the system"
    why = f" ({rebuild.reason})" if rebuild.reason else ""
    return f"Started {when(rebuild.started_at)} by {who}{why}."


def progress_words(rebuild: SegmentRebuild | None) -> str:
    """What the latest rebuild did or is doing."""
    if rebuild is None:
        return "Not rebuilt yet."
    moved = f"{_people(rebuild.entered)} entered and {_people(rebuild.left)} left"
    if rebuild.running:
        where = "on the background workers" if rebuild.in_background else "now"
        return (f"Rebuilding {where}: {_parts(rebuild)} done, {moved} so far. "
                f"{_started(rebuild)}")
    if rebuild.state == RebuildState.FINISHED:
        took = _duration((rebuild.finished_at - rebuild.started_at).total_seconds())
        members = rebuild.members or 0
        return (f"Last rebuild finished {when(rebuild.finished_at)} after {took}: {moved}; "
                f"{members:,} {'member' if members == 1 else 'members'} then. "
                f"{_started(rebuild)}")
    if rebuild.state == RebuildState.SUPERSEDED:
        return (f"Stopped after {_parts(rebuild)} ({moved}): the segment was changed "
                f"{when(rebuild.finished_at)} and a new rebuild started. {_started(rebuild)}")
    return (f"Failed after {_parts(rebuild)} ({moved}): {rebuild.error} Save the segment again "
            f"to rebuild it. {_started(rebuild)}")
