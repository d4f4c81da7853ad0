"""Small HTML helpers shared by the merge pages and the journal."""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse
from django.utils.html import format_html

from profiles.models import MergeRecord, Person


def person_link(pk: int, person: Person | None) -> str:
    """A link to a person's page, or a plain mention when the person was deleted since."""
    if person is None:
        return format_html("#{} (deleted)", pk)
    url = reverse("admin:profiles_person_change", args=[pk])
    return format_html('<a href="{}">{} (#{})</a>', url, person.display_name, pk)


def show_value(value: Any) -> str:
    """A field value as staff read it: empty shown as a dash, JSON compact."""
    if value is None or value == "" or value == {} or value == []:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def decision_rows(record: MergeRecord) -> list[tuple[str, str, str, str]]:
    """(field, surviving value, from whom, rule) from the journal's `decisions` JSON."""
    decisions = record.decisions or {}
    items = decisions.items() if isinstance(decisions, dict) else enumerate(decisions)
    rows = []
    for key, decision in items:
        if not isinstance(decision, dict):
            rows.append((str(key), show_value(decision), "", ""))
            continue
        field = decision.get("field", key)
        winner = decision.get("winner", decision.get("winner_id"))
        rows.append((str(field), show_value(decision.get("value")),
                     f"#{winner}" if winner is not None else "everyone",
                     str(decision.get("rule", ""))))
    return rows


def moved_rows(record: MergeRecord) -> list[tuple[str, str]]:
    """(table, rows moved) from the journal's `moved["counts"]`: {table: {person id: n}}."""
    counts = (record.moved or {}).get("counts", {})
    rows = []
    for table, per_person in sorted(counts.items()):
        total = sum(per_person.values()) if isinstance(per_person, dict) else per_person
        rows.append((table, str(total)))
    return rows
