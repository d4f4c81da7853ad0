"""Model fields with a behaviour of their own (declared on the field, like `auto_now_add`)."""

from __future__ import annotations

from typing import Any

from django.db import models


class OriginalOwnerField(models.ForeignKey):
    """`original_<owner>`: who a row was first recorded for (merges never change it; undo
    moves back by it). Left unset when the row is inserted, it is the row's `<owner>`.

    This is the one place that default lives. It is a field's `pre_save` (as `auto_now_add`),
    so it holds for every way a row is inserted — `save()`, `objects.create()`,
    `bulk_create()` and a many-to-many manager's `add()`, which is how
    `person.tags.add(tag)` inserts its through row without knowing this column.
    """

    def __init__(self, *args: Any, owner: str = "person", **kwargs: Any) -> None:
        self.owner = owner
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list, dict]:
        name, path, args, kwargs = super().deconstruct()
        if self.owner != "person":
            kwargs["owner"] = self.owner
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if add and getattr(model_instance, self.attname) is None:
            owner = model_instance._meta.get_field(self.owner)
            setattr(model_instance, self.attname, getattr(model_instance, owner.attname))
        return super().pre_save(model_instance, add)


class TextJSONField(models.JSONField):
    """A JSONField kept by PostgreSQL as `json` (its text, checked) rather than `jsonb` (parsed
    into a binary tree): for documents written once in bulk and read back whole, never queried
    inside — the merge journal. Turning text into `jsonb` was most of a dedup chunk's journal
    INSERT (a 1,000-entry chunk's document: ~4 ms a MB to check as `json`, ~40 as `jsonb`).
    Equal in Python; `json` has no equality operator, so such a column cannot be compared,
    grouped or used in DISTINCT. Elsewhere (SQLite) the JSONField's own type."""

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or isinstance(value, str | bytes | bytearray):
            return super().from_db_value(value, expression, connection)
        return value  # psycopg parses `json` itself (Django has it leave `jsonb` as text)
