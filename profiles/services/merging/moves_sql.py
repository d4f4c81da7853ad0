"""PostgreSQL: the rows of every group moved in ONE prepared statement, for 1..N groups.

The groups travel as three arrays — person, its base, its position in rule order (the base is
position 0) — so the text never changes with the number of groups or people: PostgreSQL plans
it once per connection (profiles/services/sql.py). One data-modifying CTE per relation:

- tables without a unique rule on the person (activities, conversations, deals): a plain
  `UPDATE … FROM` the arrays, `RETURNING` the original person (the journal's `origins`, counted);
- tables with one (tags, identities): each row's first position among the rows of its group
  holding the same key (a window `min(pos)`); a row moves when it is the first, else it is
  parked (stays on its tombstone) — the rule of the ORM path (moves.plan_clashes): a key the
  base, or a person earlier in rule order, already holds. All CTEs read the same snapshot, so
  what they report is the state before the move.

Same rows and same journal as the ORM path (a test runs both).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from functools import cache

from django.db import connection

from profiles.services.merging.relations import PersonRelation
from profiles.services.sql import pipeline, prepared_cursor

# No JIT compilation for the move of many groups: PostgreSQL compiles a statement whose
# estimated cost passes `jit_above_cost` at every execution, and a dedup chunk's move (~3,000
# people) passes it — ~100 ms of its ~1 s (160 functions), for index look-ups and row updates
# that compiled code does not speed up. The setting in force is kept in a custom one and put
# back right after, so the caller's transaction goes on as it was (no round trip: both are
# queued with the move). A move of fewer groups is estimated far below it (no statement of
# `bench/merge_bench.py` was compiled, a person with 100,000 activities included), so it is
# sent alone.
NO_JIT_FROM = 100  # groups
JIT_OFF = ("SELECT set_config('onefold.jit_before_move', current_setting('jit'), true),"
           " set_config('jit', 'off', true)")
JIT_BACK = "SELECT set_config('jit', current_setting('onefold.jit_before_move'), true)"


def _without_jit(groups: Sequence) -> bool:
    return len(groups) >= NO_JIT_FROM


def applicable(relations: Sequence[PersonRelation]) -> bool:
    """Partial unique rules (a condition) would need SQL for the condition: ORM path then."""
    return connection.vendor == "postgresql" and all(
        key.condition is None for relation in relations for key in relation.unique_keys
    )


def _keyed_parts(index: int, relation: PersonRelation, names) -> tuple[list[str], list[str]]:
    table, pk, person, origin = names
    qn = connection.ops.quote_name
    firsts, moves = [], []
    for number, key in enumerate(relation.unique_keys):
        columns = ", ".join(
            f"x.{qn(relation.model._meta.get_field(name).column)}" for name in key.fields
        )
        firsts.append(f"min(m.pos) OVER (PARTITION BY m.base, {columns}) AS f{number}")
        moves.append(f"{{r}}f{number} = {{r}}pos")
    first = " AND ".join(moves)
    ctes = [
        f"r{index} AS (SELECT x.{pk} AS id, x.{origin} AS origin, m.person, m.base, m.pos, "
        f"{', '.join(firsts)} FROM {table} x JOIN m ON x.{person} = m.person)",
        f"u{index} AS (UPDATE {table} x SET {person} = r.base FROM r{index} r"
        f" WHERE x.{pk} = r.id AND r.pos > 0 AND {first.format(r='r.')}"
        f" RETURNING r.person, r.origin, r.id)",
    ]
    selects = [
        f"SELECT {index}, 'moved', person, origin, id FROM u{index}",
        f"SELECT {index}, 'parked', person, origin, id FROM r{index}"
        f" WHERE pos > 0 AND NOT ({first.format(r='')})",
    ]
    return ctes, selects


def _parts(index: int, relation: PersonRelation) -> tuple[list[str], list[str]]:
    qn = connection.ops.quote_name
    names = (qn(relation.model._meta.db_table), qn(relation.model._meta.pk.column),
             qn(relation.column), qn(relation.origin_column))
    if relation.unique_keys:
        return _keyed_parts(index, relation, names)
    table, _, person, origin = names
    return (
        [f"u{index} AS (UPDATE {table} x SET {person} = m.base FROM m"
         f" WHERE m.pos > 0 AND x.{person} = m.person RETURNING m.person, x.{origin} AS origin)"],
        [f"SELECT {index}, 'count', person, origin, count(*) FROM u{index} GROUP BY 3, 4"],
    )


@cache
def move_statement(relations: tuple[PersonRelation, ...]) -> str:
    """The statement (the same text every time: prepared once per connection)."""
    ctes = ["m AS (SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::int[])"
            " AS m(person, base, pos))"]
    selects = []
    for index, relation in enumerate(relations):
        relation_ctes, relation_selects = _parts(index, relation)
        ctes += relation_ctes
        selects += relation_selects
    return "WITH " + ", ".join(ctes) + " " + " UNION ALL ".join(selects)


def move_params(groups: Sequence[tuple[int, Sequence[int]]]) -> list[list[int]]:
    """(base, others in rule order) per group -> the three arrays, in person id order (the
    index scans then walk the tables mostly forward)."""
    rows = sorted(
        (person, base, position)
        for base, others in groups
        for position, person in enumerate([base, *others])
    )
    return [[row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows]]


def send_move(cursor, groups: Sequence[tuple[int, Sequence[int]]],
              relations: Sequence[PersonRelation]) -> None:
    """Execute (or, in a pipeline, queue) the move (of many groups: without JIT compilation,
    NO_JIT_FROM); `journals(cursor.fetchall(), …)` reads it."""
    switch = _without_jit(groups)
    if switch:
        with prepared_cursor() as setting:
            setting.execute(JIT_OFF)
    cursor.execute(move_statement(tuple(relations)), move_params(groups))
    if switch:
        with prepared_cursor() as setting:
            setting.execute(JIT_BACK)


def move_groups(groups: Sequence[tuple[int, Sequence[int]]],
                relations: Sequence[PersonRelation]) -> list[dict]:
    """Move now; each group's `moved` journal part (a move of many groups in one pipeline with
    its JIT setting: no round trip more)."""
    queued = pipeline() if _without_jit(groups) else nullcontext()
    with queued, prepared_cursor() as cursor:
        send_move(cursor, groups, relations)
        return journals(cursor.fetchall(), relations, groups)


def journals(result: list[tuple], relations: Sequence[PersonRelation],
             groups: Sequence[tuple[int, Sequence[int]]]) -> list[dict]:
    """The `moved` journal part of each group, from the statement's rows."""
    group_of = {person: index for index, (_, others) in enumerate(groups) for person in others}
    parts = [_Journal() for _ in groups]
    for index, what, person, origin, value in result:
        parts[group_of[person]].add(relations[index].label, what, str(person), origin, value)
    return [part.as_json() for part in parts]


class _Journal:
    def __init__(self) -> None:
        self.origins: dict[str, set[int]] = defaultdict(set)
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.parked: dict[str, list[int]] = defaultdict(list)
        self.rows: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))

    def add(self, label: str, what: str, person: str, origin: int, value: int) -> None:
        if what == "parked":
            self.parked[label].append(value)
            return
        self.origins[person].add(origin)
        self.counts[label][person] += value if what == "count" else 1
        if what == "moved":
            self.rows[label][person].append(value)

    def as_json(self) -> dict:
        return {
            "origins": {person: sorted(found) for person, found in self.origins.items()},
            "counts": {label: dict(by_person) for label, by_person in self.counts.items()},
            "parked": {label: sorted(ids) for label, ids in self.parked.items()},
            "rows": {label: {person: sorted(ids) for person, ids in by_person.items()}
                     for label, by_person in self.rows.items()},
        }
