"""The field-rule registry: every Person field has a rule, every writer writes every field,
and profiling is added up by every merge (staff, dedup) and undone exactly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import models, transaction
from django.test.utils import isolate_apps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.models import Person, PersonStatus
from profiles.services import merge_people, undo_merge
from profiles.services.merging import fields, read_decisions
from profiles.services.merging.state import SNAPSHOT_FIELDS, python_value, snapshot_person
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_concrete_person_field_has_a_rule():
    assert fields.fields_without_rule() == []
    assert fields.check_field_rules() == []
    assert set(fields.FIELD_RULES) == {f.name for f in Person._meta.concrete_fields}


@isolate_apps("profiles")
def test_a_field_added_without_a_rule_is_named():
    class PersonWithJobTitle(models.Model):
        name = models.CharField(max_length=255, blank=True)
        job_title = models.CharField(max_length=100, blank=True)

        class Meta:
            app_label = "profiles"

        def __str__(self) -> str:
            return self.name

    assert fields.fields_without_rule(PersonWithJobTitle) == ["job_title"]


def test_the_system_check_names_a_field_that_lost_its_rule(monkeypatch):
    monkeypatch.delitem(fields.FIELD_RULES, "city")

    errors = fields.check_field_rules()

    assert [error.id for error in errors] == ["profiles.E001"]
    assert "Person.city" in errors[0].msg


# --- Every writer writes every field: values generated from the model -----------------------

MOMENT = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                      timezones=st.just(UTC))
ISO = MOMENT.map(datetime.isoformat)
COUNT = st.integers(0, 9)
COUNTS = st.dictionaries(st.sampled_from(["mug", "lamp", "cup"]), st.integers(1, 5), max_size=2)
TOUCH = st.fixed_dictionaries({"at": ISO}, optional={"referrer": st.sampled_from(["a", "b"])})
ATTRIBUTES = st.fixed_dictionaries({}, optional={
    "products_viewed": COUNTS, "categories_viewed": COUNTS,
    "email_offers": st.fixed_dictionaries({"sent": COUNT, "opened": COUNT, "clicked": COUNT}),
    "purchases": st.fixed_dictionaries({"count": COUNT, "revenue": st.integers(0, 500)},
                                       optional={"last_at": ISO}),
    "first_touch": TOUCH, "latest_touch": TOUCH, "exit_page": st.sampled_from(["/a", "/b"]),
    "plan": st.sampled_from(["", "free", "pro"]), "score": COUNT,
})


def _strategy(field: models.Field):
    """Values for one Person field, from its type; a new type fails here, naming the field."""
    if isinstance(field, models.JSONField):
        return ATTRIBUTES
    if isinstance(field, models.DateTimeField):
        return (st.none() | MOMENT) if field.null else MOMENT
    if isinstance(field, models.PositiveIntegerField):
        return st.integers(0, 10_000)
    if isinstance(field, models.CharField) and field.choices:
        return st.sampled_from([value for value, _ in field.choices])
    if isinstance(field, models.CharField):
        text = st.text(alphabet="ab é%'", max_size=min(field.max_length, 8))
        return (st.none() | text.filter(bool)) if field.null else text
    raise AssertionError(f"no value generator for Person.{field.name} ({type(field).__name__})")


WRITABLE = [f for f in Person._meta.concrete_fields if fields.FIELD_RULES[f.name].writes == "base"]


@st.composite
def two_people(draw) -> list[dict]:
    people = [{f.attname: draw(_strategy(f)) for f in WRITABLE} for _ in range(2)]
    if people[0]["user_id"] and people[1]["user_id"]:
        people[1]["user_id"] = None  # different user IDs are never merged
    return people


def _merge_and_read(values: list[dict], *, orm: bool, monkeypatch) -> dict:
    from profiles.services.merging import merge as merge_module

    with monkeypatch.context() as patch:
        if orm:
            patch.setattr(merge_module, "_merge_sql", merge_module._merge_orm)
        base, other = (Person.objects.create(**person) for person in values)
        record = merge_people(base=base, others=[other], actor=UserFactory())
    rename = {base.pk: "base", other.pk: "other"}

    def stored(pk: int) -> dict:
        row = Person.objects.filter(pk=pk).values().get()
        row.pop("id")
        row["merged_into_id"] = rename.get(row["merged_into_id"])
        return row

    history = [
        {k: rename.get(v, v) if k == "merged_into_id" else v for k, v in row.items()
         if k not in ("history_id", "id", "history_user_id", "history_change_reason")}
        for row in Person.history.filter(id__in=[base.pk, other.pk]).order_by("id", "history_id")
        .values()
    ]
    decisions = {name: (d["value"], rename.get(d["winner"]), d["rule"])
                 for name, d in read_decisions(record).items()}
    return {"base": stored(base.pk), "other": stored(other.pk), "history": history,
            "decisions": decisions, "base_pk": base.pk}


def _assert_base_holds_the_decisions(outcome: dict) -> None:
    """Each decided field of the stored base is the journaled survivor: a writer that forgot
    a field leaves the base's old value there."""
    base = outcome["base"]
    for name, (value, winner, _) in outcome["decisions"].items():
        if name.startswith(fields.ATTRIBUTES_PREFIX):
            key = name[len(fields.ATTRIBUTES_PREFIX):]
            assert winner == "base" or base["attributes"].get(key) == value, name
        elif name != "updated_at":
            attname = Person._meta.get_field(name).attname
            assert base[attname] == python_value(name, value), name


