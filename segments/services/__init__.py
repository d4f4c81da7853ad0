"""Segments' Python API (docs/segments.md): the admin, the HTTP API, tasks and the shell call
these.

    from segments.services import create_segment, update_segment, delete_segment
    from segments.services import count_matching, segments_of, rebuild_segment
"""

from segments.services.definition import DefinitionError, parse_definition
from segments.services.membership import evaluate_people
from segments.services.rebuild import (
    rebuild_segment,
    refresh_time_windows,
    start_rebuild,
)
from segments.services.segments import (
    SegmentRefused,
    count_matching,
    create_segment,
    delete_segment,
    sample_matching,
    segments_of,
    update_segment,
)

__all__ = [
    "DefinitionError",
    "SegmentRefused",
    "count_matching",
    "create_segment",
    "delete_segment",
    "evaluate_people",
    "parse_definition",
    "rebuild_segment",
    "refresh_time_windows",
    "sample_matching",
    "segments_of",
    "start_rebuild",
    "update_segment",
]
