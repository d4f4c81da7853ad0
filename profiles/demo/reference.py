"""The benchmark reference set (docs/rules.md, Scale), written in bulk.

People come in chunks; each chunk is written with COPY on PostgreSQL (bulk_create elsewhere), in
one transaction per chunk, so a million people with ten million activities take minutes.
A share of people sit in duplicate email groups of 2–5 whose emails differ only in case and
whitespace; a few groups hold two different user IDs (dedup conflicts).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from profiles.demo.writer import TableWriter
from profiles.models import Person
from profiles.naming import friendly_name
from profiles.services.history import SEEDED, write_stored_history

CITIES = ("Paris", "Lyon", "Berlin", "Madrid", "Warsaw", "London", "Lisbon", "Rome", "Oslo")
COUNTRIES = ("FR", "FR", "DE", "ES", "PL", "GB", "PT", "IT", "NO")
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
SYSTEMS = ("Windows", "macOS", "iOS", "Android", "Linux")
PAGES = ("/", "/shoes", "/shoes/runner-2", "/sale", "/bags", "/bags/tote", "/cart", "/checkout")
TAGS = ("newsletter", "vip", "wholesale", "churn-risk", "beta")


@dataclass
class ReferenceStats:
    people: int = 0
    duplicate_groups: int = 0
    people_in_groups: int = 0
    conflict_groups: int = 0
    activities: int = 0
    identities: int = 0
    tags: int = 0
    extra: dict = field(default_factory=dict)


def email_variant(email: str, index: int) -> str:
    """Same address, different spelling: case and surrounding whitespace."""
    variants = (email, email.upper(), f"  {email} ", email.title(), f"{email}\t")
    return variants[index % len(variants)]


def plan_groups(rng: random.Random, people: int, duplicate_share: float) -> list[int]:
    """Sizes of duplicate groups (2–5) covering about `duplicate_share` of the people."""
    target, sizes = int(people * duplicate_share), []
    while sum(sizes) < target:
        sizes.append(min(rng.randint(2, 5), max(2, target - sum(sizes))))
    return sizes


def build_reference_set(
    *,
    people: int,
    seed: int = 42,
    activities_per_person: int = 10,
    duplicate_share: float = 0.10,
    conflict_share: float = 0.03,
    chunk_size: int = 20_000,
    progress: Callable[[int, int], None] | None = None,
) -> ReferenceStats:
    rng = random.Random(seed)
    stats = ReferenceStats()
    writer = TableWriter(connection)
    people_rows = _person_plan(rng, people, duplicate_share, conflict_share, stats)
    next_ids = writer.next_ids(["profiles_person", "profiles_activity", "profiles_identity",
                                "profiles_persontag"])
    tag_ids = _ensure_tags()
    now = timezone.now()
    for start in range(0, people, chunk_size):
        chunk = people_rows[start : start + chunk_size]
        with transaction.atomic():
            _write_chunk(writer, rng, chunk, next_ids, tag_ids, now, activities_per_person, stats)
        if progress:
            progress(min(start + chunk_size, people), people)
    writer.reset_sequences(next_ids)
    stats.people = people
    return stats


def _person_plan(
    rng: random.Random, people: int, duplicate_share: float, conflict_share: float,
    stats: ReferenceStats,
) -> list[dict]:
    """Decide emails, user IDs and status for every person before writing anything."""
    rows: list[dict] = []
    for group_index, size in enumerate(plan_groups(rng, people, duplicate_share)):
        email = f"dup{group_index}.{rng.getrandbits(24):06x}@example.com"
        conflict = rng.random() < conflict_share
        for member in range(size):
            has_uid = (member == 0 and rng.random() < 0.5) or (conflict and member == 1)
            rows.append({"email": email_variant(email, member), "uid": has_uid})
        stats.duplicate_groups += 1
        stats.people_in_groups += size
        stats.conflict_groups += int(conflict)
    while len(rows) < people:
        anonymous = rng.random() < 0.3
        rows.append({
            "email": "" if anonymous else f"p{len(rows)}.{rng.getrandbits(24):06x}@example.org",
            "uid": not anonymous and rng.random() < 0.4,
        })
    rng.shuffle(rows)
    return rows[:people]


def _ensure_tags() -> list[int]:
    from profiles.models import Tag

    return [Tag.objects.get_or_create(name=name)[0].pk for name in TAGS]


def _write_chunk(
    writer: TableWriter, rng: random.Random, chunk: list[dict], next_ids: dict[str, int],
    tag_ids: list[int], now: datetime, activities_per_person: int, stats: ReferenceStats,
) -> None:
    persons, activities, identities, person_tags = [], [], [], []
    for plan in chunk:
        pid = next_ids["profiles_person"]
        next_ids["profiles_person"] += 1
        person = _person_row(rng, pid, plan, now)
        persons.append(person)
        for row in _activity_rows(rng, pid, person, activities_per_person):
            activities.append((next_ids["profiles_activity"], *row))
            next_ids["profiles_activity"] += 1
        for kind, value in _identity_values(rng, pid, plan, person):
            identities.append((next_ids["profiles_identity"], pid, pid, kind, value, now))
            next_ids["profiles_identity"] += 1
        if rng.random() < 0.2:
            person_tags.append(
                (next_ids["profiles_persontag"], pid, pid, rng.choice(tag_ids), now)
            )
            next_ids["profiles_persontag"] += 1
    writer.write("profiles_person", PERSON_COLUMNS, persons)
    writer.write("profiles_activity", ACTIVITY_COLUMNS, activities)
    writer.write("profiles_identity", IDENTITY_COLUMNS, identities)
    writer.write("profiles_persontag", PERSONTAG_COLUMNS, person_tags)
    write_stored_history(model=Person, ids=[person[0] for person in persons],
                         history_type="+", actor=None, reason=SEEDED, at=now)
    stats.activities += len(activities)
    stats.identities += len(identities)
    stats.tags += len(person_tags)


PERSON_COLUMNS = (
    "id", "user_id", "status", "name", "email", "phone", "company", "city", "country", "os",
    "browser", "attributes", "avatar_seed", "created_at", "updated_at", "first_seen", "last_seen",
    "last_contacted", "last_heard_from", "page_views", "visits",
)
ACTIVITY_COLUMNS = (
    "id", "person_id", "original_person_id", "kind", "occurred_at", "properties", "source",
    "recorded_at",
)
IDENTITY_COLUMNS = ("id", "person_id", "original_person_id", "kind", "value", "created_at")
PERSONTAG_COLUMNS = ("id", "person_id", "original_person_id", "tag_id", "added_at")


def _person_row(rng: random.Random, pid: int, plan: dict, now: datetime) -> tuple:
    created = now - timedelta(days=rng.randint(1, 900), seconds=rng.randint(0, 86_400))
    updated = min(created + timedelta(days=rng.randint(0, 60)), now)
    last_seen = min(updated + timedelta(hours=rng.randint(0, 500)), now)
    email = plan["email"]
    status = "user" if email and rng.random() < 0.7 else "visitor"
    city = rng.randrange(len(CITIES))
    return (
        pid, f"u{pid}" if plan["uid"] else None, status,
        friendly_name(rng) if not email else f"Customer {pid}", email,
        f"+33 6 {rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.3 else "",
        "", CITIES[city] if rng.random() < 0.6 else "", COUNTRIES[city], rng.choice(SYSTEMS),
        rng.choice(BROWSERS),
        json.dumps({"plan": rng.choice(("free", "pro"))} if rng.random() < 0.3 else {}),
        f"{rng.getrandbits(64):016x}", created, updated, created, last_seen,
        None if rng.random() < 0.7 else last_seen, None if rng.random() < 0.5 else last_seen,
        rng.randint(0, 40), rng.randint(1, 12),
    )


def _activity_rows(
    rng: random.Random, pid: int, person: tuple, count: int
) -> Iterator[tuple]:
    created, last_seen = person[13], person[16]
    span = max(int((last_seen - created).total_seconds()), 1)
    for _ in range(count):
        when = created + timedelta(seconds=rng.randrange(span))
        roll = rng.random()
        if roll < 0.75:
            kind, props = "page_view", {"url": rng.choice(PAGES)}
        elif roll < 0.88:
            kind, props = "event", {"name": rng.choice(("signup_started", "added_to_cart"))}
        elif roll < 0.95:
            kind, props = rng.choice(("email_sent", "email_opened", "email_clicked")), {
                "campaign": "spring"}
        else:
            kind, props = "purchase", {"amount": rng.randint(10, 300), "currency": "EUR"}
        yield (pid, pid, kind, when, json.dumps(props), "web", when)


def _identity_values(
    rng: random.Random, pid: int, plan: dict, person: tuple
) -> Iterator[tuple[str, str]]:
    yield "anonymous_id", f"anon-{pid:09d}-{rng.getrandbits(32):08x}"
    if person[1]:
        yield "user_id", person[1]
    elif plan["email"] and rng.random() < 0.5:
        yield "email", plan["email"].strip().lower()

