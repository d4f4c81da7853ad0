"""Audit helpers: history rows for people, and the journal's JSON forms."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from profiles.models import MergeRecord, Person
from profiles.services.history import write_stored_history
from profiles.services.merging.fields import BASE_FIELDS, TOMBSTONE_FIELDS, Decision
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


def decisions_json(decisions: Iterable[Decision]) -> dict[str, dict]:
    """field -> {value, winner, rule}: what the journal shows and what undo compares with."""
    # Unpacked (a tuple: no attribute look-ups): ~25 decisions a group, ~25,000 a dedup chunk.
    return {
        field: {
            "value": json_value(value),
            "winner": winner,
            "rule": rule,
        }
        for field, value, winner, rule, _ in decisions
    }


def merge_of(person: Person) -> MergeRecord | None:
    """The (not undone) journal entry that made `person` a tombstone, if any."""
    if person.merged_into_id is None:
        return None
    candidates = MergeRecord.objects.filter(
        base_id=person.merged_into_id, undone_at__isnull=True
    ).order_by("-created_at", "-id")
    return next((record for record in candidates if person.pk in record.merged_ids), None)
