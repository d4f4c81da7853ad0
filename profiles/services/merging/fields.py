"""One merge rule for every Person field: the registry every part of the engine reads.

`FIELD_RULES` names the rule of each concrete Person field, `ATTRIBUTE_RULES` the rule of each
custom attribute key the profiling writes (any other key is filled like a plain field).
`plan_fields` applies them; the writers take their columns from `BASE_FIELDS` and
`TOMBSTONE_FIELDS`, the preview, the journal and the dedup report show the decisions, and undo
reads the rule each decision was journaled with. A field added to Person without a rule is
named by `fields_without_rule()` (a system check, and a test). See docs/merging.md, "Adding a
Person field".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from operator import attrgetter
from typing import Any, NamedTuple

from django.core import checks
from django.db import models

from profiles.models import Person, PersonStatus
from profiles.services.merging.rules import RULE_ORDER, rule_order

logger = logging.getLogger(__name__)

ATTRIBUTES_PREFIX = "attributes."

# The rule a decision was made by, as the journal stores it: a short code (every decision of
# every journal entry carries one: a dedup chunk journals ~25,000), and RULE_TEXTS, the one
# mapping from a code to the sentence staff read (the preview, the journal, the dedup report).
RULE_KEPT = "kept"
RULE_FILLED = "filled"
RULE_NONE = "none"
RULE_OVERRIDE = "staff"
RULE_USER_ID = "user_id"
RULE_STATUS = "status"
RULE_SUM = "sum"
RULE_LATEST = "latest"
RULE_EARLIEST = "earliest"
RULE_NOW = "now"
RULE_ADDED = "added"
RULE_LAST_SEEN = "last_seen"
RULE_TEXTS: dict[str, str] = {
    RULE_KEPT: "base value kept",
    RULE_FILLED: f"base empty: first non-empty in rule order ({RULE_ORDER})",
    RULE_NONE: "empty for everyone",
    RULE_OVERRIDE: "chosen by staff",
    RULE_USER_ID: "the one user ID among them",
    RULE_STATUS: "user over visitor",
    RULE_SUM: "sum of all",
    RULE_LATEST: "most recent",
    RULE_EARLIEST: "earliest",
    RULE_NOW: "merge time (the base changed)",
    RULE_ADDED: "added up from all",
    RULE_LAST_SEEN: "of the most recently seen",
}
# Journals written before 2026-12 hold the sentence itself (identify's profiling had its own).
_CODE_OF_TEXT = {text: code for code, text in RULE_TEXTS.items()} | {
    "added up from all (identify's profiling)": RULE_ADDED}
# Rules whose value was computed from everyone: undo takes the others' share back.
ADDED_UP = frozenset({RULE_SUM, RULE_ADDED})


def rule_code(rule: Any) -> Any:
    """The code of a journaled rule, whichever form the entry holds (code or old sentence)."""
    return _CODE_OF_TEXT.get(rule, rule) if isinstance(rule, str) else rule


def rule_text(rule: Any) -> str:
    """The sentence staff read for a journaled rule (a code, or an old entry's sentence; a
    sentence no longer in RULE_TEXTS is shown as it was written)."""
    if rule is None:
        return ""
    return RULE_TEXTS.get(rule_code(rule), str(rule))


class Decision(NamedTuple):
    """The surviving value of one field (or one custom attribute key). Immutable; a tuple
    rather than a frozen dataclass, whose `__init__` cost three times as much (~25 per
    group, ~25,000 per dedup chunk)."""

    field: str  # a Person field name, or "attributes.<key>"
    value: Any
    winner_id: int | None  # whose value survives (None: computed from everyone)
    rule: str  # its code (RULE_TEXTS: the sentence)
    overridable: bool = False


# decide(field, people in rule order, their values, override person id, merge time)
Decide = Callable[[str, list[Person], Sequence[Any], "int | None", datetime], Decision]


@dataclass(frozen=True)
class Rule:
    name: str
    decide: Decide | None = None  # None: not decided by plan_fields (see `writes`)
    writes: str = "base"  # "base": written on the base; "tombstones"; "" (key, generated)
    overridable: bool = False


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == {} or value == []


def _fill(field, order, values, override, now) -> Decision:
    if override is not None:
        index = [person.pk for person in order].index(override)
        return Decision(field, values[index], override, RULE_OVERRIDE, True)
    for index, value in enumerate(values):
        if not is_empty(value):
            return Decision(field, value, order[index].pk,
                            RULE_KEPT if index == 0 else RULE_FILLED, True)
    return Decision(field, values[0], order[0].pk, RULE_NONE, True)


def _picked(field, order, keyed, latest: bool, rule: str) -> Decision:
    """The value with the latest (earliest) key; ties go to the earlier person in rule order
    (the comparisons max/min make: the first found stays). `keyed`: (key, value) per person,
    key None = no value. Only the winner's id is read (`pk` is a property: a call each)."""
    if len(keyed) != len(order):
        raise ValueError(f"{len(keyed)} values for {len(order)} people")
    best, best_key, best_value = None, None, None
    for index, (key, value) in enumerate(keyed):
        if key is not None and (best is None or (key > best_key if latest else key < best_key)):
            best, best_key, best_value = index, key, value
    if best is None:
        return Decision(field, None, None, RULE_NONE)
    return Decision(field, best_value, order[best].pk, rule)


