"""The segment rule language (docs/segments.md): checking a JSON definition into a tree.

`parse_definition(data)` is the one place a definition is checked. It returns the tree the
compiler reads, or raises `DefinitionError` naming the path of the bad node (`$.all[1].op`),
so the admin, the API and the shell all show the same sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from profiles.models import ActivityKind, Person

MAX_DEPTH = 10
MAX_CHILDREN = 50
MAX_LIST = 100
MAX_DAYS = 36500
# Person fields a rule may not read: internal, or only ever on tombstones.
HIDDEN_FIELDS = frozenset({"id", "email_normalized", "avatar_seed", "merged_into", "merged_at",
                           "attributes"})
COUNT_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
# Meanings both forms of the compiler share (compiler.py, checks.py): a negated operator is
# the exact negation of its positive one; day operators compare with now - D days; these
# JSON kinds are absent for `exists`.
NEGATED = {"ne": "eq", "not_in": "in", "not_exists": "exists"}
DAY_OPS = ("within_days", "older_than_days")
ABSENT_KINDS = ("missing", "null", "empty")
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "text": ("eq", "ne", "in", "not_in", "contains", "starts_with", "exists", "not_exists"),
    "tags": ("eq", "ne", "in", "not_in", "contains", "starts_with", "exists", "not_exists"),
    "number": ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "not_exists"),
    "date": ("gt", "gte", "lt", "lte", "within_days", "older_than_days", "exists",
             "not_exists"),
    "json": ("eq", "ne", "in", "not_in", "contains", "starts_with", "gt", "gte", "lt", "lte",
             "within_days", "older_than_days", "exists", "not_exists"),
}


class DefinitionError(ValidationError):
    """A definition that is not valid; `path` names the bad node ("$" is the whole rule)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}", code="invalid_definition")
        self.path = path
        self.reason = message


@dataclass(frozen=True)
class Group:
    op: str  # "all" | "any"
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class FieldCondition:
    field: str  # as written: "city", "tags", "attributes.purchases.count"
    kind: str  # text | number | date | tags | json
    op: str
    value: Any = None  # checked and normalized: lower-cased text, aware datetimes, lists

    @property
    def keys(self) -> tuple[str, ...]:
        """The path inside `attributes` (json conditions only)."""
        return tuple(self.field.split(".")[1:])


@dataclass(frozen=True)
class BehaviourCondition:
    kind: str  # an ActivityKind value
    where: tuple[tuple[str, Any], ...] = ()  # (property, normalized value)
    count_op: str = "gte"
    count: int = 1
    within_days: int | None = None


Node = Group | Not | FieldCondition | BehaviourCondition


@cache
def person_field_kinds() -> dict[str, str]:
    """Every Person field a rule may read, with its kind (derived from the model)."""
    kinds = {}
    for field in Person._meta.concrete_fields:
        if field.name in HIDDEN_FIELDS or field.is_relation:
            continue
        if isinstance(field, models.DateTimeField):
            kinds[field.name] = "date"
        elif isinstance(field, models.IntegerField):
            kinds[field.name] = "number"
        elif isinstance(field, models.CharField):
            kinds[field.name] = "text"
    return kinds


def parse_definition(data: Any) -> Node:
    """The checked tree of a definition; DefinitionError names the first bad node."""
    return _node(data, "$", 1)


