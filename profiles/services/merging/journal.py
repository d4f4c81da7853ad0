"""Audit helpers: history rows for people, and the journal's JSON forms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from profiles.models import MergeRecord, Person
from profiles.services.history import write_stored_history
from profiles.services.merging.fields import (
    ATTRIBUTES_PREFIX,
    BASE_FIELDS,
    TOMBSTONE_FIELDS,
    Decision,
    rule_code,
)
from profiles.services.merging.state import json_value


def save_with_history(person: Person, *, actor: Any, reason: str) -> None:
    """Save one person; simple-history writes its row with who and why."""
    person._history_user = actor
    person._change_reason = reason
    person.save()


def write_merged_people(
    *, base: Person, tombstones: list[Person], actor: Any, reason: str, now: datetime
) -> None:
    """Three statements whatever the number of people: tombstones, base, history rows.

    Tombstones are written first: the base may take over a user ID that must stay unique
    among live people. QuerySet.update() writes no history, so the rows are written here.
    """
    Person.objects.filter(pk__in=[person.pk for person in tombstones]).update(
        **{name: getattr(tombstones[0], name) for name in TOMBSTONE_FIELDS}
    )
    Person.objects.filter(pk=base.pk).update(
        **{name: getattr(base, Person._meta.get_field(name).attname) for name in BASE_FIELDS}
    )
    generated = [f.attname for f in Person._meta.concrete_fields if getattr(f, "generated", 0)]
    if generated:  # computed by the database from the values just written
        base.refresh_from_db(fields=generated)
    write_stored_history(model=Person, ids=[p.pk for p in (*tombstones, base)],
                         history_type="~", actor=actor, reason=reason, at=now)


def decisions_json(decisions: Iterable[Decision], snapshot: dict[str, dict[str, Any]],
                   base_id: int) -> dict[str, dict]:
    """field -> {"rule": code[, "winner": id][, "value": value]}: what the journal shows and
    what undo compares with (`read_decisions` gives every key back).

    The journal is the largest thing a merge writes, and most of it was said twice: "winner"
    is left out when it is the base, "value" when it is the winner's own value before the
    merge, which `snapshot` (the entry's) holds, or when nobody won and it is empty (null). A
    value computed from everyone (sums, merge time) is always written. Most decisions are then
    a rule code alone.
    """
    # Unpacked (a tuple: no attribute look-ups): ~25 decisions a group, ~25,000 a dedup chunk.
    out = {}
    for field, value, winner, rule, _ in decisions:
        value = json_value(value)
        if winner is None:
            out[field] = {"rule": rule, "winner": None} if value is None else {
                "rule": rule, "winner": None, "value": value}
            continue
        before = _before(snapshot.get(str(winner)), field)
        kept = value is before or (type(value) is type(before) and value == before)
        entry = {"rule": rule} if winner == base_id else {"rule": rule, "winner": winner}
        if not kept:
            entry["value"] = value
        out[field] = entry
    return out


_ABSENT = object()


def _before(snapshot: dict[str, Any] | None, field: str) -> Any:
    """A participant's journaled value of `field` (or "attributes.<key>"); _ABSENT if none."""
    if not isinstance(snapshot, dict):
        return _ABSENT
    if field.startswith(ATTRIBUTES_PREFIX):
        attributes = snapshot.get("attributes")
        if not isinstance(attributes, dict):
            return _ABSENT
        return attributes.get(field[len(ATTRIBUTES_PREFIX):], _ABSENT)
    return snapshot.get(field, _ABSENT)


def read_decisions(record: MergeRecord) -> dict[str, dict[str, Any]]:
    """field -> {"value", "winner", "rule" (its code)} of a journal entry, written in either
    form: every key (entries written before 2026-12, rules as sentences), or the short one
    (`decisions_json`). An odd stored decision reads as an empty one."""
    decisions = record.decisions if isinstance(record.decisions, dict) else {}
    snapshot = record.snapshot if isinstance(record.snapshot, dict) else {}
    out = {}
    for field, decision in decisions.items():
        if not isinstance(decision, dict):
            decision = {"value": decision, "winner": None, "rule": None}
        winner = decision.get("winner", record.base_id)
        if "value" in decision:
            value = decision["value"]
        elif winner is None:
            value = None
        else:
            value = _before(snapshot.get(str(winner)), field)
            value = None if value is _ABSENT else value
        out[field] = {"value": value, "winner": winner, "rule": rule_code(decision.get("rule"))}
    return out


def merge_of(person: Person) -> MergeRecord | None:
    """The (not undone) journal entry that made `person` a tombstone, if any."""
    if person.merged_into_id is None:
        return None
    candidates = MergeRecord.objects.filter(
        base_id=person.merged_into_id, undone_at__isnull=True
    ).order_by("-created_at", "-id")
    return next((record for record in candidates if person.pk in record.merged_ids), None)
