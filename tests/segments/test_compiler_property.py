"""The one compiler's two forms agree: for random definitions over random people, tags and
activities, the SQL form (rebuild, count) selects exactly the people the per-person check
accepts."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from profiles.models import Activity, Person, PersonTag, Tag
from segments.models import Segment
from segments.services.checks import PersonFacts, counts_any, read_beyond_row
from segments.services.compiler import compile_node, counted_q
from segments.services.definition import parse_definition
from segments.services.index import Watched
from segments.services.membership import matching_people
from segments.services.probe import probe

NOW = timezone.now()
WORDS = st.sampled_from(["paris", "Paris", "berlin", "gold", "GOLD", "sale", "a", "ab"])
JSON_SCALARS = st.one_of(WORDS, st.integers(-3, 5), st.booleans(), st.none(),
                         st.just(""), st.just(1.5))
JSON_VALUES = st.one_of(JSON_SCALARS, st.lists(WORDS, max_size=3),
                        st.dictionaries(WORDS, st.integers(0, 3), max_size=2))
def _iso(days: int, hours: int, offset: int | None, separator: str) -> str:
    """A date string as profiling or a website writes one (offset None: no offset, UTC)."""
    moment = NOW - dt.timedelta(days=days, hours=hours)
    if offset is None:
        return moment.replace(tzinfo=None).isoformat(separator)
    return moment.astimezone(dt.timezone(dt.timedelta(hours=offset))).isoformat(separator)


DATE_TEXTS = st.one_of(
    st.builds(_iso, st.integers(0, 60), st.integers(-3, 3),
              st.one_of(st.none(), st.integers(-14, 14)), st.sampled_from(["T", " "])),
    st.sampled_from(["2024-02-29", "2026-02-30", "2026-01-31T24:00:00", "yesterday",
                     "2026-01-31T10:00:00+15:00", "2026-1-31"]),
)
ATTRIBUTES = st.fixed_dictionaries({}, optional={
    "plan": JSON_VALUES, "n": JSON_VALUES, "seen": st.one_of(DATE_TEXTS, JSON_SCALARS),
    "purchases": st.one_of(JSON_VALUES, st.fixed_dictionaries(
        {"count": JSON_SCALARS}, optional={"last_at": DATE_TEXTS})),
})
DAYS_AGO = st.one_of(st.none(), st.integers(0, 60))
PERSON = st.fixed_dictionaries({
    "city": st.one_of(st.just(""), WORDS), "email": st.one_of(st.just(""), WORDS),
    "page_views": st.integers(0, 6), "last_seen": DAYS_AGO, "attributes": ATTRIBUTES,
    "tags": st.lists(WORDS, max_size=2, unique_by=str.lower),
    "events": st.lists(st.tuples(st.sampled_from(["event", "page_view"]), JSON_SCALARS,
                                 st.integers(0, 60)), max_size=4),
})

FIELD_PATHS = st.sampled_from(["city", "email", "tags", "attributes.plan", "attributes.n",
                               "attributes.purchases.count", "attributes.purchases"])
TEXT_OPS = ["eq", "ne", "contains", "starts_with"]


@st.composite
def field_condition(draw):
    choice = draw(st.sampled_from(["text", "number", "date"]))
    if choice == "number":
        path = draw(st.sampled_from(["page_views", "attributes.n", "attributes.purchases.count"]))
        op = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in",
                                   "exists", "not_exists"]))
        value = draw(st.integers(-1, 6))
        value = [value, draw(st.integers(0, 6))] if op in ("in", "not_in") else value
    elif choice == "date":
        path = draw(st.sampled_from(["last_seen", "attributes.seen",
                                     "attributes.purchases.last_at"]))
        ops = ["within_days", "older_than_days"] + (["gt", "lt", "exists"]
                                                    if path == "last_seen" else [])
        op = draw(st.sampled_from(ops))
        days = draw(st.integers(0, 61))
        value = days if op.endswith("days") else (NOW - dt.timedelta(days=days)).isoformat()
    else:
        path = draw(FIELD_PATHS)
        op = draw(st.sampled_from([*TEXT_OPS, "in", "not_in", "exists", "not_exists"]))
        value = draw(WORDS)
        if op in ("in", "not_in"):
            value = [value, draw(WORDS)]
        elif op in ("eq", "ne") and path.startswith("attributes."):
            value = draw(st.one_of(WORDS, st.booleans(), st.integers(-1, 5)))
    node = {"field": path, "op": op}
    if op not in ("exists", "not_exists"):
        node["value"] = value
    return node


BEHAVIOUR = st.builds(
    lambda kind, where, count, within: {
        "kind": kind, **({"where": {"name": where}} if where is not None else {}),
        **({"count": {"op": count[0], "value": count[1]}} if count else {}),
        **({"within_days": within} if within else {}),
    },
    st.sampled_from(["event", "page_view"]), st.one_of(st.none(), WORDS, st.integers(0, 3)),
    st.one_of(st.none(), st.tuples(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
                                   st.integers(0, 3))),
    st.one_of(st.none(), st.integers(1, 60)),
)
DEFINITIONS = st.recursive(
    st.one_of(field_condition(), BEHAVIOUR),
    lambda children: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, children),
    ),
    max_leaves=6,
)


def _create(spec: dict) -> None:
    last_seen = spec["last_seen"]
    person = Person.objects.create(
        city=spec["city"], email=spec["email"], page_views=spec["page_views"],
        attributes=spec["attributes"],
        last_seen=None if last_seen is None else NOW - dt.timedelta(days=last_seen, hours=1),
    )
    for name in spec["tags"]:
        PersonTag.objects.create(person=person, tag=Tag.objects.get_or_create(name=name)[0])
    Activity.objects.bulk_create(
        Activity(person=person, original_person=person, kind=kind,
                 properties={} if name is None else {"name": name},
                 occurred_at=NOW - dt.timedelta(days=days, hours=1))
        for kind, name, days in spec["events"])


class CompilerForms(TestCase):
    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(people=st.lists(PERSON, min_size=1, max_size=5), definition=DEFINITIONS)
    def test_sql_and_per_person_check_agree(self, people, definition):
        for spec in people:
            _create(spec)
        rule = compile_node(parse_definition(definition), NOW)
        by_sql = set(matching_people(rule).values_list("pk", flat=True))
        people = list(Person.objects.all())
        by_check = {person.pk for person in people if rule.matches(person)}
        assert by_sql == by_check, definition
        # Real time's form: the per-person check over what probe.py read in one query
        # (behaviour counts capped, tags conditions).
        watched = Watched.of(Segment(pk=0), rule.node)
        found = probe(person_ids=[p.pk for p in people], watched=[watched], version=None,
                      now=NOW)
        by_probe = {person.pk for person in people if rule.matches(
            person, PersonFacts(person, known=found.known[person.pk]))}
        assert by_probe == by_sql, definition
        # What real time skips on: whether a behaviour condition counts an activity.
        for leaf in watched.behaviours:
            counted = set(Activity.objects.filter(counted_q(leaf, NOW))
                          .values_list("pk", flat=True))
            assert counted == {activity.pk for activity in Activity.objects.all()
                               if counts_any(leaf, [activity], NOW)}, leaf
        # What real time decides from the person's row alone, when it decides, is the answer.
        for person in people:
            decided = watched.decide(person, NOW)
            assert decided is None or decided == (person.pk in by_sql), (definition, person.pk)
        if not read_beyond_row(rule.node):
            assert all(watched.decide(person, NOW) is not None for person in people)
