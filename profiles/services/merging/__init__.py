"""The merge engine: one implementation for staff, identify and dedup (see docs/merging.md).

    from profiles.services.merging import choose_base, merge_preview, merge_people, undo_merge

`lock_live_person` is for code that records rows for a person (tracking, identify): it makes
those inserts wait for a merge in progress and land on the live base.
"""

from profiles.services.merging.errors import MergeRefused, UndoRefused
from profiles.services.merging.locking import lock_live_person
from profiles.services.merging.merge import merge_many, merge_people
from profiles.services.merging.planning import plan_merges
from profiles.services.merging.preview import MergePreview, PreviewRow, PreviewValue, merge_preview
from profiles.services.merging.relations import (
    PersonRelation,
    person_relations,
    unhandled_relations,
)
from profiles.services.merging.rules import RULE_ORDER, choose_base
from profiles.services.merging.undo import undo_merge

__all__ = [
    "RULE_ORDER",
    "MergePreview",
    "MergeRefused",
    "PersonRelation",
    "PreviewRow",
    "PreviewValue",
    "UndoRefused",
    "choose_base",
    "lock_live_person",
    "merge_many",
    "merge_people",
    "merge_preview",
    "person_relations",
    "plan_merges",
    "undo_merge",
    "unhandled_relations",
]
