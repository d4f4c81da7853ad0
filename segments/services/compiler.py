"""The one compiler: a checked definition becomes a Django `Q` on Person (rebuild, count) —
here — and a per-person check (real time) — checks.py, written operator by operator beside
this file's so their meanings stay the same. A property test
(tests/segments/test_compiler_property.py) asserts both forms agree.

Meanings shared by both forms (docs/segments.md):
- text compares ignore case (values were lower-cased by the parser);
- `exists`: present and not empty (null, "", [] and {} are absent); a date or a JSON value
  that is absent fails every comparison, and `ne` / `not_in` / `not` are the exact negation;
- `within_days D`: at or after now - D days; `older_than_days D`: before it — on a person
  date or a date inside attributes (jsontime.py says what counts as one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Lower
from django.db.models.lookups import (
    Contains,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)
from django.utils import timezone

from profiles.models import Activity, Person, PersonTag
from segments.services.checks import Check, PersonFacts, checker
from segments.services.definition import (
    ABSENT_KINDS,
    DAY_OPS,
    NEGATED,
    BehaviourCondition,
    FieldCondition,
    Group,
    Node,
    Not,
)
from segments.services.jsonsql import JsonHasItem, JsonKind, JsonLowerText, JsonNumber
from segments.services.jsontime import JsonTime

COMPARE_SQL = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan,
               "lte": LessThanOrEqual, "eq": Exact}


@dataclass(frozen=True)
class Compiled:
    """A definition compiled at one moment `now` (time windows are relative to it)."""

    node: Node
    now: dt.datetime

    def q(self) -> Q:
        return to_q(self.node, self.now)

    @cached_property
    def check(self) -> Check:
        return checker(self.node)

    def matches(self, person: Person, facts: PersonFacts | None = None) -> bool:
        if person.merged_into_id is not None:
            return False
        return self.check(person, facts or PersonFacts(person), self.now)


def compile_node(node: Node, now: dt.datetime | None = None) -> Compiled:
    return Compiled(node, now or timezone.now())


# --- SQL -------------------------------------------------------------------------------------

def to_q(node: Node, now: dt.datetime) -> Q:
    if isinstance(node, Group):
        parts = [to_q(child, now) for child in node.children]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if node.op == "all" else combined | part
        return combined
    if isinstance(node, Not):
        return ~to_q(node.child, now)
    if isinstance(node, BehaviourCondition):
        return _behaviour_q(node, now)
    if node.op in NEGATED:
        return ~_field_q(node.kind, NEGATED[node.op], node, now)
    return _field_q(node.kind, node.op, node, now)


def _field_q(kind: str, op: str, node: FieldCondition, now: dt.datetime) -> Q:
    value = node.value
    if kind == "tags":
        return Q(Exists(PersonTag.objects.filter(person=OuterRef("pk")).filter(
            _text_q(Lower(F("tag__name")), op, value) if op != "exists" else Q())))
    if kind == "json" and op in DAY_OPS:
        return _days_q(JsonTime("attributes", node.keys), op, value, now)
    if kind == "json":
        return json_q("attributes", node.keys, op, value)
    column = F(node.field)
    if kind == "text":
        text = Lower(Coalesce(column, Value("")))
        return ~Q(Exact(text, "")) if op == "exists" else _text_q(text, op, value)
    present = Q(IsNull(column, False))
    if op == "exists":
        return present
    if op == "in":
        return present & Q(In(column, list(value)))
    if op in DAY_OPS:
        return _days_q(column, op, value, now)
    return present & Q(COMPARE_SQL[op](column, value))


def _days_q(moment: Any, op: str, days: int, now: dt.datetime) -> Q:
    """A date (a person field, or a date inside attributes) within / older than D days;
    an absent one is neither (two-valued: IS NOT NULL guards the comparison)."""
    since = now - dt.timedelta(days=days)
    compare = GreaterThanOrEqual if op == "within_days" else LessThan
    return Q(IsNull(moment, False)) & Q(compare(moment, since))


def _text_q(text: Any, op: str, value: Any) -> Q:
    if op == "in":
        return Q(In(text, list(value)))
    if op == "contains":
        return Q(Contains(text, value))
    if op == "starts_with":
        return Q(StartsWith(text, value))
    return Q(Exact(text, value))


def json_q(column: str, keys: tuple[str, ...], op: str, value: Any) -> Q:
    """A condition on the JSON value at `keys` of `column` (never unknown: see jsonsql)."""
    kind = JsonKind(column, keys)
    if op == "exists":
        return ~Q(In(kind, list(ABSENT_KINDS)))
    if op == "in":
        parts = [json_q(column, keys, "eq", item) for item in value]
        combined = parts[0]
        for part in parts[1:]:
            combined |= part
        return combined
    if op == "eq" and isinstance(value, bool):
        return Q(Exact(kind, "true" if value else "false"))
    if isinstance(value, str):
        is_text = Q(Exact(kind, "string"))
        text = JsonLowerText(column, keys)
        if op == "contains":
            return (is_text & Q(Contains(text, value))) | Q(JsonHasItem(column, keys, value))
        if op == "starts_with":
            return is_text & Q(StartsWith(text, value))
        return is_text & Q(Exact(text, value))
    return Q(Exact(kind, "number")) & Q(COMPARE_SQL[op](JsonNumber(column, keys), value))


def counted_q(node: BehaviourCondition, now: dt.datetime,
              since_as: Callable[[dt.datetime], Any] | None = None) -> Q:
    """The activities a behaviour condition counts, as a condition on Activity (`since_as`:
    how the window's start is written, probe.py's)."""
    rows = Q(kind=node.kind)
    if node.within_days is not None:
        since = now - dt.timedelta(days=node.within_days)
        rows &= Q(occurred_at__gte=since if since_as is None else since_as(since))
    for name, value in node.where:
        rows &= json_q("properties", (name,), "eq", value)
    return rows


def _behaviour_q(node: BehaviourCondition, now: dt.datetime) -> Q:
    rows = Activity.objects.filter(person=OuterRef("pk")).filter(counted_q(node, now))
    op, count = node.count_op, node.count
    # "at least one" and "none" are EXISTS; other counts a correlated COUNT(*).
    if (op, count) in (("gte", 1), ("gt", 0), ("ne", 0)):
        return Q(Exists(rows))
    if (op, count) in (("eq", 0), ("lt", 1), ("lte", 0)):
        return ~Q(Exists(rows))
    counted = Coalesce(
        Subquery(rows.order_by().values("person").annotate(n=Count("pk")).values("n")[:1]),
        Value(0),
    )
    if op == "ne":
        return ~Q(Exact(counted, count))
    return Q(COMPARE_SQL[op](counted, count))
