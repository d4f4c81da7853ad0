"""Custom attributes edited as rows — name, kind, value — instead of a raw JSON box.

The form field is still Django's JSONField for `attributes` (its hidden "opened value" is the
JSON the page was opened with, which the staff edit check compares), with a widget that draws
one row per attribute and reads the rows back. Each row's kind (text, number, yes/no, list or
object) keeps a value's type: an attribute staff did not touch comes back exactly as stored.

This only turns rows into an object; whether the object is acceptable (names, limits, profiling
keys) is decided once, by `profiles.services.attributes.clean_custom_attributes`, which the form
calls. A script may still post the whole object as JSON under the field's own name.
"""

from __future__ import annotations

import json
import math
import re
from itertools import zip_longest
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.utils.html import format_html, format_html_join

TEXT, NUMBER, YES_NO, JSON = "text", "number", "yes_no", "json"
KINDS = [(TEXT, "Text"), (NUMBER, "Number"), (YES_NO, "Yes / no"), (JSON, "List or object")]
_INTEGER = re.compile(r"[+-]?\d{1,300}")
_YES, _NO = ("yes", "true"), ("no", "false")


class Rows(list):
    """The rows as posted: (name, kind, text) each, blank rows included."""


def shown(value: Any) -> tuple[str, str]:
    """(kind, text) for a stored value, so that parse(kind, text) gives it back."""
    if isinstance(value, bool):
        return YES_NO, "yes" if value else "no"
    if isinstance(value, int | float):
        return NUMBER, json.dumps(value)
    if isinstance(value, str):
        return TEXT, value
    return JSON, json.dumps(value, ensure_ascii=False)


def parse(kind: str, text: str) -> Any:
    """The value a row holds; ValueError with a sentence saying what is wrong."""
    if kind == NUMBER:
        number = text.strip()
        if _INTEGER.fullmatch(number):
            return int(number)
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"“{number}” is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"“{number}” is not a number")
        return value
    if kind == YES_NO:
        answer = text.strip().lower()
        if answer in _YES or answer in _NO:
            return answer in _YES
        raise ValueError(f"“{text.strip()}” is not yes or no")
    if kind == JSON:
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError(f"“{text.strip()[:40]}” is not a list or object written as "
                             'JSON, e.g. ["a", "b"] or {"a": 1}') from None
    # Text. Browsers send a textarea's line breaks as CR LF.
    return text.replace("\r\n", "\n")


def rows_to_object(rows: Rows) -> dict[str, Any]:
    """The rows as an attributes object; blank rows are skipped."""
    result: dict[str, Any] = {}
    errors = []
    for name, kind, text in rows:
        if not name.strip():
            if text.strip():
                errors.append(f"The value “{text[:40]}” has no name.")
            continue
        if name in result:
            errors.append(f"“{name}” is listed twice.")
            continue
        try:
            result[name] = parse(kind, text)
        except ValueError as error:
            errors.append(f"{name}: {error}.")
    if errors:
        raise ValidationError(errors)
    return result


class AttributeRowsWidget(forms.Widget):
    """One row per attribute, a blank row to add one, and an "Add an attribute" button."""

    def value_from_datadict(self, data, files, name):
        if name in data:  # the object posted whole, as JSON (a script, an older page)
            return data.get(name)
        columns = [data.getlist(f"{name}-{part}") for part in ("name", "kind", "value")]
        if not any(columns):
            return None
        return Rows((str(n), str(k), str(v))
                    for n, k, v in zip_longest(*columns, fillvalue=""))

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}-name" not in data

    def rows(self, value: Any) -> list[tuple[str, str, str]]:
        if isinstance(value, Rows):
            return [row for row in value if row[0].strip() or row[2].strip()]
        if isinstance(value, InvalidJSONInput) or value is None:
            return []
        try:
            stored = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return []
        if not isinstance(stored, dict):
            return []
        return [(key, *shown(stored[key])) for key in sorted(stored)]

    def render(self, name, value, attrs=None, renderer=None):
        rows = [*self.rows(value), ("", TEXT, "")]
        body = format_html_join("", "{}", ((self._row(name, *row),) for row in rows))
        template = self._row(name, "", TEXT, "")
        return format_html(
            '<div class="attribute-rows" id="{}-rows">'
            '<table><thead><tr><th>Name</th><th>Kind</th><th>Value</th><th></th></tr></thead>'
            "<tbody>{}</tbody></table>"
            '<template class="attribute-row-template">{}</template>'
            '<button type="button" class="button attribute-add">Add an attribute</button>'
            "</div>",
            (attrs or {}).get("id", f"id_{name}"), body, template,
        )

    def _row(self, name: str, key: str, kind: str, text: str):
        options = format_html_join("", '<option value="{}"{}>{}</option>', (
            (value, " selected" if value == kind else "", label) for value, label in KINDS))
        return format_html(
            '<tr class="attribute-row">'
            '<td><input type="text" name="{0}-name" value="{1}" maxlength="100" '
            'aria-label="Attribute name" class="attribute-name"></td>'
            '<td><select name="{0}-kind" aria-label="Kind of value">{2}</select></td>'
            '<td><textarea name="{0}-value" rows="1" aria-label="Value" '
            'class="attribute-value">\n{3}</textarea></td>'
            '<td><button type="button" class="attribute-remove" title="Remove this attribute">'
            "Remove</button></td></tr>",
            name, key, options, text,
        )


class CustomAttributesField(forms.JSONField):
    """JSONField whose widget posts rows; rows become the object here (see module doc)."""

    widget = AttributeRowsWidget

    def to_python(self, value):
        if isinstance(value, Rows):
            return rows_to_object(value)
        return super().to_python(value)

    def bound_data(self, data, initial):
        if isinstance(data, Rows):
            return data
        return super().bound_data(data, initial)

    def prepare_value(self, value):
        if isinstance(value, Rows):
            return value
        return super().prepare_value(value)
