"""Helpers: evaluate a definition both ways (SQL and per person) and insist they agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from profiles.models import Activity, ActivityKind, Person
from segments.services.compiler import compile_node
from segments.services.definition import parse_definition
from segments.services.membership import matching_people


def matched(definition: Any, now: dt.datetime | None = None) -> set[int]:
    """The ids of live people the definition matches; fails when the two forms disagree."""
    rule = compile_node(parse_definition(definition), now or timezone.now())
    by_sql = set(matching_people(rule).values_list("pk", flat=True))
    by_check = {person.pk for person in Person.objects.all() if rule.matches(person)}
    assert by_sql == by_check, (definition, by_sql, by_check)
    return by_sql


def activity(person: Person, kind: str = ActivityKind.EVENT, *, days_ago: float = 0,
             **properties: Any) -> Activity:
    return Activity.objects.create(
        person=person, original_person=person, kind=kind, properties=properties,
        occurred_at=timezone.now() - dt.timedelta(days=days_ago))
