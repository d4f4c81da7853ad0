"""The watched-segment index: every enabled segment with its checked tree and what it reads,
kept per process and refreshed only when a segment changed.

Whether a segment changed is one version string (`version_sql`: every segment's id, enabled
flag and `updated_at`, which every create, update and delete changes; a rebuild does not).
Real time reads it inside the query it runs anyway (`probe.py`), so an event that
re-evaluates something pays no query for the index; an event that affects no watched segment
checks the version alone (one tiny query), because a segment created in another process
since may read what it changed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection

from profiles.models import Activity
from profiles.services.schema import table
from profiles.services.sql import execute
from segments.models import Segment
from segments.services.checks import Check, Decide, checker, counts_any, decider
from segments.services.definition import (
    BehaviourCondition,
    DefinitionError,
    Node,
    leaves,
    parse_definition,
    reads,
)

logger = logging.getLogger(__name__)


def version_sql() -> str:
    """One text naming every segment's id, enabled flag and `updated_at` (PostgreSQL: its
    md5): any create, update or delete changes it, whatever order they commit in."""
    segments = table(Segment)
    if connection.vendor == "postgresql":
        return ("SELECT COALESCE(md5(string_agg(id::text || ':' || enabled::text || ':' || "
                f"updated_at::text, ',' ORDER BY id)), '') FROM {segments}")
    return ("SELECT COALESCE(group_concat(id || ':' || enabled || ':' || updated_at, ','), '') "
            f"FROM (SELECT id, enabled, updated_at FROM {segments} ORDER BY id)")


@dataclass(frozen=True)
class Watched:
    """An enabled segment with its checked tree and what it reads."""

    segment: Segment
    node: Node
    fields: frozenset[str]
    kinds: frozenset[str]
    timed: bool
    behaviours: tuple[BehaviourCondition, ...]
    check: Check  # the per-person check, built once
    decide: Decide  # what the person's row alone decides (checks.decider)

    @classmethod
    def of(cls, segment: Segment, node: Node) -> Watched:
        fields, kinds, timed = reads(node)
        behaviours = tuple(leaf for leaf in leaves(node) if isinstance(leaf, BehaviourCondition))
        return cls(segment, node, fields, kinds, timed, behaviours, checker(node),
                   decider(node))

    def counts_one_of(self, recorded: Sequence[Activity], now: dt.datetime) -> bool:
        """Whether one of its behaviour conditions counts one of these activities (of its
        kind, inside its window, matching its `where`)."""
        return any(counts_any(leaf, recorded, now) for leaf in self.behaviours)


@dataclass(frozen=True)
class Index:
    version: str | None
    watched: tuple[Watched, ...]
    # (fields, kinds) -> (segments reading one of the fields, the others counting a kind)
    _affected: dict[tuple[frozenset[str], frozenset[str]],
                    tuple[tuple[Watched, ...], tuple[Watched, ...]]] = field(
        default_factory=dict, compare=False)

    def affected(self, fields: set[str], recorded: Sequence[Activity], now: dt.datetime
                 ) -> tuple[Sequence[Watched], list[Watched]]:
        """The segments whose answer this change may have changed: (those reading one of the
        changed fields, the others counting one of the activities just recorded). A segment
        doing neither cannot have changed (time passing is the minute task's). Which
        segments read which fields and kinds is remembered: a recording path sends the same
        few combinations again and again."""
        kinds = frozenset(activity.kind for activity in recorded)
        key = (frozenset(fields), kinds)
        found = self._affected.get(key)
        if found is None:
            if len(self._affected) > 1024:
                self._affected.clear()
            reading = tuple(w for w in self.watched if w.fields & fields)
            counting = tuple(w for w in self.watched
                             if not w.fields & fields and w.kinds & kinds)
            found = self._affected[key] = (reading, counting)
        reading, counting = found
        return reading, [w for w in counting if w.counts_one_of(recorded, now)]


_current = Index(None, ())


def current_version() -> str:
    return execute(version_sql(), [])[0][0]


def index(version: str | None = None) -> Index:
    """The index for `version` (read now when not given): this process's copy while it is
    current, otherwise loaded again."""
    global _current
    version = version if version is not None else current_version()
    if version != _current.version:
        _current = Index(version, tuple(_load()))
    return _current


def cached() -> Index:
    """This process's copy as it is, without asking the database (the caller checks the
    version it got, see probe.py)."""
    return _current if _current.version is not None else index()


def _load() -> list[Watched]:
    watched = []
    for segment in Segment.objects.filter(enabled=True).order_by("pk"):
        try:
            node = parse_definition(segment.definition)
        except DefinitionError:  # written past the services (a raw edit): skipped, said
            logger.warning("segment %s has an invalid definition; not evaluated", segment.pk)
            continue
        watched.append(Watched.of(segment, node))
    return watched
