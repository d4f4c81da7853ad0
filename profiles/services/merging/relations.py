"""Every relation that points at Person, found from the app registry.

A merge must move every row that belongs to a merged person, including rows of models added
after this code was written. So relations are not listed by hand: they are discovered from
the model registry and classified as

- handled: a foreign key `<name>` to Person whose model also has `original_<name>` (the person
  the row was first recorded for). Those rows move with one UPDATE per table and move back
  exactly on undo, by their original person;
- origin: the `original_<name>` companion itself, never changed by a merge (it is what makes
  undo exact without a per-row copy);
- excluded: listed in EXCLUDED with the reason, or a django-simple-history model (history is
  a record of the past and must keep pointing at whoever it described);
- unhandled: anything else. `unhandled_relations()` lists them and a test asserts it is empty,
  so a new model pointing at Person cannot be forgotten by the merge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalChanges

from profiles.models import Person

ORIGIN_PREFIX = "original_"

# (model label, field name) -> why the merge leaves it alone.
EXCLUDED: dict[tuple[str, str], str] = {
    ("profiles.person", "merged_into"): "the tombstone pointer itself, written by the merge",
    ("profiles.mergerecord", "base"): "the merge journal: it must keep naming the base",
}


@dataclass(frozen=True)
class UniqueKey:
    """A uniqueness rule that includes the person column: moving a row may clash with it."""

    fields: tuple[str, ...]  # the other columns of the rule (e.g. ("tag",))
    condition: Q | None = None  # partial unique constraints only apply to matching rows


@dataclass(frozen=True)
class PersonRelation:
    """A table whose rows follow the person through merges."""

    model: type[models.Model]
    field: str  # e.g. "person"
    origin_field: str  # e.g. "original_person"
    unique_keys: tuple[UniqueKey, ...] = ()

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def column(self) -> str:
        return self.model._meta.get_field(self.field).attname

    @property
    def origin_column(self) -> str:
        return self.model._meta.get_field(self.origin_field).attname

    @property
    def verbose_name_plural(self) -> str:
        return str(self.model._meta.verbose_name_plural)


def _points_at_person(field: models.Field) -> bool:
    return (
        getattr(field, "concrete", False)
        and field.is_relation
        and (field.many_to_one or field.one_to_one)
        and field.related_model is Person
    )


def person_foreign_keys(
    models_: Iterable[type[models.Model]] | None = None,
) -> list[tuple[type[models.Model], models.Field]]:
    """Every concrete FK / one-to-one to Person, including many-to-many through tables."""
    if models_ is None:
        models_ = apps.get_models(include_auto_created=True)
    found = []
    for model in models_:
        for field in model._meta.get_fields():
            if _points_at_person(field):
                found.append((model, field))
    return found


def _is_history_model(model: type[models.Model]) -> bool:
    return issubclass(model, HistoricalChanges)


def _origin_of(model: type[models.Model], field: models.Field) -> models.Field | None:
    try:
        origin = model._meta.get_field(ORIGIN_PREFIX + field.name)
    except Exception:  # FieldDoesNotExist: the model does not track original owners
        return None
    return origin if _points_at_person(origin) else None


def _unique_keys(model: type[models.Model], field_name: str) -> tuple[UniqueKey, ...]:
    keys = []
    for constraint in model._meta.constraints:
        fields = tuple(getattr(constraint, "fields", ()) or ())
        if isinstance(constraint, models.UniqueConstraint) and field_name in fields:
            rest = tuple(name for name in fields if name != field_name)
            keys.append(UniqueKey(rest, constraint.condition))
    for together in model._meta.unique_together:
        if field_name in together:
            keys.append(UniqueKey(tuple(name for name in together if name != field_name)))
    return tuple(keys)


def classify(model: type[models.Model], field: models.Field) -> str:
    """'handled', 'origin', 'excluded' or 'unhandled' for one FK to Person."""
    if (model._meta.label_lower, field.name) in EXCLUDED or _is_history_model(model):
        return "excluded"
    if field.name.startswith(ORIGIN_PREFIX):
        tracked = field.name[len(ORIGIN_PREFIX):]
        try:
            if _points_at_person(model._meta.get_field(tracked)):
                return "origin"
        except Exception:  # FieldDoesNotExist
            pass
    if _origin_of(model, field) is not None:
        return "handled"
    return "unhandled"


def discover_relations(
    models_: Iterable[type[models.Model]] | None = None,
) -> list[PersonRelation]:
    relations = []
    for model, field in person_foreign_keys(models_):
        if classify(model, field) == "handled":
            origin = _origin_of(model, field)
            relations.append(
                PersonRelation(model, field.name, origin.name, _unique_keys(model, field.name))
            )
    return sorted(relations, key=lambda relation: (relation.label, relation.field))


def unhandled_relations(
    models_: Iterable[type[models.Model]] | None = None,
) -> list[str]:
    """'app.model.field' for every FK to Person that is neither handled nor excluded."""
    return [
        f"{model._meta.label_lower}.{field.name}"
        for model, field in person_foreign_keys(models_)
        if classify(model, field) == "unhandled"
    ]


@cache
def person_relations() -> tuple[PersonRelation, ...]:
    """The registry the merge uses (computed once: the model registry is fixed at runtime)."""
    return tuple(discover_relations())
