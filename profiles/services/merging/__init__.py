"""The merge engine: one implementation for staff, identify and dedup (see docs/merging.md).

    from profiles.services.merging import choose_base, merge_preview, merge_people, undo_merge
    from profiles.services.merging import merge_many, plan_merges   # 1..N groups
    from profiles.services.merging import check_mergeable   # would a merge be refused? (raises)

Code outside this package imports only these names.

Code that records rows for a person (tracking, identify) locks it with
`profiles.services.tombstones.resolve_live(person_id, lock=True)`: the inserts then wait for a
merge in progress and land on the live base.
"""

from profiles.services.merging.errors import MergeRefused, UndoRefused
from profiles.services.merging.fields import FIELD_RULES, RULE_TEXTS, Decision, rule_text
from profiles.services.merging.hooks import register_after_merge, register_after_undo
from profiles.services.merging.invariants import (
    conservation_problems,
    invariant_problems,
    rows_by_relation,
)
from profiles.services.merging.journal import read_decisions
from profiles.services.merging.merge import merge_many, merge_people
from profiles.services.merging.planning import check_mergeable, plan_merges
from profiles.services.merging.preview import MergePreview, PreviewRow, PreviewValue, merge_preview
from profiles.services.merging.relations import (
    PersonRelation,
    person_relations,
    unhandled_relations,
)
from profiles.services.merging.rules import RULE_ORDER, choose_base, rank_key
from profiles.services.merging.state import json_value
from profiles.services.merging.undo import undo_merge

__all__ = [
    "FIELD_RULES",
    "RULE_ORDER",
    "RULE_TEXTS",
    "Decision",
    "MergePreview",
    "MergeRefused",
    "PersonRelation",
    "PreviewRow",
    "PreviewValue",
    "UndoRefused",
    "check_mergeable",
    "choose_base",
    "conservation_problems",
    "invariant_problems",
    "json_value",
    "merge_many",
    "merge_people",
    "merge_preview",
    "person_relations",
    "plan_merges",
    "rank_key",
    "read_decisions",
    "register_after_merge",
    "register_after_undo",
    "rows_by_relation",
    "rule_text",
    "undo_merge",
    "unhandled_relations",
]
