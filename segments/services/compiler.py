"""The one compiler: a checked definition becomes a Django `Q` on Person (rebuild, count) and
a per-person check (real time), side by side per operator so their meanings stay the same.
A property test (tests/segments/test_compiler_property.py) asserts both forms agree.

Meanings shared by both forms (docs/segments.md):
- text compares ignore case (values were lower-cased by the parser);
- `exists`: present and not empty (null, "", [] and {} are absent); a date or a JSON value
  that is absent fails every comparison, and `ne` / `not_in` / `not` are the exact negation;
- `within_days D`: at or after now - D days; `older_than_days D`: before it — on a person
  date or a date inside attributes (jsontime.py says what counts as one).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
from segments.services.definition import (
    BehaviourCondition,
    FieldCondition,
    Group,
    Node,
    Not,
)
from segments.services.jsonsql import JsonHasItem, JsonKind, JsonLowerText, JsonNumber
from segments.services.jsontime import JsonTime, parse_moment

COMPARE_SQL = {"gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan,
               "lte": LessThanOrEqual, "eq": Exact}
COMPARE_PY: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
    "eq": operator.eq, "ne": operator.ne,
}
ABSENT_KINDS = ("missing", "null", "empty")
NEGATED = {"ne": "eq", "not_in": "in", "not_exists": "exists"}
DAY_OPS = ("within_days", "older_than_days")
# The per-person check of a definition (see `checker`).
Check = Callable[["Person", "PersonFacts", dt.datetime], bool]


@dataclass
class PersonFacts:
    """What the per-person check reads beyond the Person row, loaded once per person."""

    person: Person
    _tags: set[str] | None = None
    _activities: dict[tuple[str, dt.datetime | None], list[dict[str, Any]]] = field(
        default_factory=dict)
    # Results read beforehand in one query (real time, probe.py): a behaviour condition's
    # count by `behaviour_key`, a tags condition's truth by the condition itself.
    known: dict[Any, Any] = field(default_factory=dict)

    def tag_names(self) -> set[str]:
        if self._tags is None:
            self._tags = {
                name.lower() for name in
                PersonTag.objects.filter(person_id=self.person.pk)
                .values_list("tag__name", flat=True)
            }
        return self._tags

    def properties(self, kind: str, since: dt.datetime | None) -> list[dict[str, Any]]:
        key = (kind, since)
        if key not in self._activities:
            rows = Activity.objects.filter(person_id=self.person.pk, kind=kind)
            if since is not None:
                rows = rows.filter(occurred_at__gte=since)
            self._activities[key] = list(rows.values_list("properties", flat=True))
        return self._activities[key]


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


def behaviour_key(node: BehaviourCondition) -> tuple[str, tuple, int | None]:
    """What a behaviour condition counts (conditions differing only in `count` share it)."""
    return node.kind, node.where, node.within_days


def counted_q(node: BehaviourCondition, now: dt.datetime) -> Q:
    """The activities a behaviour condition counts, as a condition on Activity."""
    rows = Q(kind=node.kind)
    if node.within_days is not None:
        rows &= Q(occurred_at__gte=now - dt.timedelta(days=node.within_days))
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


# --- Python ----------------------------------------------------------------------------------

_MISSING = object()


def json_at(data: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def json_kind(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string" if value else "empty"
    if isinstance(value, list):
        return "array" if value else "empty"
    if isinstance(value, dict):
        return "object" if value else "empty"
    return "missing"


def checker(node: Node) -> Check:
    """The per-person check of a tree, built once: each operator's choice is made here, so
    checking a person only runs the comparisons (real time checks a dozen segments for each
    person an event changed)."""
    if isinstance(node, Group):
        parts = tuple(checker(child) for child in node.children)
        if node.op == "all":
            def all_of(person: Person, facts: PersonFacts, now: dt.datetime) -> bool:
                for part in parts:  # noqa: SIM110 (a loop: no generator per check)
                    if not part(person, facts, now):
                        return False
                return True
            return all_of

        def any_of(person: Person, facts: PersonFacts, now: dt.datetime) -> bool:
            for part in parts:  # noqa: SIM110 (a loop: no generator per check)
                if part(person, facts, now):
                    return True
            return False
        return any_of
    if isinstance(node, Not):
        inner = checker(node.child)
        return lambda person, facts, now: not inner(person, facts, now)
    if isinstance(node, BehaviourCondition):
        return lambda person, facts, now: _behaviour_check(node, facts, now)
    positive = _field_checker(node.kind, NEGATED.get(node.op, node.op), node)
    if node.kind == "tags":  # read with the others when probe.py did (facts.known)
        def tags(person: Person, facts: PersonFacts, now: dt.datetime) -> bool:
            known = facts.known.get(node) if facts.known else None
            if known is not None:
                return known
            return positive(person, facts, now) != (node.op in NEGATED)
        return tags
    if node.op in NEGATED:
        return lambda person, facts, now: not positive(person, facts, now)
    return positive


def _field_checker(kind: str, op: str, node: FieldCondition) -> Check:
    value, name = node.value, node.field
    if kind == "tags":
        if op == "exists":
            return lambda person, facts, now: bool(facts.tag_names())
        return lambda person, facts, now: any(_text_check(tag, op, value)
                                              for tag in facts.tag_names())
    if kind == "json":
        keys = node.keys
        if op in DAY_OPS:
            return lambda person, facts, now: _days_check(
                parse_moment(json_at(person.attributes, keys)), op, value, now)
        return lambda person, facts, now: json_check(json_at(person.attributes, keys), op, value)
    if kind == "text":
        if op == "exists":
            return lambda person, facts, now: bool(getattr(person, name))
        return lambda person, facts, now: _text_check(
            (getattr(person, name) or "").lower(), op, value)
    if op == "exists":
        return lambda person, facts, now: getattr(person, name) is not None
    if op in DAY_OPS:  # a missing date fails both
        return lambda person, facts, now: _days_check(getattr(person, name), op, value, now)
    if op == "in":
        def within(person: Person, facts: PersonFacts, now: dt.datetime) -> bool:
            actual = getattr(person, name)
            return actual is not None and actual in value
        return within
    compare = COMPARE_PY[op]

    def compared(person: Person, facts: PersonFacts, now: dt.datetime) -> bool:
        actual = getattr(person, name)
        return actual is not None and compare(actual, value)
    return compared


def _days_check(moment: dt.datetime | None, op: str, days: int, now: dt.datetime) -> bool:
    if moment is None:
        return False
    since = now - dt.timedelta(days=days)
    return moment >= since if op == "within_days" else moment < since


def _text_check(text: str, op: str, value: Any) -> bool:
    if op == "in":
        return text in value
    if op == "contains":
        return value in text
    if op == "starts_with":
        return text.startswith(value)
    return text == value


def json_check(actual: Any, op: str, value: Any) -> bool:
    kind = json_kind(actual)
    if op == "exists":
        return kind not in ABSENT_KINDS
    if op == "in":
        return any(json_check(actual, "eq", item) for item in value)
    if op == "eq" and isinstance(value, bool):
        return kind == ("true" if value else "false")
    if isinstance(value, str):
        if op == "contains":
            if kind == "string":
                return value in actual.lower()
            if kind == "array":
                return any(isinstance(item, str) and item.lower() == value for item in actual)
            return kind == "object" and any(key.lower() == value for key in actual)
        if kind != "string":
            return False
        return actual.lower().startswith(value) if op == "starts_with" else actual.lower() == value
    return kind == "number" and COMPARE_PY[op](actual, value)


def _behaviour_check(node: BehaviourCondition, facts: PersonFacts, now: dt.datetime) -> bool:
    known = facts.known.get(behaviour_key(node))
    if known is not None:
        return COMPARE_PY[node.count_op](known, node.count)
    count = sum(1 for properties in facts.properties(node.kind, _since(node, now))
                if _where_check(node, properties))
    return COMPARE_PY[node.count_op](count, node.count)


def counts_any(node: BehaviourCondition, activities: Sequence[Activity],
               now: dt.datetime) -> bool:
    """Whether a behaviour condition counts one of these activities (`counted_q` in
    Python): real time skips a segment whose conditions count none of what was recorded."""
    since = _since(node, now)
    for activity in activities:  # loops, not generators: a batch asks this a thousand times
        if (activity.kind == node.kind and (since is None or activity.occurred_at >= since)
                and _where_check(node, activity.properties)):
            return True
    return False


def _since(node: BehaviourCondition, now: dt.datetime) -> dt.datetime | None:
    return None if node.within_days is None else now - dt.timedelta(days=node.within_days)


def _where_check(node: BehaviourCondition, properties: Any) -> bool:
    if not isinstance(properties, dict):
        return not node.where
    for name, value in node.where:
        # An absent property equals nothing (json_check's "missing"), the usual miss.
        if name not in properties or not json_check(properties[name], "eq", value):
            return False
    return True
