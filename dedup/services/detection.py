"""Duplicate detection: one GROUP BY over live people on the indexed normalized email."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from profiles.models import Person
from profiles.services.trust import with_email_trust


@dataclass(frozen=True)
class ChunkPlan:
    first_email: str
    last_email: str
    groups: int


def live_with_email() -> QuerySet[Person]:
    return Person.objects.filter(merged_into__isnull=True).exclude(email_normalized="")


def duplicate_emails(*, first: str | None = None, last: str | None = None) -> QuerySet:
    """`email_normalized` values held by two or more live people, in email order."""
    people = live_with_email()
    if first is not None:
        people = people.filter(email_normalized__gte=first)
    if last is not None:
        people = people.filter(email_normalized__lte=last)
    return (
        people.order_by()
        .values("email_normalized")
        # count(*), not count(id): the partial index dedup_live_email_idx then answers the
        # query alone (index-only scan + GroupAggregate), see dedup/migrations/0004.
        .annotate(n=Count("*"))
        .filter(n__gt=1)
        .order_by("email_normalized")
    )


def plan_chunks(*, chunk_groups: int) -> tuple[int, list[ChunkPlan]]:
    """Split the duplicate groups into email ranges of at most `chunk_groups` groups.

    Returns (groups found, chunk plans). Ranges are disjoint, so chunks can run on several
    workers at once without touching the same people.
    """
    plans: list[ChunkPlan] = []
    found = 0
    batch: list[str] = []
    for email in duplicate_emails().values_list("email_normalized", flat=True).iterator(
        chunk_size=10_000
    ):
        found += 1
        batch.append(email)
        if len(batch) == chunk_groups:
            plans.append(ChunkPlan(batch[0], batch[-1], len(batch)))
            batch = []
    if batch:
        plans.append(ChunkPlan(batch[0], batch[-1], len(batch)))
    return found, plans


def group_members(*, first: str, last: str, lock: bool) -> Iterator[tuple[str, list[Person]]]:
    """Live people of the duplicate groups in [first, last], grouped by email.

    With `lock`, every member is locked `FOR UPDATE` in id order (the order the merge engine
    locks in) before anything is read, so the groups are re-read after locking. Each person
    comes with `email_trust` (how their email was learned: groups.py leaves typed ones out),
    read in the same statement: one index look-up per person, no query of its own.
    """
    emails = duplicate_emails(first=first, last=last).values("email_normalized")
    people = with_email_trust(live_with_email().filter(
        email_normalized__gte=first, email_normalized__lte=last, email_normalized__in=emails
    ))
    if lock:
        people = people.select_for_update().order_by("id")
    groups: dict[str, list[Person]] = {}
    for person in people.order_by("id"):
        groups.setdefault(person.email_normalized, []).append(person)
    for email in sorted(groups):
        if len(groups[email]) > 1:
            yield email, groups[email]