def _latest(field, order, values, override, now) -> Decision:
    return _picked(field, order, [(v, v) for v in values], True, RULE_LATEST)


def _earliest(field, order, values, override, now) -> Decision:
    return _picked(field, order, [(v, v) for v in values], False, RULE_EARLIEST)


def _sum(field, order, values, override, now) -> Decision:
    return Decision(field, sum(values), None, RULE_SUM)


def _user_id(field, order, values, override, now) -> Decision:
    owner = next((p for p, value in zip(order, values, strict=True) if value), None)
    if owner is None:
        return Decision(field, None, None, RULE_NONE)
    return Decision(field, owner.user_id, owner.pk, RULE_USER_ID)


def _status(field, order, values, override, now) -> Decision:
    user = next((p for p, value in zip(order, values, strict=True)
                 if value == PersonStatus.USER), None)
    return Decision(field, PersonStatus.USER if user else values[0], (user or order[0]).pk,
                    RULE_STATUS)


def _now(field, order, values, override, now) -> Decision:
    return Decision(field, now, None, RULE_NOW)


# --- Profiling attributes (profiles/services/profiling.py writes them) ----------------------

def _shaped(field: str, order, values, kind: type) -> list:
    """Values of the expected JSON shape; anything else (a hand edit, an old import) merges as
    empty, and is logged: a merge never fails on one malformed value."""
    kept = []
    for person, value in zip(order, values, strict=True):
        if value is not None and not isinstance(value, kind):
            logger.warning("person #%s: %s is not a %s; merged as empty", person.pk, field,
                           kind.__name__)
            value = None
        kept.append(value)
    return kept


@cache
def _profiling():  # imported late: profiling imports the recording path, which imports us
    from profiles.services import profiling

    return profiling


def _added_counts(field, order, values, override, now) -> Decision:
    found = [value for value in _shaped(field, order, values, dict) if value is not None]
    if not found:
        return _fill(field, order, values, None, now)
    return Decision(field, _profiling().sum_counts(found), None, RULE_ADDED)


def _added_purchases(field, order, values, override, now) -> Decision:
    """Counts and revenue added up, the latest purchase date."""
    found = [value for value in _shaped(field, order, values, dict) if value is not None]
    if not found:
        return _fill(field, order, values, None, now)
    moment = _profiling().moment
    total = _profiling().sum_counts([{k: v for k, v in p.items() if k != "last_at"}
                                     for p in found])
    dated = [p["last_at"] for p in found if p.get("last_at")]
    if dated:
        total["last_at"] = max(dated, key=moment)
    return Decision(field, total, None, RULE_ADDED)


def _touch(latest: bool, rule: str) -> Decide:
    def decide(field, order, values, override, now) -> Decision:
        moment = _profiling().moment
        touches = _shaped(field, order, values, dict)
        keyed = [(None, None) if t is None else (moment(t.get("at")), t) for t in touches]
        return _picked(field, order, keyed, latest, rule)
    return decide


NEVER = datetime.min.replace(tzinfo=UTC)


def _of_last_seen(field, order, values, override, now) -> Decision:
    pages = _shaped(field, order, values, str)
    keyed = [(None, None) if not page else (p.last_seen or NEVER, page)
             for p, page in zip(order, pages, strict=True)]
    return _picked(field, order, keyed, True, RULE_LAST_SEEN)


FILL = Rule("fill", _fill, overridable=True)
SUM = Rule("sum", _sum)
LATEST = Rule("latest", _latest)
EARLIEST = Rule("earliest", _earliest)
USER_ID = Rule("user_id", _user_id)
STATUS = Rule("status", _status)
NOW = Rule("now", _now)
ATTRIBUTES = Rule("attributes")  # key by key: ATTRIBUTE_RULES, else FILL
KEY = Rule("key", writes="")  # the id
GENERATED = Rule("generated", writes="")  # computed by the database
TOMBSTONE = Rule("tombstone", writes="tombstones")  # set on the merged people
COUNTS = Rule("counts", _added_counts)
PURCHASES = Rule("purchases", _added_purchases)
FIRST_TOUCH = Rule("first touch", _touch(latest=False, rule=RULE_EARLIEST))
LATEST_TOUCH = Rule("latest touch", _touch(latest=True, rule=RULE_LATEST))
EXIT_PAGE = Rule("exit page", _of_last_seen)

