"""Suspected duplicates: people who look like the same real person.

Every lookup is on an indexed column (email_normalized, phone, name), among live people only,
so the sidebar and the suspected-duplicates view stay fast at a million people.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from profiles.models import Person

SIDEBAR_LIMIT = 10

# Group kinds of the suspected-duplicates view: a label, and the Person column grouped on.
GROUP_KINDS = {"email": ("Same email", "email_normalized"), "phone": ("Same phone", "phone")}


@dataclass
class Suspect:
    """Another live person and why they look like a duplicate (e.g. ["same email"])."""

    person: Person
    reasons: list[str] = field(default_factory=list)


@dataclass
class DuplicateGroup:
    """Live people sharing `key`: one part of them when "not the same person" marks split the
    people of that key (`kept_apart`: the marked pairs among them). No `people`: every person
    of the key is kept apart from the others, nothing to suggest."""

    kind: str
    key: str
    people: list[Person]
    kept_apart: list[tuple[Person, Person]] = field(default_factory=list)

    @property
    def user_ids(self) -> list[str]:
        return sorted({p.user_id for p in self.people if p.user_id})

    @property
    def is_conflict(self) -> bool:
        """Different user IDs: never merged as a whole (docs/dedup.md, conflicts)."""
        return len(self.user_ids) > 1

    @property
    def without_user_id(self) -> list[Person]:
        return [p for p in self.people if not p.user_id]

    @property
    def user_id_holders(self) -> list[Person]:
        return [p for p in self.people if p.user_id]


def live_people() -> QuerySet[Person]:
    return Person.objects.filter(merged_into__isnull=True)


def suspected_duplicates_of(person: Person, *, limit: int = SIDEBAR_LIMIT) -> list[Suspect]:
    """Live people sharing the normalized email, the phone, or the name and city of `person`."""
    others = live_people().exclude(pk=person.pk).exclude(pk__in=kept_apart_from(person.pk))
    others = others.order_by("id")
    lookups: list[tuple[str, QuerySet[Person]]] = []
    if person.email_normalized:
        lookups.append(("same email", others.filter(email_normalized=person.email_normalized)))
    if person.phone.strip():
        lookups.append(("same phone", others.filter(phone=person.phone)))
    if person.name.strip() and person.city.strip():
        # Name first: the name index narrows it down, the city check runs on a few rows.
        lookups.append(("same name and city", others.filter(name=person.name, city=person.city)))
    found: dict[int, Suspect] = {}
    for reason, queryset in lookups:
        for other in queryset[:limit]:
            found.setdefault(other.pk, Suspect(person=other)).reasons.append(reason)
    return sorted(found.values(), key=lambda suspect: suspect.person.pk)[:limit]


@dataclass
class KeyPage:
    """One page of group keys, paged by key (no OFFSET, no full count: fast on every page)."""

    keys: list[str]
    has_next: bool
    has_previous: bool

    @property
    def next_after(self) -> str | None:
        return self.keys[-1] if self.has_next and self.keys else None

    @property
    def previous_before(self) -> str | None:
        return self.keys[0] if self.has_previous and self.keys else None


def duplicate_keys(kind: str) -> QuerySet:
    """Values of `kind`'s column held by two or more live people (GROUP BY … HAVING > 1).

    `> ''` rather than `<> ''`: a range lets the index scan start after the many empty
    values instead of reading and discarding them.
    """
    column = GROUP_KINDS[kind][1]
    return (
        live_people()
        .filter(**{f"{column}__gt": ""})
        .values(column)
        .annotate(size=Count("id"))
        .filter(size__gt=1)
        .values_list(column, flat=True)
    )


def duplicate_key_page(
    kind: str, *, after: str | None = None, before: str | None = None, size: int = 25
) -> KeyPage:
    """The `size` keys after `after` (or before `before`), walking the column's index."""
    column = GROUP_KINDS[kind][1]
    keys = duplicate_keys(kind)
    if before is not None:
        found = list(keys.filter(**{f"{column}__lt": before}).order_by(f"-{column}")[:size + 1])
        return KeyPage(keys=found[:size][::-1], has_next=True, has_previous=len(found) > size)
    if after is not None:
        keys = keys.filter(**{f"{column}__gt": after})
    found = list(keys.order_by(column)[:size + 1])
    return KeyPage(keys=found[:size], has_next=len(found) > size, has_previous=after is not None)


def kept_apart_from(person_id: int) -> set[int]:
    """The people marked as not the same person as `person_id` (one query)."""
    from dedup.models import KeptApartEnd

    marks = KeptApartEnd.objects.filter(person_id=person_id, mark__removed_at__isnull=True)
    others = KeptApartEnd.objects.filter(mark__in=marks.values("mark_id"))
    return set(others.values_list("person_id", flat=True)) - {person_id}


def duplicate_groups(kind: str, keys: list[str]) -> list[DuplicateGroup]:
    """The live people of each key (one page of `duplicate_keys`), in key order, split around
    "not the same person" marks as the dedup splits them (one query for the page's marks)."""
    from dedup.services.groups import split_apart
    from dedup.services.marks import kept_apart_pairs

    column = GROUP_KINDS[kind][1]
    members: dict[str, list[Person]] = {key: [] for key in keys}
    for person in live_people().filter(**{f"{column}__in": keys}).order_by("id"):
        members[getattr(person, column)].append(person)
    pairs = kept_apart_pairs(p.pk for people in members.values() for p in people)
    groups = []
    for key, people in members.items():
        by_id = {p.pk: p for p in people}
        marked = [(by_id[a], by_id[b]) for a, b in
                  sorted(sorted(pair) for pair in pairs if pair <= by_id.keys())]
        parts = split_apart(people, pairs) if marked else [people]
        shown = [sorted(part, key=lambda p: p.pk) for part in parts if len(part) > 1]
        for part in shown or [[]]:
            groups.append(DuplicateGroup(kind=kind, key=key, people=part, kept_apart=marked))
    return groups
