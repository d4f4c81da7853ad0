"""Real time's one query: for the people a write changed, everything the per-person check
needs beyond the Person rows the writer holds — in one statement:

- the segments version (index.py), so the index costs no query of its own;
- their current memberships in the segments being evaluated;
- every behaviour condition's count, per distinct kind/where/window, each up to one more
  than the largest N it is compared with (enough for every comparison), so its cost does
  not grow with the person's history;
- every tags condition's truth.

Each condition's SQL is the compiler's own (`counted_q`, `to_q`), so its meaning is the one
the rebuild uses. On PostgreSQL the statement is built once per index version and set of
segments and reused: only the people and the clock (windows) change between calls.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, Q, QuerySet
from django.db.models.expressions import RawSQL

from profiles.models import Activity, Person
from profiles.services.schema import table
from profiles.services.sql import execute
from segments.models import SegmentMembership
from segments.services.checks import behaviour_key
from segments.services.compiler import counted_q, to_q
from segments.services.definition import BehaviourCondition, FieldCondition, leaves
from segments.services.index import Watched, version_sql

# Plans are built at this moment; a run moves every window by (now - SENTINEL).
SENTINEL = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_IDS = object()  # where the people's ids go in a plan's parameters
_ONE = object()  # where the one person's id goes
# Item codes: > 0 a segment, -1 the behaviour counts, TAG_ITEMS - j a tags condition.
TAG_ITEMS = -1_000_000
_PLACEHOLDER = re.compile(r"%[s%]")
_plans: dict[tuple, Plan] = {}


@dataclass
class Found:
    """What one probe read."""

    version: str
    members: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    known: dict[int, dict[Any, Any]] = field(default_factory=lambda: defaultdict(dict))


@dataclass(frozen=True)
class Plan:
    sql: str
    params: tuple[Any, ...]
    counts: tuple[tuple, ...]  # behaviour keys, in the order of item -1's text
    tags: tuple[FieldCondition, ...]  # tags conditions, by item TAG_ITEMS - j
    at: dt.datetime  # the moment its windows were computed for

    def run(self, person_ids: Sequence[int], now: dt.datetime) -> Found:
        shift = now - self.at
        ids = list(person_ids)
        params = [ids if p is _IDS else ids[0] if p is _ONE
                  else p + shift if isinstance(p, dt.datetime) else p for p in self.params]
        rows = execute(self.sql, params)
        found = Found(next(text for pk, item, text in rows if pk == 0))
        for pk in ids:  # no row: no activity counted, no tags condition holds
            found.known[pk].update({key: 0 for key in self.counts})
            found.known[pk].update({node: False for node in self.tags})
        for pk, item, text in rows:
            if pk == 0:
                continue
            if item > 0:
                found.members[pk].add(item)
            elif item == -1:
                found.known[pk].update(zip(self.counts, map(int, text.split(",")), strict=True))
            else:
                found.known[pk][self.tags[TAG_ITEMS - item]] = True
        return found


def _opaque(since: dt.datetime) -> RawSQL:
    """A window's start as a sub-select: its value is then unknown to the planner in every
    plan, so the plan made for the first values costs the same as the generic one, and
    PostgreSQL keeps the generic plan of the prepared statement (from the sixth call on)
    instead of planning again at every call — measured, planning cost ~0.6 ms where running
    costs ~0.2 ms. As a plain parameter, a custom plan would know the window narrow and look
    cheaper than the generic one, so PostgreSQL kept re-planning."""
    return RawSQL("SELECT %s::timestamptz", [since], output_field=DateTimeField())


def probe(*, person_ids: Sequence[int], watched: Sequence[Watched], version: str | None,
          now: dt.datetime) -> Found:
    """Read the version, memberships and conditions of these people for these segments
    (`version`: the index's they come from, naming the plan to reuse)."""
    if connection.vendor != "postgresql" or version is None:  # SQLite: built every time
        return _build(watched, now, list(person_ids)).run(person_ids, now)
    # One person (a tracked event) gets its own plan: `person_id = $1` lets PostgreSQL keep
    # one generic plan for the prepared statement instead of planning an array every time.
    single = len(person_ids) == 1
    key = (version, single, tuple(w.segment.pk for w in watched))
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) > 256:
            _plans.clear()
        plan = _plans[key] = _build(watched, SENTINEL, 0 if single else None)
    return plan.run(person_ids, now)