def _node(data: Any, path: str, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise DefinitionError(path, f"groups may be nested at most {MAX_DEPTH} levels deep.")
    if not isinstance(data, dict):
        raise DefinitionError(path, "expected an object (a group or a condition).")
    groups = [key for key in ("all", "any", "not") if key in data]
    if groups:
        if len(data) != 1:
            raise DefinitionError(path, "a group has exactly one key: all, any or not.")
        op = groups[0]
        if op == "not":
            return Not(_node(data["not"], f"{path}.not", depth + 1))
        children = data[op]
        if not isinstance(children, list) or not children:
            raise DefinitionError(f"{path}.{op}", "expected a non-empty list of conditions.")
        if len(children) > MAX_CHILDREN:
            raise DefinitionError(f"{path}.{op}", f"at most {MAX_CHILDREN} conditions a group.")
        return Group(op, tuple(
            _node(child, f"{path}.{op}[{index}]", depth + 1)
            for index, child in enumerate(children)
        ))
    if "field" in data:
        return _field(data, path)
    if "kind" in data:
        return _behaviour(data, path)
    raise DefinitionError(
        path, "expected a group (all, any, not), a field condition (field) or a behaviour "
        "condition (kind).")


def _only(data: dict[str, Any], path: str, allowed: set[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise DefinitionError(
            f"{path}.{extra[0]}", f"unknown key; allowed: {', '.join(sorted(allowed))}.")


def _field_kind(name: Any, path: str) -> str:
    if not isinstance(name, str) or not name:
        raise DefinitionError(path, "expected a field name.")
    if name == "tags":
        return "tags"
    if name.startswith("attributes."):
        keys = name.split(".")[1:]
        for key in keys:
            if not key.strip() or key.isdigit() or len(key) > 200:
                raise DefinitionError(
                    path, f"“{name}”: each step after attributes is a non-empty name, "
                    "not a number.")
        return "json"
    kind = person_field_kinds().get(name)
    if kind is None:
        raise DefinitionError(
            path, f"unknown field “{name}”; use a person field "
            f"({', '.join(sorted(person_field_kinds()))}), tags, or attributes.<name>.")
    return kind


def _field(data: dict[str, Any], path: str) -> FieldCondition:
    _only(data, path, {"field", "op", "value"})
    kind = _field_kind(data["field"], f"{path}.field")
    op = data.get("op")
    if op not in OPS_BY_KIND[kind]:
        raise DefinitionError(
            f"{path}.op", f"“{op}” is not an operator for {data['field']}; use one of "
            f"{', '.join(OPS_BY_KIND[kind])}.")
    value_path = f"{path}.value"
    if op in ("exists", "not_exists"):
        if data.get("value") is not None:
            raise DefinitionError(value_path, f"{op} takes no value.")
        return FieldCondition(data["field"], kind, op)
    if "value" not in data:
        raise DefinitionError(value_path, f"{op} needs a value.")
    return FieldCondition(data["field"], kind, op, _value(kind, op, data["value"], value_path))


def _value(kind: str, op: str, value: Any, path: str) -> Any:
    if op in DAY_OPS:
        return _days(value, path)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            raise DefinitionError(path, f"{op} needs a list of 1 to {MAX_LIST} values.")
        return tuple(_scalar(kind, "eq", item, f"{path}[{i}]") for i, item in enumerate(value))
    return _scalar(kind, op, value, path)


def _scalar(kind: str, op: str, value: Any, path: str) -> Any:
    if kind == "date":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise DefinitionError(path, "expected a date and time like 2026-01-31T00:00:00Z.")
        return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)
    text_only = kind in ("text", "tags") or op in ("contains", "starts_with")
    number_only = kind == "number" or op in ("gt", "gte", "lt", "lte")
    if isinstance(value, str) and not number_only:
        if not value.strip():
            raise DefinitionError(path, "expected a non-empty text (use not_exists for empty).")
        return value.lower()
    if _is_number(value) and not text_only:
        return value
    if isinstance(value, bool) and kind == "json" and not number_only:
        return value
    wanted = ("a text" if text_only else "a number" if number_only
              else "a text, number or true/false")
    raise DefinitionError(path, f"expected {wanted}.")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e15


def _days(value: Any, path: str, minimum: int = 0, unit: str = " of days") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_DAYS:
        raise DefinitionError(
            path, f"expected a whole number{unit} from {minimum} to {MAX_DAYS}.")
    return value


def _behaviour(data: dict[str, Any], path: str) -> BehaviourCondition:
    _only(data, path, {"kind", "where", "count", "within_days"})
    kind = data["kind"]
    if kind not in ActivityKind.values:
        raise DefinitionError(
            f"{path}.kind", f"unknown activity kind “{kind}”; use one of "
            f"{', '.join(ActivityKind.values)}.")
    where = data.get("where", {})
    if not isinstance(where, dict) or len(where) > 10:
        raise DefinitionError(f"{path}.where", "expected an object of up to 10 properties.")
    checked = tuple(
        (str(name), _scalar("json", "eq", value, f"{path}.where.{name}"))
        for name, value in sorted(where.items())
    )
    for name, _ in checked:
        if not name.strip():
            raise DefinitionError(f"{path}.where", "a property name cannot be empty.")
    count_op, count = "gte", 1
    if data.get("count") is not None:
        spec = data["count"]
        if not isinstance(spec, dict) or set(spec) != {"op", "value"}:
            raise DefinitionError(f"{path}.count", "expected {\"op\": …, \"value\": N}.")
        if spec["op"] not in COUNT_OPS:
            raise DefinitionError(f"{path}.count.op", f"use one of {', '.join(COUNT_OPS)}.")
        count_op = spec["op"]
        count = _days(spec["value"], f"{path}.count.value", unit="")
    within = data.get("within_days")
    if within is not None:
        within = _days(within, f"{path}.within_days", minimum=1)
    return BehaviourCondition(kind, checked, count_op, count, within)


def leaves(node: Node) -> Iterator[FieldCondition | BehaviourCondition]:
    """The conditions of a definition, left to right."""
    if isinstance(node, Group):
        for child in node.children:
            yield from leaves(child)
    elif isinstance(node, Not):
        yield from leaves(node.child)
    else:
        yield node


def reads(node: Node) -> tuple[frozenset[str], frozenset[str], bool]:
    """What a definition reads: (person fields incl. "tags"/"attributes", activity kinds,
    whether it depends on the clock). Real time re-evaluates a segment only when one changed."""
    fields: set[str] = set()
    kinds: set[str] = set()
    timed = False
    for leaf in leaves(node):
        if isinstance(leaf, FieldCondition):
            fields.add(leaf.field.split(".")[0])
            timed = timed or leaf.op in DAY_OPS
        else:
            kinds.add(leaf.kind)
            timed = timed or leaf.within_days is not None
    return frozenset(fields), frozenset(kinds), timed
