"""Small HTML helpers shared by the merge pages and the journal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from profiles.admin.plain import plain, when
from profiles.avatars import avatar_data_uri
from profiles.models import MergeRecord, Person, PersonStatus
from profiles.services.merging import read_decisions, rule_text


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
    """A value as staff read it: empty shown as a dash, lists and objects in words, long
    values cut."""
    return short_text(plain(value), limit)


_DATE_FIELDS = frozenset(f.name for f in Person._meta.concrete_fields
                         if isinstance(f, models.DateTimeField))
_STATUS_LABELS = dict(PersonStatus.choices)
# Labels where the model's name is a developer's ("avatar seed" is the picture staff see).
_LABELS = {"avatar_seed": "Avatar", "user_id": "User ID", "os": "OS"}


def field_label(field: str) -> str:
    """A Person field (or "attributes.<key>") as staff know it."""
    if field.startswith("attributes."):
        return f"{field.removeprefix('attributes.')} (custom attribute)"
    if field in _LABELS:
        return _LABELS[field]
    try:
        return capfirst(str(Person._meta.get_field(field).verbose_name))
    except FieldDoesNotExist:
        return field


def field_value(field: str, value: Any, limit: int = SHOWN_CHARACTERS) -> str:
    """One person's value of a field as staff read it: the avatar as its picture, the status
    by its label, dates in the viewer's zone (a datetime or the journal's ISO text)."""
    if field == "avatar_seed":
        if not value:
            return "—"
        return format_html('<img src="{}" width="32" height="32" alt="" class="avatar">',
                           avatar_data_uri(str(value)))
    if field == "status" and isinstance(value, str):
        return _STATUS_LABELS.get(value, value)
    if field in _DATE_FIELDS:
        return when(value)
    return show_value(value, limit)


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


def field_order(field: str) -> tuple[int, str]:
    """Person's own field order (as on the person page), custom attributes after."""
    names = [f.name for f in Person._meta.concrete_fields]
    return (names.index(field), "") if field in names else (len(names), field)


def snapshot_of(record: MergeRecord, pk: int) -> dict[str, Any]:
    """A participant's values before the merge (an odd stored snapshot reads as empty)."""
    snapshot = (record.snapshot or {}).get(str(pk)) if isinstance(record.snapshot, dict) else None
    return snapshot if isinstance(snapshot, dict) else {}


def participants(record: MergeRecord) -> list[int]:
    """The base, then the merged people, as the journal lists them."""
    merged = [pk for pk in record.merged_ids or [] if isinstance(pk, int)]
    return [record.base_id, *merged]


def name_before(record: MergeRecord, pk: int) -> str:
    """A participant's name when merged: "Ann Lee (#3)"."""
    snap = snapshot_of(record, pk)
    name = snap.get("name") or snap.get("email") or snap.get("user_id") or f"Person #{pk}"
    return f"{plain(name)} (#{pk})"


def journal_title(record: MergeRecord) -> str:
    """"Ann Lee (#3) ← A. Lee (#5), Ann (#4)": who survived, and who was merged into them."""
    base, *merged = participants(record)
    return f"{name_before(record, base)} ← " + ", ".join(name_before(record, pk)
                                                        for pk in merged)


def _before(record: MergeRecord, pk: int, field: str) -> Any:
    snap = snapshot_of(record, pk)
    if field.startswith("attributes."):
        attributes = snap.get("attributes")
        return attributes.get(field.removeprefix("attributes.")) \
            if isinstance(attributes, dict) else None
    return snap.get(field)


@dataclass
class DecisionRow:
    """One field of a journal entry: the result, each participant's value before, the rule."""

    label: str
    result: str
    before: list[tuple[str, bool]]  # (value, is it the one that survived), per participant
    rule: str


def decision_rows(record: MergeRecord) -> tuple[list[DecisionRow], str]:
    """The journal's `decisions` (either form, `read_decisions`) with everyone's old values
    and the rules in words; and a sentence counting the custom attributes left out (at most
    SHOWN_ATTRIBUTES are listed).

    JSON objects come back from PostgreSQL in its own key order: sort by the person page's.
    """
    decisions = read_decisions(record)
    people = participants(record)
    fields, hidden = collapse_attributes(
        sorted(decisions, key=field_order), field=str,
        notable=lambda field: decisions[field]["winner"] != record.base_id,
        rule=lambda field: rule_text(decisions[field]["rule"]))
    rows = []
    for field in fields:
        decision = decisions[field]
        winner = decision["winner"]
        rows.append(DecisionRow(
            label=field_label(field),
            result=field_value(field, decision["value"]),
            before=[(field_value(field, _before(record, pk, field)), pk == winner)
                    for pk in people],
            rule=rule_text(decision["rule"]),
        ))
    return rows, hidden_summary(hidden) if hidden else ""


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
