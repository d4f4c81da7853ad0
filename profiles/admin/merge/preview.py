"""Adapt the engine's MergePreview to what the preview template draws (strings, radios)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.html import format_html

from profiles.admin.merge.display import collapse_attributes, hidden_summary, show_value
from profiles.admin.params import parse_id
from profiles.avatars import avatar_data_uri

# A preview cell shows this much of a value (one column per person: shorter than elsewhere).
PREVIEW_CHARACTERS = 120
# Values differ between people only in these rows is worth a radio; others show the rule.
CHOICE_PREFIX = "choice:"
DEFAULT_PREFIX = "default:"


@dataclass
class Cell:
    person_id: int
    shown: str
    checked: bool


@dataclass
class Row:
    field: str
    label: str
    cells: list[Cell]
    result: str
    rule: str
    choosable: bool  # a radio per person: values differ and staff may override

    @property
    def choice_name(self) -> str:
        return CHOICE_PREFIX + self.field

    @property
    def default_name(self) -> str:
        return DEFAULT_PREFIX + self.field

    @property
    def default_id(self) -> int | None:
        return next((cell.person_id for cell in self.cells if cell.checked), None)


def _shown(field: str, value: Any) -> str:
    if field == "avatar_seed" and value:
        return format_html('<img src="{}" width="32" height="32" alt="{}">',
                           avatar_data_uri(value), value)
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return show_value(value, limit=PREVIEW_CHARACTERS)


def preview_rows(preview: Any) -> tuple[list[Row], str]:
    """The rows to draw, and a sentence counting the custom attributes left out (a person
    with thousands keeps a preview of about SHOWN_ATTRIBUTES rows; values differing first)."""
    rows = []
    for row in preview.rows:
        distinct = {repr(item.value) for item in row.values}
        rows.append(Row(
            field=row.field,
            label=str(row.verbose_name),
            cells=[Cell(item.person_id, _shown(row.field, item.value), item.is_winner)
                   for item in row.values],
            result=_shown(row.field, row.value),
            rule=row.rule,
            choosable=row.overridable and len(distinct) > 1,
        ))
    shown, hidden = collapse_attributes(rows, field=lambda row: row.field,
                                        notable=_notable,
                                        rule=lambda row: row.rule)
    return shown, hidden_summary(hidden) if hidden else ""


def _notable(row: Row) -> bool:
    """Staff may choose it, or its value does not simply stay the base's (the first column)."""
    return row.choosable or not (row.cells and row.cells[0].checked)


def overrides_from(data) -> dict[str, int]:
    """field -> person id, only where staff moved the radio away from the rule's winner
    (a value that is no ID number is not a choice: skipped)."""
    overrides = {}
    for key, chosen in data.items():
        if not key.startswith(CHOICE_PREFIX):
            continue
        field = key[len(CHOICE_PREFIX):]
        person_id = parse_id(chosen)
        if person_id is not None and person_id != parse_id(data.get(DEFAULT_PREFIX + field, "")):
            overrides[field] = person_id
    return overrides
