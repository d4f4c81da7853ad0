"""Names the hand-written SQL needs, computed once: quoted tables and history models."""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Model


@cache
def table(model: type[Model]) -> str:
    """The model's table, quoted for SQL (PostgreSQL and SQLite quote alike)."""
    return connection.ops.quote_name(model._meta.db_table)


@cache
def history_model(model: type[Model]) -> type[Model]:
    """The simple-history model of `model` (its descriptor builds a manager on every access)."""
    return model.history.model