def _where(queryset: QuerySet, q: Q) -> tuple[str, list[Any]]:
    """The SQL of a condition on the model's table, as the ORM writes it."""
    query = queryset.filter(q).query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return sql, list(params)


def _build(watched: Sequence[Watched], now: dt.datetime, people: int | list[int] | None
           ) -> Plan:
    """`people`: None, an array of them (PostgreSQL); 0, one person (PostgreSQL); a list,
    these very ids (SQLite: a plan used once)."""
    counts: dict[tuple, BehaviourCondition] = {}
    caps: dict[tuple, int] = {}
    tags: dict[FieldCondition, None] = {}
    for entry in watched:
        for leaf in leaves(entry.node):
            if isinstance(leaf, BehaviourCondition):
                key = behaviour_key(leaf)
                counts.setdefault(key, leaf)
                caps[key] = max(caps.get(key, 0), leaf.count + 1)
            elif leaf.kind == "tags":
                tags.setdefault(leaf)
    if people is None:
        ids, id_params = "= ANY(%s::bigint[])", [_IDS]
    elif people == 0:
        ids, id_params = "= %s", [_ONE]
    else:
        ids, id_params = f"IN ({', '.join(['%s'] * len(people))})", list(people)
    arms = [f"SELECT 0, 0, CAST(({version_sql()}) AS TEXT)"]
    params: list[Any] = []
    # All of their memberships (a few rows on the (person, segment) index): naming the
    # segments too makes PostgreSQL combine it with the segment index, many times dearer.
    arms.append(f"SELECT person_id, segment_id, CAST(NULL AS TEXT) "
                f"FROM {table(SegmentMembership)} WHERE person_id {ids}")
    params += id_params
    if counts:
        # Each count walks the person's activities from the newest (the timeline index,
        # bounded by its window) only until `cap` rows match: every comparison with N (gt,
        # lte, eq…) answers the same for min(count, N + 1), so a long history costs no more.
        activities, people_table = table(Activity), table(Person)
        capped = []
        for key, leaf in counts.items():
            where, where_params = _where(Activity.objects.all(), counted_q(
                leaf, now, _opaque if connection.vendor == "postgresql" else None))
            capped.append(
                f"CAST((SELECT COUNT(*) FROM (SELECT 1 FROM {activities} WHERE "
                f"{activities}.person_id = {people_table}.id AND {where} "
                f"LIMIT {int(caps[key])}) AS found) AS TEXT)")
            params += where_params
        arms.append(f"SELECT id, -1, {_joined(capped)} FROM {people_table} WHERE id {ids}")
        params += id_params
    for j, leaf in enumerate(tags):
        where, where_params = _where(Person.objects.all(), to_q(leaf, now))
        arms.append(f"SELECT id, {TAG_ITEMS - j}, NULL FROM {table(Person)} "
                    f"WHERE id {ids} AND {where}")
        params += [*id_params, *where_params]
    sql = " UNION ALL ".join(arms)
    if connection.vendor == "postgresql":
        sql, params = _inlined(sql, params)
    return Plan(sql, tuple(params), tuple(counts), tuple(tags), now)


def _inlined(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """The statement with the definitions' own values (kinds, properties, tag names) written
    in as literals, quoted by psycopg: they never change for a plan, and as parameters a plan
    made for them looks cheaper than the generic plan (PostgreSQL knows how common
    'page_view' is), which made it plan again at every call (see `_opaque`). Only the people
    and the windows stay parameters."""
    kept: list[Any] = []
    values = iter(params)

    def put(match: re.Match[str]) -> str:
        if match.group() == "%%":
            return "%%"
        value = next(values)
        if value is _IDS or value is _ONE or isinstance(value, dt.datetime):
            kept.append(value)
            return "%s"
        return connection.ops.compose_sql("%s", [value]).replace("%", "%%")
    return _PLACEHOLDER.sub(put, sql), kept


def _joined(counts: list[str]) -> str:
    """The counts as one text, "n,n,…" (one column whatever their number)."""
    return " || ',' || ".join(counts)
