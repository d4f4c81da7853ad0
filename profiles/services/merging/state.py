"""Person field values as JSON (snapshot and decisions) and back."""

from __future__ import annotations

from datetime import datetime
from operator import attrgetter
from typing import Any

from django.db import models

from profiles.models import Person

# Every stored field of a person except its id and the database-generated email column.
SNAPSHOT_FIELDS: tuple[str, ...] = tuple(
    field.name
    for field in Person._meta.concrete_fields
    if not field.primary_key and not getattr(field, "generated", False)
)


def json_value(value: Any) -> Any:
    """JSON-safe form of a field value; datetimes as ISO strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def python_value(field_name: str, value: Any) -> Any:
    return Person._meta.get_field(field_name).to_python(value)


_SNAPSHOT_VALUES = attrgetter(*(Person._meta.get_field(name).attname for name in SNAPSHOT_FIELDS))
# Where a datetime can be (the only values json_value changes): read in one C call above,
# only these are then looked at.
_DATETIME_AT = tuple(
    index for index, name in enumerate(SNAPSHOT_FIELDS)
    if isinstance(Person._meta.get_field(name), models.DateTimeField)
)


def snapshot_person(person: Person) -> dict[str, Any]:
    """Every field as stored (FKs as ids), JSON-safe: what undo puts back. (Taken of every
    participant of every merge: `json_value` of each value, computed where it can differ.)"""
    values = list(_SNAPSHOT_VALUES(person))
    for index in _DATETIME_AT:
        value = values[index]
        if isinstance(value, datetime):
            values[index] = value.isoformat()
    return dict(zip(SNAPSHOT_FIELDS, values, strict=True))


def restore_snapshot(person: Person, snapshot: dict[str, Any]) -> None:
    for name in SNAPSHOT_FIELDS:
        field = Person._meta.get_field(name)
        value = snapshot[name]
        setattr(person, field.attname, None if value is None else field.to_python(value))
