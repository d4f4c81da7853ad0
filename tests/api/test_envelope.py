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


# --- Issue 12, finding 8: details of the envelope ---------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"anonymous_id": "a", "kind": "page_view", "anonymous_id": "b"}',
     b'{"anonymous_id": "a", "kind": "page_view", "properties": {"amount": 1, "amount": 9}}'],
)
def test_a_key_given_twice_in_one_object_is_refused(post, raw):
    before = row_counts()

    response = post("track", None, raw=raw)

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"
    assert "appears twice" in response.json()["error"]["message"]
    assert row_counts() == before


@pytest.mark.parametrize(
    "origin", ["evil://testserver", "https://testserver", "http://testserver:8080"]
)
def test_same_origin_means_the_same_scheme_host_and_port(post, origin):
    response = post("track", {"anonymous_id": "d", "kind": "page_view"}, origin=origin)

    assert response.status_code == 403
    assert response.json()["error"]["field"] == "origin"
    assert "Access-Control-Allow-Origin" not in response


def test_a_same_origin_page_needs_no_listing(post):
    response = post("track", {"anonymous_id": "d", "kind": "page_view"},
                    origin="http://testserver")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://testserver"


def test_a_bad_host_on_the_api_is_a_json_400_and_logs_no_error(client, site, caplog):
    with caplog.at_level("INFO"):
        response = client.post(
            "/api/v1/track", json.dumps({"anonymous_id": "d", "kind": "page_view"}),
            content_type="application/json", HTTP_HOST="evil.example",
            HTTP_AUTHORIZATION=f"Bearer {site.plain_key}",
        )

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "host"
    assert [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")] == []


@pytest.mark.parametrize("path", ["/api/v2/track", "/api/v0/identify", "/api/", "/api/v1",
                                  "/api/track"])
def test_unknown_api_versions_and_paths_answer_json(client, path):
    response = client.post(path, "{}", content_type="application/json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["field"] == "path"


@pytest.mark.parametrize("path", ["/api/v1/track", "/api/v1/batch", "/api/v2/track"])
def test_head_answers_with_the_api_json_headers(client, path):
    response = client.head(path)

    assert response.status_code in (404, 405)
    assert response["Content-Type"] == "application/json"


def test_refusals_do_not_write_a_log_line_each(post, caplog):
    with caplog.at_level("INFO"):
        for _ in range(5):
            post("track", {"anonymous_id": "undefined", "kind": "page_view"})
            post("track", {"anonymous_id": "d", "kind": "page_view"}, key="ofk_unknown")

    assert [r.getMessage() for r in caplog.records if r.name.startswith("django")] == []
