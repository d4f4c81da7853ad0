"""The rule builder's widget: the definition's textarea (JSON, for advanced users) with the
vocabulary the builder offers, taken from the one checker (fields, operators, activity kinds),
so the builder never offers what the checker refuses."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.html import json_script
from django.utils.safestring import SafeString

from profiles.models import ActivityKind
from segments.services.definition import COUNT_OPS, OPS_BY_KIND, person_field_kinds
from segments.services.words import OP_WORDS

FIELD_LABELS = {"user_id": "user ID", "os": "OS"}


def vocabulary() -> dict[str, Any]:
    fields = [{"name": name, "label": FIELD_LABELS.get(name, name.replace("_", " ")),
               "kind": kind} for name, kind in person_field_kinds().items()]
    fields.append({"name": "tags", "label": "tags", "kind": "tags"})
    return {
        "fields": fields,
        "ops": {kind: [{"op": op, "label": OP_WORDS[op]} for op in ops]
                for kind, ops in OPS_BY_KIND.items()},
        "countOps": [{"op": op, "label": OP_WORDS[op]} for op in COUNT_OPS],
        "kinds": [{"kind": value, "label": label} for value, label in ActivityKind.choices],
    }


class RuleBuilderWidget(forms.Textarea):
    """A textarea the rule builder script (segments/rule_builder.js) draws its rows above."""

    class Media:
        js = ["segments/rule_builder.js"]
        css = {"all": ["segments/rule_builder.css"]}

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs={"rows": 8, "cols": 90, "class": "segment-definition",
                                **(attrs or {})})

    def format_value(self, value: Any) -> str:
        if isinstance(value, str) or value is None:
            return value or ""
        return json.dumps(value, indent=1, ensure_ascii=False)

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer=None) -> str:
        attrs = {**(attrs or {}),
                 "data-preview-url": reverse("admin:segments_segment_preview")}
        textarea = super().render(name, value, attrs, renderer)
        meta = json_script(vocabulary(), "segment-builder-vocabulary")
        return SafeString(f'<div class="rule-builder-wrap"><div class="rule-builder" '
                          f'data-for="{attrs.get("id", "")}"></div>{meta}'
                          f'<p class="rb-json-label">The same rule as JSON (edit it here too):'
                          f'</p>{textarea}</div>')
