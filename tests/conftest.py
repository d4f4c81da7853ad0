"""Shared test setup: the `postgres` marker, and CI's refusal to skip PostgreSQL tests."""

from __future__ import annotations

import os

import pytest
from django.conf import settings


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CI") and not _on_postgres():
        raise pytest.UsageError(
            "CI must run the suite on PostgreSQL: set DATABASE_URL to a postgres:// URL."
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_postgres() -> bool:
    return _on_postgres()
