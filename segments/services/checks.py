"""The per-person form of the one compiler (compiler.py holds the SQL form): a checked
definition becomes a check of one person, built once per definition. Real time (realtime.py)
checks the people an event changed with it; the property test
(tests/segments/test_compiler_property.py) asserts it agrees with the SQL.

`decider` is the same check reading only the person's own row: behaviour and tags conditions
are unknown to it, so it answers True, False, or None when the answer depends on them. Real
time uses it to skip reading what cannot change the answer (docs/segments.md, "Real time").
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from profiles.models import Activity, Person, PersonTag
from segments.services.definition import (
    ABSENT_KINDS,
    DAY_OPS,
    NEGATED,
    BehaviourCondition,
    FieldCondition,
    Group,
    Node,
    Not,
    leaves,
)
from segments.services.jsontime import parse_moment

COMPARE_PY: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
    "eq": operator.eq, "ne": operator.ne,
}
# The per-person check of a definition (see `checker`).
Check = Callable[["Person", "PersonFacts", dt.datetime], bool]
# What the person's own row decides of a definition (see `decider`).
Decide = Callable[["Person", dt.datetime], "bool | None"]


def behaviour_key(node: BehaviourCondition) -> tuple[str, tuple, int | None]:
    """What a behaviour condition counts (conditions differing only in `count` share it)."""
    return node.kind, node.where, node.within_days


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


def read_beyond_row(node: Node) -> bool:
    """Whether a definition reads more than the person's row (a behaviour or tags condition)."""
    return any(isinstance(leaf, BehaviourCondition) or leaf.kind == "tags"
               for leaf in leaves(node))


def decider(node: Node) -> Decide:
    """What the person's row alone decides of a tree: True or False whatever its behaviour
    and tags conditions say, or None when the answer depends on them (three-valued: an
    `all` with one False part is False, an `any` with one True part is True)."""
    if not read_beyond_row(node):
        check = checker(node)  # its field checks read the row only, never the facts
        return lambda person, now: check(person, None, now)  # type: ignore[arg-type]
    if isinstance(node, Group):
        parts = tuple(decider(child) for child in node.children)
        decisive = node.op == "any"  # the answer one part settles the group with

        def group(person: Person, now: dt.datetime) -> bool | None:
            result: bool | None = not decisive
            for part in parts:
                answer = part(person, now)
                if answer is None:
                    result = None
                elif answer == decisive:
                    return decisive
            return result
        return group
    if isinstance(node, Not):
        inner = decider(node.child)

        def negated(person: Person, now: dt.datetime) -> bool | None:
            answer = inner(person, now)
            return None if answer is None else not answer
        return negated
    return lambda person, now: None  # a behaviour or tags condition: read beyond the row
