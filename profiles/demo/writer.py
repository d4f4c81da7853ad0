"""Fast bulk inserts of model instances: COPY on PostgreSQL, executemany elsewhere.

The columns are the model's stored fields (generated columns left to the database), so a
field added to a model is written too, with the value its instance holds (its default).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from profiles.services.inserts import stored_fields


class TableWriter:
    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.postgres = connection.vendor == "postgresql"

    def _table(self, model: type[models.Model]) -> str:
        return self.connection.ops.quote_name(model._meta.db_table)

    def next_ids(self, models_: Sequence[type[models.Model]]) -> dict[type[models.Model], int]:
        with self.connection.cursor() as cursor:
            result = {}
            for model in models_:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {self._table(model)}")
                result[model] = cursor.fetchone()[0]
        return result

    def write(self, model: type[models.Model], rows: Sequence[models.Model]) -> None:
        """Insert the instances, their ids included, every stored field."""
        if not rows:
            return
        fields = stored_fields(model, with_pk=True)
        columns = ", ".join(self.connection.ops.quote_name(f.column) for f in fields)
        values = attrgetter(*(f.attname for f in fields))
        converters = [(i, convert) for i, f in enumerate(fields)
                      if (convert := self._converter(f)) is not None]

        def prepared(row: models.Model) -> list[Any]:
            result = list(values(row))
            for index, convert in converters:
                result[index] = convert(result[index])
            return result

        with self.connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(
                    f"COPY {self._table(model)} ({columns}) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(prepared(row))
            else:
                marks = ", ".join(["%s"] * len(fields))
                cursor.executemany(
                    f"INSERT INTO {self._table(model)} ({columns}) VALUES ({marks})",
                    [prepared(row) for row in rows],
                )

    def _converter(self, field: models.Field) -> Callable[[Any], Any] | None:
        """How a value is written, when not as it is (COPY takes most Python values)."""
        if not self.postgres:
            return lambda value: field.get_db_prep_save(value, self.connection)
        if isinstance(field, models.JSONField):  # COPY's text form of a jsonb value
            return lambda value: None if value is None else json.dumps(value, cls=field.encoder)
        return None

    def reset_sequences(self, models_: Sequence[type[models.Model]]) -> None:
        """Explicit ids bypass PostgreSQL sequences: move them past the rows written."""
        if not self.postgres:
            return
        with self.connection.cursor() as cursor:
            for model in models_:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {self._table(model)}))"
                )

    def analyze(self, models_: Sequence[type[models.Model]]) -> None:
        """Give the planner statistics of what was written (autovacuum may be off or behind:
        without them a query on a freshly loaded table can be planned badly for minutes)."""
        with self.connection.cursor() as cursor:
            for model in models_:
                cursor.execute(f"ANALYZE {self._table(model)}")


def constructor(model: type[models.Model]) -> Callable[..., models.Model]:
    """`model(**values)`, several times faster for millions of rows: the values go in
    positionally (Django's fast path), every field not given gets its default."""
    slots = []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            slots.append((field.attname, field.default, True))  # e.g. dict, timezone.now
        else:
            slots.append((field.attname, field.get_default(), False))
    names = {name for name, _, _ in slots}

    def make(**values: Any) -> models.Model:
        unknown = values.keys() - names
        if unknown:
            raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
        return model(*[
            values[name] if name in values else (default() if call else default)
            for name, default, call in slots
        ])

    return make
