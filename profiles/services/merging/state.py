"""Person field values as JSON (snapshot and decisions) and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


_SNAPSHOT_ATTNAMES: tuple[tuple[str, str], ...] = tuple(
    (name, Person._meta.get_field(name).attname) for name in SNAPSHOT_FIELDS
)


def snapshot_person(person: Person) -> dict[str, Any]:
    """Every field as stored (FKs as ids), JSON-safe: what undo puts back. (Taken of every
    participant of every merge: the values as `json_value` gives them, without its call.)"""
    snapshot = {}
    for name, attname in _SNAPSHOT_ATTNAMES:
        value = getattr(person, attname)
        snapshot[name] = value.isoformat() if isinstance(value, datetime) else value
    return snapshot


def restore_snapshot(person: Person, snapshot: dict[str, Any]) -> None:
    for name in SNAPSHOT_FIELDS:
        field = Person._meta.get_field(name)
        value = snapshot[name]
        setattr(person, field.attname, None if value is None else field.to_python(value))
