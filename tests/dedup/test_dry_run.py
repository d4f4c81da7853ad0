"""Dry run: reports exactly what a real run would do, and changes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from dedup.models import DedupRun, DedupStatus
from dedup.services import report_csv, report_entries, run_dedup
from profiles.models import PersonStatus
from tests.dedup.helpers import db_snapshot
from tests.factories import ActivityFactory, PersonFactory, PersonTagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups():
    base = PersonFactory(email="ann@example.com", user_id="u-1", phone="")
    dup = PersonFactory(email=" ANN@example.com", status=PersonStatus.VISITOR, phone="+33 1",
                        page_views=4)
    ActivityFactory.create_batch(2, person=dup)
    PersonTagFactory(person=dup)
    conflict = [PersonFactory(email="bob@example.com", user_id=f"b-{n}") for n in range(2)]
    return base, dup, conflict


def test_dry_run_changes_nothing(groups):
    before = db_snapshot()
    run = run_dedup(dry_run=True)
    # The run's own bookkeeping (DedupRun, its chunks and conflicts) is its only write.
    assert db_snapshot() == before
    assert (run.status, run.dry_run, run.groups_found) == (DedupStatus.SUCCEEDED, True, 2)
    assert (run.groups_merged, run.people_merged, run.conflicts) == (1, 1, 1)


def test_dry_run_report_lists_every_group_with_field_winners(groups):
    base, dup, conflict = groups
    run = run_dedup(dry_run=True)
    ann, bob = list(report_entries(run))
    assert (ann["email"], ann["outcome"], ann["base"], ann["merged"]) == (
        "ann@example.com", "would merge", base.pk, [dup.pk])
    assert ann["winners"]["phone"] == {"value": "+33 1", "from": dup.pk,
                                       "rule": ann["winners"]["phone"]["rule"]}
    assert ann["winners"]["user_id"]["value"] == "u-1"
    assert ann["winners"]["page_views"]["value"] == base.page_views + 4
    assert (bob["outcome"], bob["people"], bob["user_ids"]) == (
        "conflict", sorted(p.pk for p in conflict), ["b-0", "b-1"])


def test_report_as_csv(groups):
    run = run_dedup(dry_run=True)
    rows = list(csv.DictReader(io.StringIO(report_csv(run))))
    assert [row["email"] for row in rows] == ["ann@example.com", "bob@example.com"]
    assert "phone='+33 1'" in rows[0]["winners"]
    assert rows[1]["outcome"] == "conflict" and rows[1]["user_ids"] == "b-0 b-1"


def test_a_real_run_after_a_dry_run_does_what_it_said(groups):
    dry = run_dedup(dry_run=True)
    real = run_dedup()
    said = [(e["email"], e["base"], e["merged"]) for e in report_entries(dry)]
    done = [(e["email"], e["base"], e["merged"]) for e in report_entries(real)]
    assert said == done


def test_command_prints_a_summary(groups):
    out = io.StringIO()
    call_command("dedup", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "dry run" in text and "groups:      2" in text and "conflicts:   1" in text
    assert DedupRun.objects.get().dry_run
    out = io.StringIO()
    call_command("dedup", stdout=out)
    assert "merged:      1 groups, 1 people" in out.getvalue()
