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

    monkeypatch.setattr("api.views.ingest.run_single", refuse)
    before = row_counts()

    response = post("track", {"anonymous_id": "d", "kind": "page_view"})

    assert response.status_code == 400
    assert "out of range" in response.json()["error"]["message"]
    assert row_counts() == before
