"""Who merges with whom: groups split around "not the same person" marks, conflicts per part,
typed emails left out as "needs review" (docs/dedup.md, "Who merges")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dedup.models import DedupConflict, DedupRun, ReviewKind
from dedup.services import report_entries, run_dedup
from dedup.services.detection import group_members
from dedup.services.groups import decide_groups
from dedup.services.marks import keep_apart
from profiles.models import (
    Identity,
    IdentityKind,
    IdentityTrust,
    MergeRecord,
    Person,
    PersonStatus,
)
from profiles.services import merge_people, undo_merge
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

EMAIL = "ann@example.com"


@pytest.fixture(params=["bulk", "per_group"])
def strategy(request, settings):
    settings.DEDUP_STRATEGY = request.param
    return request.param


def person(*, age_days: int = 0, trust: str | None = None, email: str = EMAIL, **fields):
    """A person whose Last Updated is `age_days` ago (older ranks first); `trust`: their email
    identity's trust (none: staff's, as an email set without one)."""
    stamp = timezone.now() - timedelta(days=age_days)
    fields.setdefault("status", PersonStatus.VISITOR)
    p = PersonFactory(email=email, updated_at=stamp, created_at=stamp, **fields)
    if trust is not None:
        Identity.objects.create(person=p, original_person=p, kind=IdentityKind.EMAIL,
                                value=p.email_normalized, trust=trust)
    return p


def merged_into(p: Person) -> int | None:
    p.refresh_from_db()
    return p.merged_into_id


def entries(run: DedupRun, outcome: str) -> list[dict]:
    return [e for e in report_entries(run) if e["outcome"] == outcome]


# --- Kept apart --------------------------------------------------------------------------------


def test_a_kept_apart_pair_is_never_merged_by_the_dedup_nor_its_dry_run(strategy):
    ann, bob = person(age_days=2), person(age_days=1)
    keep_apart(people=[ann, bob], actor=None, reason="mother and daughter")

    dry, real = run_dedup(dry_run=True), run_dedup()

    assert merged_into(ann) is None and merged_into(bob) is None
    for run in (dry, real):
        assert (run.groups_found, run.groups_merged, run.kept_apart) == (1, 0, 1)
        (entry,) = report_entries(run)
        assert entry["outcome"] == "kept apart"
        assert entry["pairs"] == [sorted([ann.pk, bob.pk])]
        assert entry["parts"] == [[ann.pk], [bob.pk]]


def test_a_group_splits_around_its_marks_greedily_in_rank_order(strategy):
    a, b, c, d = (person(age_days=n) for n in (4, 3, 2, 1))  # rank order: a, b, c, d
    keep_apart(people=[a, b], actor=None, reason="different")
    keep_apart(people=[a, c], actor=None, reason="different")

    run = run_dedup()

    # a starts the first part; b and c may not join it, so b starts a second that c joins;
    # d joins the first part it may: a's.
    assert merged_into(d) == a.pk and merged_into(c) == b.pk
    assert merged_into(a) is None and merged_into(b) is None
    assert (run.groups_merged, run.people_merged, run.kept_apart) == (2, 2, 1)
    (split,) = entries(run, "kept apart")
    assert split["parts"] == [[a.pk, d.pk], [b.pk, c.pk]]
    assert sorted((e["base"], e["merged"]) for e in entries(run, "merged")) == sorted(
        [(a.pk, [d.pk]), (b.pk, [c.pk])])


def test_the_rest_of_a_split_group_still_merges_and_the_dry_run_said_so():
    a, b, c = person(age_days=3), person(age_days=2), person(age_days=1)
    keep_apart(people=[a, b], actor=None, reason="different")

    dry = run_dedup(dry_run=True)
    real = run_dedup()

    said = [(e["base"], e["merged"]) for e in entries(dry, "would merge")]
    assert said == [(e["base"], e["merged"]) for e in entries(real, "merged")] == [
        (a.pk, [c.pk])]
    assert merged_into(b) is None


def test_an_undone_merge_is_not_redone_by_the_next_dedup():
    base, other = person(age_days=2), person(age_days=1)
    run_dedup()
    undo_merge(record=MergeRecord.objects.get(base=base))

    again, dry = run_dedup(), run_dedup(dry_run=True)

    assert merged_into(base) is None and merged_into(other) is None
    assert again.groups_merged == dry.groups_merged == 0
    assert again.kept_apart == dry.kept_apart == 1


def test_undo_keeps_the_base_apart_from_each_person_it_gives_back_not_them_from_each_other():
    base, first, second = person(age_days=3), person(age_days=2), person(age_days=1)
    run_dedup()
    undo_merge(record=MergeRecord.objects.get(base=base))

    run_dedup()

    assert merged_into(base) is None
    assert merged_into(second) == first.pk  # not marked: the rest of the group merges


def test_marking_a_conflicts_people_different_resolves_it():
    a, b = person(user_id="u-1"), person(user_id="u-2")
    c = person()
    assert run_dedup(dry_run=True).conflicts == 1

    keep_apart(people=[a, b, c], actor=None, reason="three different people")
    run = run_dedup()

    assert run.conflicts == 0 and run.groups_merged == 0 and run.kept_apart == 1
    assert all(merged_into(p) is None for p in (a, b, c))


def test_a_part_with_different_user_ids_is_still_a_conflict_with_its_evidence():
    a, b = person(user_id="u-1", age_days=2), person(user_id="u-2", age_days=1)
    c, d = person(), person(user_id="u-3")
    keep_apart(people=[a, b], actor=None, reason="different")

    run = run_dedup()

    conflict = DedupConflict.objects.get(run=run)
    assert conflict.kind == ReviewKind.USER_IDS
    assert run.conflicts == 1
    # Parts: [a, c or d…]: d (u-3) lands with a (u-1): a conflict; b is alone.
    assert set(conflict.user_ids) >= {"u-1", "u-3"}
    assert {row["person"]: row["user_id"] for row in conflict.evidence}[d.pk] == "u-3"
    assert merged_into(c) is None


def test_marks_and_trust_cost_one_query_per_chunk_whatever_its_size():
    for n in range(30):
        a, b = person(email=f"g{n}@example.com"), person(email=f"g{n}@example.com")
        keep_apart(people=[a, b], actor=None, reason="different")
    groups = list(group_members(first="a", last="z", lock=False))
    assert len(groups) == 30 and all(hasattr(p, "email_trust") for _, ps in groups for p in ps)

    run = DedupRun.objects.create(trigger="shell")

    with CaptureQueriesContext(connection) as queries:
        decided = decide_groups(run=run, groups=groups)

    assert len(queries) == 1
    assert decided.kept_apart == 30 and decided.mergeable == []


# --- Typed emails (issue 12: no takeover through an email nobody verified) ---------------------


def test_a_typed_email_is_left_out_of_merging_into_a_user_id_holder(strategy):
    victim = person(user_id="V-1", trust=IdentityTrust.VERIFIED, status=PersonStatus.USER,
                    age_days=5)
    duplicate = person(age_days=3)  # an email set by staff: merges as today
    attacker = person(trust=IdentityTrust.TYPED, age_days=1, phone="+1 555 0100")

    run = run_dedup()

    assert merged_into(duplicate) == victim.pk
    assert merged_into(attacker) is None
    victim.refresh_from_db()
    assert victim.phone != "+1 555 0100"
    assert run.needs_review == 1 and run.conflicts == 0
    review = DedupConflict.objects.get(run=run, kind=ReviewKind.TYPED_EMAIL)
    assert review.left_out == [attacker.pk]
    evidence = {row["person"]: row for row in review.evidence}
    assert evidence[attacker.pk]["trust"] == "typed"
    assert evidence[victim.pk] | {} == {
        "person": victim.pk, "email": EMAIL, "trust": "verified", "user_id": "V-1",
        "status": "user"}
    (entry,) = entries(run, "needs review")
    assert entry["left_out"] == [attacker.pk]


@pytest.mark.parametrize("protector", ["user status", "staff email", "verified email"])
def test_a_typed_email_is_not_merged_with_anyone_holding_proof(protector):
    fields = {
        "user status": {"status": PersonStatus.USER, "trust": IdentityTrust.CLAIMED},
        "staff email": {"trust": None},
        "verified email": {"trust": IdentityTrust.VERIFIED},
    }[protector]
    holder = person(age_days=3, **fields)
    typed = person(age_days=5, trust=IdentityTrust.TYPED)  # older: it would be the base

    run = run_dedup(dry_run=True)

    assert run.groups_merged == 0 and run.needs_review == 1
    assert entries(run, "needs review")[0]["left_out"] == [typed.pk]
    assert merged_into(holder) is None


def test_typed_and_claimed_visitors_without_proof_still_merge():
    first = person(age_days=3, trust=IdentityTrust.TYPED)
    second = person(age_days=1, trust=IdentityTrust.CLAIMED)

    run = run_dedup()

    assert merged_into(second) == first.pk and run.needs_review == 0


def test_a_review_resolved_by_keeping_apart_is_not_listed_again():
    holder = person(user_id="u-1", status=PersonStatus.USER)
    typed = person(trust=IdentityTrust.TYPED)
    assert run_dedup(dry_run=True).needs_review == 1

    keep_apart(people=[holder, typed], actor=None, reason="a visitor typed her address")
    run = run_dedup()

    assert run.needs_review == 0 and run.kept_apart == 1
    assert merged_into(typed) is None


def test_a_review_resolved_by_merging_leaves_nothing_to_review():
    holder = person(user_id="u-1", status=PersonStatus.USER)
    typed = person(trust=IdentityTrust.TYPED)
    assert run_dedup(dry_run=True).needs_review == 1

    merge_people(base=holder, others=[typed], actor=None, reason="manual")
    run = run_dedup()

    assert (run.groups_found, run.needs_review) == (0, 0)


def test_the_csv_report_names_the_marks_and_the_people_left_out():
    import csv
    import io

    from dedup.services import report_csv

    a, b = person(age_days=2), person(age_days=1)
    keep_apart(people=[a, b], actor=None, reason="different")
    holder = person(email="v@x.io", user_id="V-1")
    typed = person(email="v@x.io", trust=IdentityTrust.TYPED)

    rows = list(csv.DictReader(io.StringIO(report_csv(run_dedup(dry_run=True)))))

    by_outcome = {row["outcome"]: row for row in rows}
    assert by_outcome["kept apart"]["kept_apart"] == f"{a.pk}-{b.pk}"
    assert by_outcome["needs review"]["left_out"] == str(typed.pk)
    assert holder.pk != typed.pk
