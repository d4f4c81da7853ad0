"""A run as staff and operators read it: errors in sentences, a dry run's progress says "would
merge", progress counted in groups (issue 14, dedup leftovers)."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from dedup.models import DedupRun, DedupStatus
from dedup.services import run_dedup, runs
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_a_refusal_fails_the_run_with_its_own_sentence(monkeypatch):
    PersonFactory.create_batch(2, email="ann@example.com")

    def refused(*, chunk_id):
        raise ValidationError("Person #3 was deleted meanwhile.")

    monkeypatch.setattr(runs, "process_chunk", refused)
    with pytest.raises(ValidationError):
        run_dedup()

    run = DedupRun.objects.get()
    assert run.status == DedupStatus.FAILED
    assert run.error == "Person #3 was deleted meanwhile."


def test_an_unexpected_error_is_named_in_a_sentence():
    assert runs.error_words(RuntimeError("disk on fire")) == \
        "Unexpected error (RuntimeError): disk on fire."


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_dry_runs_progress_says_would_merge_and_counts_groups(monkeypatch):
    for n in range(3):
        PersonFactory.create_batch(2, email=f"g{n}@example.com")
    out = _Terminal()
    monkeypatch.setattr("sys.stdout", out)

    call_command("dedup", "--dry-run", stdout=out)

    bar = out.getvalue().split("\n")[0]
    assert "3 of 3 groups (1 of 1 chunk)" in bar and "3 would merge" in bar
    assert "merged" not in bar