@pytest.mark.postgres
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=two_people())
def test_the_orm_and_postgresql_writers_write_every_field_alike(values, monkeypatch):
    from profiles.services.merging import merge as merge_module

    fixed = datetime(2031, 1, 1, tzinfo=UTC)
    monkeypatch.setattr(merge_module.timezone, "now", lambda: fixed)
    outcomes = []
    for orm in (False, True):
        with transaction.atomic():
            outcomes.append(_merge_and_read(values, orm=orm, monkeypatch=monkeypatch))
            transaction.set_rollback(True)
    for outcome in outcomes:
        _assert_base_holds_the_decisions(outcome)
        outcome.pop("base_pk")
    assert outcomes[0] == outcomes[1]


# --- Profiling is added up by every merge, and undone exactly --------------------------------

def _shopper(email: str, products: dict, purchases: dict, touch_at: str) -> Person:
    return PersonFactory(email=email, user_id=None, status=PersonStatus.VISITOR, attributes={
        "products_viewed": products, "purchases": purchases,
        "first_touch": {"at": touch_at, "referrer": email},
        "latest_touch": {"at": touch_at, "referrer": email},
    })


def _two_shoppers() -> tuple[Person, Person]:
    ann = _shopper("ann@example.com", {"mug": 2, "lamp": 1},
                   {"count": 2, "revenue": 30.5, "last_at": "2026-01-05T10:00:00+00:00"},
                   "2026-01-01T00:00:00+00:00")
    laptop = _shopper("ann@example.com", {"mug": 1, "cup": 4},
                      {"count": 2, "revenue": 10, "last_at": "2026-02-01T10:00:00+00:00"},
                      "2026-03-01T00:00:00+00:00")
    return ann, laptop


EXPECTED = {
    "products_viewed": {"mug": 3, "lamp": 1, "cup": 4},
    "purchases": {"count": 4, "revenue": 40.5, "last_at": "2026-02-01T10:00:00+00:00"},
    "first_touch": {"at": "2026-01-01T00:00:00+00:00", "referrer": "ann@example.com"},
}


def _profiling_of(person: Person) -> dict:
    return {key: person.attributes[key] for key in EXPECTED}


def test_a_staff_merge_adds_up_profiling_and_undo_restores_both():
    ann, laptop = _two_shoppers()
    before = {p.pk: snapshot_person(Person.objects.get(pk=p.pk)) for p in (ann, laptop)}

    record = merge_people(base=ann, others=[laptop], actor=UserFactory())

    assert _profiling_of(Person.objects.get(pk=ann.pk)) == EXPECTED
    assert record.decisions["attributes.purchases"]["rule"] == fields.RULE_ADDED
    undo_merge(record=record)
    after = {p.pk: snapshot_person(Person.objects.get(pk=p.pk)) for p in (ann, laptop)}
    for pk in before:
        assert {k: after[pk][k] for k in SNAPSHOT_FIELDS if k != "updated_at"} == {
            k: before[pk][k] for k in SNAPSHOT_FIELDS if k != "updated_at"}


def test_the_dedup_adds_up_profiling_too():
    from dedup.services import run_dedup

    ann, laptop = _two_shoppers()

    run_dedup()

    base = next(p for p in Person.objects.filter(pk__in=[ann.pk, laptop.pk])
                if p.merged_into_id is None)
    assert _profiling_of(base) == EXPECTED


@pytest.mark.parametrize("bad", [
    {"base": [1, 2], "other": {"purchases": {"count": 1}}},
    {"base": {"purchases": "n/a", "products_viewed": ["a"]},
     "other": {"purchases": {"count": 1}, "products_viewed": {"a": 1}}},
    {"base": {"first_touch": "x", "exit_page": {"a": 1}},
     "other": {"first_touch": {"at": "2026-01-01"}, "exit_page": "/b"}},
])
def test_a_malformed_stored_value_merges_as_empty_and_undoes_exactly(bad, caplog):
    base = PersonFactory(user_id=None, attributes=bad["base"])
    other = PersonFactory(user_id=None, attributes=bad["other"])
    Person.objects.filter(pk=base.pk).update(attributes=bad["base"])  # as a hand edit left it

    record = merge_people(base=base, others=[other])

    merged = Person.objects.get(pk=base.pk).attributes
    assert isinstance(merged, dict) and "merged as empty" in caplog.text
    undo_merge(record=record)
    assert Person.objects.get(pk=base.pk).attributes == bad["base"]
    assert Person.objects.get(pk=other.pk).attributes == bad["other"]
