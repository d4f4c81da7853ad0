"""A definition in plain words, for staff reading a segment in the admin."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from profiles.models import ActivityKind
from segments.services.definition import BehaviourCondition, FieldCondition, Group, Node, Not

OP_WORDS = {
    "eq": "is", "ne": "is not", "in": "is one of", "not_in": "is none of",
    "contains": "contains", "starts_with": "starts with", "exists": "is set",
    "not_exists": "is not set", "gt": "is more than", "gte": "is at least",
    "lt": "is less than", "lte": "is at most", "within_days": "is within the last",
    "older_than_days": "is more than",
}
TAG_WORDS = {"eq": "has the tag", "contains": "has the tag", "ne": "does not have the tag",
             "in": "has one of the tags", "not_in": "has none of the tags",
             "starts_with": "has a tag starting with", "exists": "has a tag",
             "not_exists": "has no tag"}
COUNT_WORDS = {"eq": "exactly", "ne": "other than", "gt": "more than", "gte": "at least",
               "lt": "fewer than", "lte": "at most"}


def _value(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).strftime("%d %b %Y, %H:%M")
    return f"“{value}”" if isinstance(value, str) else str(value)


def _field(node: FieldCondition) -> str:
    if node.kind == "tags":
        words = TAG_WORDS[node.op]
        return words if node.value is None else f"{words} {_value(node.value)}"
    name = node.field.replace("attributes.", "attribute ").replace("_", " ")
    words = f"{name} {OP_WORDS[node.op]}"
    if node.op == "within_days":
        return f"{words} {node.value} days"
    if node.op == "older_than_days":
        return f"{words} {node.value} days ago"
    return words if node.value is None else f"{words} {_value(node.value)}"


def _behaviour(node: BehaviourCondition) -> str:
    kind = dict(ActivityKind.choices).get(node.kind, node.kind).lower()
    words = f"{COUNT_WORDS[node.count_op]} {node.count} × {kind}"
    if node.where:
        words += " with " + " and ".join(f"{name} {_value(value)}" for name, value in node.where)
    if node.within_days:
        words += f" in the last {node.within_days} days"
    return words


def describe(node: Node, top: bool = True) -> str:
    if isinstance(node, Group):
        joiner = " and " if node.op == "all" else " or "
        parts = [describe(child, top=False) for child in node.children]
        text = joiner.join(parts)
        return f"({text})" if len(parts) > 1 and not top else text
    if isinstance(node, Not):
        return f"not {describe(node.child, top=False)}"
    if isinstance(node, BehaviourCondition):
        return _behaviour(node)
    return _field(node)