# Every concrete Person field, in the order the preview and the journal show them.
FIELD_RULES: dict[str, Rule] = {
    "name": FILL, "email": FILL, "phone": FILL, "company": FILL, "city": FILL,
    "country": FILL, "os": FILL, "browser": FILL, "avatar_seed": FILL,
    "attributes": ATTRIBUTES,
    "user_id": USER_ID,
    "status": STATUS,
    "page_views": SUM, "visits": SUM,
    "last_seen": LATEST, "last_contacted": LATEST, "last_heard_from": LATEST,
    "first_seen": EARLIEST, "created_at": EARLIEST,
    "updated_at": NOW,
    "id": KEY,
    "email_normalized": GENERATED,
    "merged_into": TOMBSTONE, "merged_at": TOMBSTONE,
}
ATTRIBUTE_RULES: dict[str, Rule] = {
    "products_viewed": COUNTS, "categories_viewed": COUNTS, "email_offers": COUNTS,
    "purchases": PURCHASES,
    "first_touch": FIRST_TOUCH, "latest_touch": LATEST_TOUCH, "exit_page": EXIT_PAGE,
}
# What the writers write: the base's columns, and the tombstones'.
BASE_FIELDS = tuple(name for name, rule in FIELD_RULES.items() if rule.writes == "base")
TOMBSTONE_FIELDS = tuple(name for name, rule in FIELD_RULES.items() if rule.writes == "tombstones")


def fields_without_rule(model: type[models.Model] = Person) -> list[str]:
    """Concrete fields of `model` that have no merge rule (empty when every field has one)."""
    return [field.name for field in model._meta.concrete_fields if field.name not in FIELD_RULES]


@checks.register(checks.Tags.models)
def check_field_rules(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(f"Person.{name} has no merge rule.", id="profiles.E001",
                     hint="Add it to FIELD_RULES in profiles/services/merging/fields.py.")
        for name in fields_without_rule()
    ]


def attributes_of(person: Person) -> dict[str, Any]:
    """The custom attributes as a dict; a malformed stored value (a list, a string) merges as
    empty (logged), never failing the merge."""
    value = person.attributes
    if isinstance(value, dict):
        return value
    if value not in (None, ""):
        logger.warning("person #%s: attributes is not an object; merged as empty", person.pk)
    return {}


def attribute_keys(people: Iterable[Person]) -> list[str]:
    return sorted({key for person in people for key in attributes_of(person)})


def rule_of(field: str) -> Rule:
    if field.startswith(ATTRIBUTES_PREFIX):
        return ATTRIBUTE_RULES.get(field[len(ATTRIBUTES_PREFIX):], FILL)
    return FIELD_RULES[field]


def value_of(person: Person, field: str) -> Any:
    if field.startswith(ATTRIBUTES_PREFIX):
        return attributes_of(person).get(field[len(ATTRIBUTES_PREFIX):])
    return getattr(person, field)


def overridable_fields(people: Iterable[Person]) -> set[str]:
    names = [*FIELD_RULES, *(ATTRIBUTES_PREFIX + key for key in attribute_keys(people))]
    return {name for name in names if rule_of(name).overridable}


def plan_fields(
    *, base: Person, others: Sequence[Person], overrides: Mapping[str, int] | None = None,
    now: datetime,
) -> list[Decision]:
    """Every field's surviving value; `overrides` maps field -> person id (already checked).

    Runs once per group of every merge (a dedup chunk: ~1,000 times), so it reads each value
    once, directly: the same decisions as `rule_of(name).decide(name, order, [value_of(p,
    name) …])` field by field, without the per-value look-ups (each person's decided fields
    are read in one call, `_DECIDED_VALUES`, and turned into one column per field).
    """
    get_override = (overrides or {}).get
    order = rule_order(base, others)
    columns = dict(zip(_DECIDED_NAMES, zip(*map(_DECIDED_VALUES, order), strict=True),
                       strict=True))
    decisions = []
    for name, rule in FIELD_RULES.items():
        if rule is ATTRIBUTES:
            attributes = [attributes_of(person) for person in order]
            for key in sorted({key for found in attributes for key in found}):
                field = ATTRIBUTES_PREFIX + key
                decisions.append(ATTRIBUTE_RULES.get(key, FILL).decide(
                    field, order, [found.get(key) for found in attributes],
                    get_override(field), now))
        elif rule.decide is not None:
            decisions.append(rule.decide(name, order, columns[name], get_override(name), now))
    return decisions


# The fields plan_fields decides by their own rule (every other is a key, generated, written on
# the tombstones, or the attributes, decided key by key), read per person in one C call.
_DECIDED_NAMES = tuple(name for name, rule in FIELD_RULES.items() if rule.decide is not None)
_DECIDED_VALUES = attrgetter(*_DECIDED_NAMES)


def apply_decisions(person: Person, decisions: Iterable[Decision]) -> None:
    """Write the surviving values onto the base (in memory)."""
    attributes = dict(attributes_of(person))
    changed = False
    for decision in decisions:
        if not decision.field.startswith(ATTRIBUTES_PREFIX):
            setattr(person, decision.field, decision.value)
        elif decision.winner_id != person.pk:  # else the base's own value (or absence) stays
            key = decision.field[len(ATTRIBUTES_PREFIX):]
            if decision.value is None:
                attributes.pop(key, None)  # staff chose someone who lacks the key
            else:
                attributes[key] = decision.value
            changed = True
    if changed:  # else a malformed stored value stays as it was (undo puts back the same)
        person.attributes = attributes
