"""Property: run_dedup leaves the same state as merge_people called group by group.

Each example builds the same random groups twice, under two email domains: copy A is merged
by calling the merge engine group by group (the definition of right), copy B by run_dedup
(the set-based chunk path, several groups per chunk). Their canonical states (ids replaced by
positions, "now" timestamps reduced to set/unset) must be equal: people, every moved row, the
journal (snapshot, moved, decisions), history and the "merged" activities.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dedup.models import DedupRun
from dedup.services import run_dedup
from profiles.models import Person
from profiles.services.merging import choose_base, merge_people
from tests.dedup.helpers import EPOCH, build_copy, canonical_state

pytestmark = pytest.mark.django_db

maybe_text = st.sampled_from(["", "", "x", "y", "Zed"])
maybe_date = st.one_of(st.none(), st.integers(0, 5).map(lambda d: EPOCH + timedelta(days=d)))

person_spec = st.fixed_dictionaries({
    "case": st.sampled_from(["{}", "{} ", " {}", "{}"]),
    "upper": st.booleans(),
    "user_id": st.sampled_from([None, None, None, "U1", "U2"]),
    "status": st.sampled_from(["visitor", "user"]),
    "updated": st.integers(0, 3),  # ties on Last Updated are common: the id decides
    "phone": maybe_text, "city": maybe_text, "company": maybe_text, "name": maybe_text,
    "attributes": st.dictionaries(st.sampled_from(["plan", "size", "lang"]), maybe_text,
                                  max_size=2),
    "page_views": st.integers(0, 5), "visits": st.integers(0, 3),
    "last_seen": maybe_date, "last_contacted": maybe_date, "last_heard_from": maybe_date,
    "first_seen": maybe_date,
    "activities": st.integers(0, 2),
    "tags": st.sets(st.sampled_from(["t1", "t2", "t3"]), max_size=2),
    "emails": st.sets(st.sampled_from(["e1", "e2"]), max_size=2),
    "anon": st.booleans(),
})
groups_spec = st.lists(st.lists(person_spec, min_size=1, max_size=4), min_size=1, max_size=5)


def merge_by_engine(people: list[Person]) -> None:
    run = DedupRun.objects.create(trigger="shell", status="succeeded")
    by_email: dict[str, list[Person]] = {}
    for p in Person.objects.filter(pk__in=[p.pk for p in people]):
        by_email.setdefault(p.email_normalized, []).append(p)
    for email in sorted(by_email):
        group = by_email[email]
        if len(group) < 2 or len({p.user_id for p in group if p.user_id}) > 1:
            continue
        base = choose_base(group)
        merge_people(base=base, others=[p for p in group if p.pk != base.pk],
                     reason="dedup", dedup_run=run)


class _Rollback(Exception):
    pass


@settings(max_examples=25, deadline=None,
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(groups=groups_spec)
def test_run_dedup_equals_merge_people_group_by_group(django_settings, groups):
    django_settings.DEDUP_CHUNK_GROUPS = 2  # several chunks, several groups per chunk
    try:
        with transaction.atomic():
            copy_a = build_copy(groups, "a.test")
            merge_by_engine(copy_a)
            copy_b = build_copy(groups, "b.test")
            run_dedup()
            expected = canonical_state(copy_a, domain="a.test")
            actual = canonical_state(copy_b, domain="b.test")
            assert actual == expected
            raise _Rollback
    except _Rollback:
        pass


@pytest.fixture
def django_settings(settings):
    return settings
