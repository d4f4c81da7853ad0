"""Audit helpers: history rows for people, and the journal's JSON forms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from profiles.models import MergeRecord, Person
from profiles.services.merging.rules import Decision
from profiles.services.merging.state import json_value


def save_with_history(person: Person, *, actor: Any, reason: str) -> None:
    """Save one person; simple-history writes its row with who and why."""
    person._history_user = actor
    person._change_reason = reason
    person.save()


def decisions_json(decisions: Iterable[Decision]) -> dict[str, dict]:
    """field -> {value, winner, rule}: what the journal shows and what undo compares with."""
    return {
        decision.field: {
            "value": json_value(decision.value),
            "winner": decision.winner_id,
            "rule": decision.rule,
        }
        for decision in decisions
    }


def merge_of(person: Person) -> MergeRecord | None:
    """The (not undone) journal entry that made `person` a tombstone, if any."""
    if person.merged_into_id is None:
        return None
    candidates = MergeRecord.objects.filter(
        base_id=person.merged_into_id, undone_at__isnull=True
    ).order_by("-created_at", "-id")
    return next((record for record in candidates if person.pk in record.merged_ids), None)
