"""The HTTP envelope (api/http.py): what every endpoint answers before and after the view."""

from __future__ import annotations

import json

import pytest
from django.db import DataError
from django.test import Client

from tests.api.conftest import row_counts

pytestmark = pytest.mark.django_db


def test_a_post_to_an_unknown_path_is_a_json_404_even_with_csrf_checks(site):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/api/v1/trak", json.dumps({}), content_type="application/json",
                            HTTP_AUTHORIZATION=f"Bearer {site.plain_key}")

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "path"


def test_a_value_the_database_refuses_is_a_400_not_a_500(post, monkeypatch):
    def refuse(*args, **kwargs):
        raise DataError("time zone displacement out of range")

    monkeypatch.setattr("api.views.ingest.record_event", refuse)
    before = row_counts()

    response = post("track", {"anonymous_id": "d", "kind": "page_view"})

    assert response.status_code == 400
    assert "out of range" in response.json()["error"]["message"]
    assert row_counts() == before


def test_every_service_error_code_has_its_status_in_the_one_table():
    from api.errors import STATUS_BY_CODE
    from profiles.services import errors

    missing = sorted(errors.CODES - set(STATUS_BY_CODE))

    assert not missing, f"api/errors.py STATUS_BY_CODE has no status for {missing}"


def test_service_errors_carry_a_code_not_an_http_status():
    import inspect

    from profiles.services.errors import ServiceError
    from profiles.services.validation import InvalidInput

    for error in (ServiceError, InvalidInput):
        assert "status" not in inspect.signature(error).parameters
    with pytest.raises(ValueError):
        InvalidInput("x", "bad", code="418")


def test_the_api_package_leaves_ordering_and_tombstones_to_the_services():
    """api/ validates and maps errors; lock order, tombstone walks and look-ups are services'."""
    import ast
    from pathlib import Path

    import api

    internal = {"profiles.services.recording_sql", "profiles.services.resolution",
                "profiles.services.merging", "profiles.services.recording_writes"}
    offenders = []
    for path in Path(api.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in internal:
                offenders.append(f"{path.name}: {node.module}")

    assert not offenders, offenders
