"""Small HTML helpers shared by the merge pages and the journal."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from profiles.models import MergeRecord, Person


def person_link(pk: int, person: Person | None) -> str:
    """A link to a person's page, or a plain mention when the person was deleted since."""
    if person is None:
        return format_html("#{} (deleted)", pk)
    url = reverse("admin:profiles_person_change", args=[pk])
    return format_html('<a href="{}">{} (#{})</a>', url, person.display_name, pk)


# Values are shown cut to this many characters (the data is never cut): a page about a person
# with huge attributes stays small.
SHOWN_CHARACTERS = 300
# At most this many attributes are listed one per row; the rest are counted.
SHOWN_ATTRIBUTES = 50


def short_text(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters not shown)"


def show_value(value: Any, limit: int = SHOWN_CHARACTERS) -> str:
    """A field value as staff read it: empty shown as a dash, JSON compact, long values cut."""
    if value is None or value == "" or value == {} or value == []:
        return "—"
    if isinstance(value, dict | list):
        return short_text(json.dumps(value, sort_keys=True, ensure_ascii=False), limit)
    return short_text(str(value), limit)


def attributes_table(attributes: dict[str, Any], *, limit: int = SHOWN_ATTRIBUTES) -> str:
    """Attributes as a small key/value table (the first `limit` keys), never raw JSON."""
    if not attributes:
        return "—"
    keys = sorted(attributes)
    rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>",
                            ((key, show_value(attributes[key])) for key in keys[:limit]))
    more = (format_html('<tr><td colspan="2">… and {} more not shown</td></tr>',
                        len(keys) - limit) if len(keys) > limit else "")
    return format_html('<table class="attributes">{}{}</table>', rows, more)


T = TypeVar("T")


def collapse_attributes(
    rows: list[T], *, field: Callable[[T], str], notable: Callable[[T], bool],
    rule: Callable[[T], str], limit: int = SHOWN_ATTRIBUTES,
) -> tuple[list[T], dict[str, int]]:
    """Every field row, and at most `limit` custom-attribute rows (notable ones first, order
    kept); the attribute rows left out, counted by rule. Display only: the data is whole."""
    attributes = [row for row in rows if field(row).startswith("attributes.")]
    if len(attributes) <= limit:
        return rows, {}
    kept = {id(row) for row in sorted(attributes, key=lambda row: not notable(row))[:limit]}
    shown = [row for row in rows if id(row) in kept or not field(row).startswith("attributes.")]
    return shown, dict(Counter(rule(row) for row in attributes if id(row) not in kept))


def hidden_summary(hidden: dict[str, int]) -> str:
    """"2,950 more custom attributes not shown (base value kept: 2,950)"."""
    rules = "; ".join(f"{rule}: {count:,}" for rule, count in sorted(hidden.items()))
    return f"{sum(hidden.values()):,} more custom attributes not shown ({rules})"


def _field_label(field: str) -> str:
    if field.startswith("attributes."):
        return f"{field.removeprefix('attributes.')} (custom attribute)"
    try:
        return capfirst(str(Person._meta.get_field(field).verbose_name))
    except FieldDoesNotExist:
        return field


def _field_order(field: str) -> tuple[int, str]:
    """Person's own field order (as on the person page), custom attributes after."""
    names = [f.name for f in Person._meta.concrete_fields]
    return (names.index(field), "") if field in names else (len(names), field)


def _journal_value(value: Any) -> str:
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        parsed = parse_datetime(value)
        if parsed is not None:
            return f"{timezone.localtime(parsed):%Y-%m-%d %H:%M}"
    return show_value(value)


def decision_rows(record: MergeRecord) -> list[tuple[str, str, str, str]]:
    """(field, surviving value, whose, rule) from the journal's `decisions` JSON.

    JSON objects come back from PostgreSQL in its own key order: sort by the person page's.
    """
    decisions = record.decisions or {}
    names = {
        int(pk): (snap.get("name") or snap.get("email") or f"Person #{pk}")
        for pk, snap in (record.snapshot or {}).items() if isinstance(snap, dict)
    }
    fields, hidden = collapse_attributes(
        sorted(decisions, key=_field_order), field=str,
        notable=lambda field: _winner(decisions[field]) != record.base_id,
        rule=lambda field: _rule(decisions[field]))
    rows = []
    for field in fields:
        decision = decisions[field]
        if not isinstance(decision, dict):
            rows.append((_field_label(field), show_value(decision), "", ""))
            continue
        winner = decision.get("winner")
        whose = f"{names.get(winner, 'Person')} (#{winner})" if winner is not None else "everyone"
        rows.append((_field_label(field), _journal_value(decision.get("value")), whose,
                     _rule(decision)))
    if hidden:
        rows.append((hidden_summary(hidden), "", "", ""))
    return rows


def _winner(decision: Any) -> Any:
    """Whose value survived (None: computed from everyone); notable unless the base's."""
    return decision.get("winner") if isinstance(decision, dict) else None


def _rule(decision: Any) -> str:
    return str(decision.get("rule", "")) if isinstance(decision, dict) else ""


def moved_rows(record: MergeRecord) -> list[tuple[str, str]]:
    """(table, rows moved) from the journal's `moved["counts"]`: {table: {person id: n}}."""
    counts = (record.moved or {}).get("counts", {})
    rows = []
    for table, per_person in sorted(counts.items()):
        total = sum(per_person.values()) if isinstance(per_person, dict) else per_person
        rows.append((_table_label(table), str(total)))
    return rows


def _table_label(label: str) -> str:
    """"profiles.activity" -> "activities" (the label itself for a model removed since)."""
    try:
        return str(apps.get_model(label)._meta.verbose_name_plural)
    except (LookupError, ValueError):
        return label
