"""The benchmark reference set (docs/rules.md, Scale), written in bulk.

People come in chunks; each chunk is written with COPY on PostgreSQL (executemany elsewhere),
in one transaction per chunk, so a million people with ten million activities take minutes.
A share of people sit in duplicate email groups of 2–5 whose emails differ only in case and
whitespace; a few groups hold two different user IDs (dedup conflicts); a few chatted.

Rows are model instances, written column by column as the model defines them (a field added
later is written with its default). A person's counters, dates and profiling attributes are
what the recording path's own updaters make of their timeline (`events.collect_changes`), so
they agree with it as a live profile's do; support's chat replies, which no website call
records, set `last_contacted` as the showcase's do. The tables written are then analyzed:
the planner has statistics as soon as the data is there (autovacuum may be off or behind).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from profiles.demo.writer import TableWriter, constructor
from profiles.models import (
    Activity,
    ActivityKind,
    ActivitySource,
    Conversation,
    Identity,
    Person,
    PersonStatus,
    PersonTag,
)
from profiles.naming import friendly_name
from profiles.services.events import collect_changes
from profiles.services.history import SEEDED, write_stored_history

CITIES = ("Paris", "Lyon", "Berlin", "Madrid", "Warsaw", "London", "Lisbon", "Rome", "Oslo")
COUNTRIES = ("FR", "FR", "DE", "ES", "PL", "GB", "PT", "IT", "NO")
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
SYSTEMS = ("Windows", "macOS", "iOS", "Android", "Linux")
PAGES = ("/", "/shoes", "/shoes/runner-2", "/sale", "/bags", "/bags/tote", "/cart", "/checkout")
# The shop section a page view is in, sent as its `category` property (segments such as "3 sale
# page views in 30 days" read it); derived from the page, so it draws nothing from the seed.
PAGE_CATEGORIES = {"/shoes": "shoes", "/shoes/runner-2": "shoes", "/sale": "sale",
                   "/bags": "bags", "/bags/tote": "bags"}
TAGS = ("newsletter", "vip", "wholesale", "churn-risk", "beta")
CHAT_SHARE = 0.05
VISITOR_LINES = ("Hi! Do you ship to my country?", "Is the Runner 2 true to size?",
                 "Can I change my order?", "Thanks!")
AGENT_LINES = ("We do, in 3-5 days.", "Yes, take your usual size.", "Of course, which one?")
# Tables in the order rows are written (foreign keys point backwards).
MODELS: tuple[type[Model], ...] = (Person, Conversation, Activity, Identity, PersonTag)
new_person, new_conversation, new_activity, new_identity, new_tag = map(constructor, MODELS)


@dataclass
class ReferenceStats:
    people: int = 0
    duplicate_groups: int = 0
    people_in_groups: int = 0
    conflict_groups: int = 0
    activities: int = 0
    identities: int = 0
    tags: int = 0
    conversations: int = 0
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
    ids = _Ids(writer.next_ids(MODELS))
    tag_ids = _ensure_tags()
    now = timezone.now()
    for start in range(0, people, chunk_size):
        chunk = people_rows[start : start + chunk_size]
        with transaction.atomic():
            _write_chunk(writer, rng, chunk, ids, tag_ids, now, activities_per_person, stats)
        if progress:
            progress(min(start + chunk_size, people), people)
    writer.reset_sequences(MODELS)
    writer.analyze([*MODELS, Person.history.model])
    stats.people = people
    return stats


class _Ids:
    """The next free id of each table (rows are written with explicit ids)."""

    def __init__(self, first: dict[type[Model], int]) -> None:
        self.next = first

    def take(self, model: type[Model]) -> int:
        value = self.next[model]
        self.next[model] += 1
        return value


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
    writer: TableWriter, rng: random.Random, chunk: list[dict], ids: _Ids,
    tag_ids: list[int], now: datetime, activities_per_person: int, stats: ReferenceStats,
) -> None:
    rows: dict[type[Model], list[Model]] = defaultdict(list)
    for plan in chunk:
        person = _person(rng, ids.take(Person), plan, now)
        timeline = list(_web_activities(rng, ids, person, activities_per_person, now))
        if rng.random() < CHAT_SHARE:
            conversation, lines = _chat(rng, ids, person, timeline, now)
            rows[Conversation].append(conversation)
            timeline += lines
        # What the website's calls would have made of this timeline (support's replies are
        # not website calls: they only say when we last reached them).
        collect_changes(person=person, activities=[a for a in timeline if not _reply(a)])
        replies = [a.occurred_at for a in timeline if _reply(a)]
        person.last_contacted = max(replies, default=None)
        rows[Person].append(person)
        rows[Activity] += timeline
        rows[Identity] += [
            new_identity(id=ids.take(Identity), person_id=person.pk, original_person_id=person.pk,
                     kind=kind, value=value, created_at=person.created_at)
            for kind, value in _identity_values(rng, plan, person)
        ]
        if rng.random() < 0.2:
            rows[PersonTag].append(new_tag(
                id=ids.take(PersonTag), person_id=person.pk, original_person_id=person.pk,
                tag_id=rng.choice(tag_ids), added_at=now))
    for model in MODELS:
        writer.write(model, rows[model])
    write_stored_history(model=Person, ids=[person.pk for person in rows[Person]],
                         history_type="+", actor=None, reason=SEEDED, at=now)
    stats.activities += len(rows[Activity])
    stats.identities += len(rows[Identity])
    stats.tags += len(rows[PersonTag])
    stats.conversations += len(rows[Conversation])


def _person(rng: random.Random, pid: int, plan: dict, now: datetime) -> Person:
    """A person as created, before any activity (the updaters then set what they teach)."""
    created = now - timedelta(days=rng.randint(1, 900), seconds=rng.randint(0, 86_400))
    email = plan["email"]
    city = rng.randrange(len(CITIES))
    return new_person(
        id=pid,
        user_id=f"u{pid}" if plan["uid"] else None,
        status=PersonStatus.USER if email and rng.random() < 0.7 else PersonStatus.VISITOR,
        name=friendly_name(rng) if not email else f"Customer {pid}",
        email=email,
        phone=f"+33 6 {rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.3 else "",
        city=CITIES[city] if rng.random() < 0.6 else "",
        country=COUNTRIES[city],
        os=rng.choice(SYSTEMS),
        browser=rng.choice(BROWSERS),
        attributes={"plan": rng.choice(("free", "pro"))} if rng.random() < 0.3 else {},
        avatar_seed=f"{rng.getrandbits(64):016x}",
        created_at=created,
        updated_at=min(created + timedelta(days=rng.randint(0, 60)), now),
    )


def _web_activities(
    rng: random.Random, ids: _Ids, person: Person, count: int, now: datetime
) -> Iterator[Activity]:
    """What the website sent: spread over the weeks after the profile was created."""
    span = max(int((min(person.updated_at + timedelta(hours=500), now)
                    - person.created_at).total_seconds()), 1)
    for _ in range(count):
        when = person.created_at + timedelta(seconds=rng.randrange(span))
        roll = rng.random()
        if roll < 0.75:
            page = rng.choice(PAGES)
            kind, props = ActivityKind.PAGE_VIEW, {"url": page}
            if page in PAGE_CATEGORIES:
                props["category"] = PAGE_CATEGORIES[page]
        elif roll < 0.88:
            kind, props = ActivityKind.EVENT, {
                "name": rng.choice(("signup_started", "added_to_cart"))}
        elif roll < 0.95:
            kind, props = rng.choice((ActivityKind.EMAIL_SENT, ActivityKind.EMAIL_OPENED,
                                      ActivityKind.EMAIL_CLICKED)), {"campaign": "spring"}
        else:
            kind, props = ActivityKind.PURCHASE, {"amount": rng.randint(10, 300),
                                                  "currency": "EUR"}
        yield _activity(ids, person, kind, when, props, ActivitySource.WEB)


def _chat(
    rng: random.Random, ids: _Ids, person: Person, timeline: list[Activity], now: datetime
) -> tuple[Conversation, list[Activity]]:
    """A chat during their last visit: the visitor's lines and support's replies, one a
    minute, with the properties a live chat message has (chat.chat_message, showcase)."""
    start = min(max((a.occurred_at for a in timeline), default=person.created_at)
                + timedelta(minutes=1), now - timedelta(minutes=10))
    conversation = new_conversation(id=ids.take(Conversation), person_id=person.pk,
                                original_person_id=person.pk, started_at=start)
    lines = []
    for minute in range(rng.randint(1, 4)):
        author = "visitor" if minute % 2 == 0 else "agent"
        text = rng.choice(VISITOR_LINES if author == "visitor" else AGENT_LINES)
        message = _activity(ids, person, ActivityKind.CHAT_MESSAGE,
                            start + timedelta(minutes=minute),
                            {"text": text, "author": author}, ActivitySource.CHAT)
        message.conversation_id = conversation.pk
        lines.append(message)
    conversation.last_message_at = lines[-1].occurred_at
    return conversation, lines


def _reply(activity: Activity) -> bool:
    return activity.kind == ActivityKind.CHAT_MESSAGE and activity.properties["author"] == "agent"


def _activity(ids: _Ids, person: Person, kind: str, when: datetime, properties: dict,
              source: str) -> Activity:
    return new_activity(id=ids.take(Activity), person_id=person.pk, original_person_id=person.pk,
                    kind=kind, occurred_at=when, properties=properties, source=source,
                    recorded_at=when)


def _identity_values(
    rng: random.Random, plan: dict, person: Person
) -> Iterator[tuple[str, str]]:
    yield "anonymous_id", f"anon-{person.pk:09d}-{rng.getrandbits(32):08x}"
    if person.user_id:
        yield "user_id", person.user_id
    elif plan["email"] and rng.random() < 0.5:
        yield "email", plan["email"].strip().lower()
