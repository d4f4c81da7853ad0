"""“Not the same person” marks: staff's word (or an undo's) that profiles are different people.

A mark keeps a pair apart in the scheduled dedup, its dry run and the suspected duplicates
(docs/dedup.md, "Not the same person"). Its two ends are rows of the two people: a merge moves
them to the base and undo moves them back, like activities. Removing a mark keeps it, with who
removed it, when and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from dedup.models import KeptApart, KeptApartEnd
from profiles.models import MergeRecord, Person
from profiles.services.sql import execute

MAX_REASON = 500
Pair = frozenset[int]


class KeepApartRefused(ValidationError):
    """Nothing was written; the message says why in a sentence, `code` says what kind."""


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) is not None else None  # AnonymousUser: none


def _reason(reason: str) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise KeepApartRefused("Say why (a reason is required).", code="reason")
    if len(text) > MAX_REASON:
        raise KeepApartRefused("The reason is too long (at most %(max)s characters).",
                               code="reason", params={"max": MAX_REASON})
    return text


def _ids(people: Iterable[Person | int]) -> list[int]:
    return sorted({int(getattr(person, "pk", person)) for person in people})


def kept_apart_pairs(person_ids: Iterable[int]) -> set[Pair]:
    """The pairs among `person_ids` that a mark in force keeps apart: one query (the marks'
    ends on these people; a mark with both ends among them is a pair)."""
    ids = sorted(set(person_ids))
    if len(ids) < 2:
        return set()
    ends: dict[int, set[int]] = {}
    for mark_id, person_id in _ends_in_force(ids):
        ends.setdefault(mark_id, set()).add(person_id)
    return {frozenset(people) for people in ends.values() if len(people) == 2}


def _ends_in_force(ids: list[int]) -> list[tuple[int, int]]:
    """(mark, person) of the marks in force on these people. On PostgreSQL the ids go as one
    array parameter: a chunk's few thousand `IN (%s, …)` placeholders cost more to build and
    parse than the query takes to run."""
    if connection.vendor == "postgresql":
        ends, marks = KeptApartEnd._meta.db_table, KeptApart._meta.db_table
        return execute(
            f"SELECT e.mark_id, e.person_id FROM {ends} e JOIN {marks} m ON m.id = e.mark_id "
            "WHERE m.removed_at IS NULL AND e.person_id = ANY(%s::bigint[])", [ids])
    return list(KeptApartEnd.objects.filter(person_id__in=ids, mark__removed_at__isnull=True)
                .values_list("mark_id", "person_id"))


def marks_of(person: Person | int) -> list[tuple[KeptApart, Person]]:
    """A person's marks in force, newest first, each with the other person (for the page)."""
    pk = int(getattr(person, "pk", person))
    marks = (KeptApart.objects.filter(ends__person_id=pk, removed_at__isnull=True)
             .select_related("actor").prefetch_related("ends__person").distinct())
    found = []
    for mark in marks:
        others = [end.person for end in mark.ends.all() if end.person_id != pk]
        if others:  # both ends on this person: merged by hand, nothing to show
            found.append((mark, others[0]))
    return found


def mark_people(mark: KeptApart) -> list[Person]:
    """The mark's two people as they are now (its ends follow merges)."""
    return [end.person for end in mark.ends.all()]


def keep_apart(
    *, people: Sequence[Person | int], actor: Any, reason: str,
    apart_from: Sequence[Person | int] | None = None,
) -> list[KeptApart]:
    """Mark every pair of `people` as not the same person — or, with `apart_from`, each of
    `people` against each of `apart_from` only (a person left out for review against those who
    hold proof, who may still be merged with each other). Returns the pairs' marks (the ones
    that already existed are kept as they are: safe to repeat).

    Refuses fewer than two people, people who do not exist, merged profiles (mark the profile
    that absorbed them) and an empty reason. The people are locked in id order, as a merge
    locks them, so a mark and a merge of the same people never cross.
    """
    marked = _ids(people)
    against = _ids(apart_from or [])
    ids = sorted({*marked, *against})
    text = _reason(reason)
    pairs = _pairs(marked, against) if apart_from is not None else \
        list(combinations(marked, 2))
    if len(ids) < 2 or not pairs:
        raise KeepApartRefused("Choose at least two different people to keep apart.",
                               code="too_few")
    with transaction.atomic():
        # FOR UPDATE in id order, as the merge engine locks (profiles.services.merging.locking).
        locked = Person.objects.select_for_update().filter(pk__in=ids).order_by("pk").in_bulk()
        missing = [pk for pk in ids if pk not in locked]
        if missing:
            raise KeepApartRefused("No person #%(ids)s (deleted since?).", code="missing",
                                   params={"ids": ", #".join(map(str, missing))})
        for pk in ids:
            into = locked[pk].merged_into_id
            if into is not None:
                raise KeepApartRefused(
                    "%(name)s (#%(id)s) was merged into #%(into)s: mark that profile instead.",
                    code="tombstone",
                    params={"name": locked[pk].display_name, "id": pk, "into": into})
        return _mark_pairs(ids, pairs, actor=_actor(actor), reason=text)


def _pairs(people: list[int], apart_from: list[int]) -> list[tuple[int, int]]:
    found = {tuple(sorted((a, b))) for a in people for b in apart_from if a != b}
    return sorted(found)


def _mark_pairs(ids: list[int], pairs: list[tuple[int, int]], *, actor: Any, reason: str
                ) -> list[KeptApart]:
    existing = _marks_between(ids)
    wanted = [pair for pair in pairs if frozenset(pair) not in existing]
    return [*(existing[frozenset(pair)] for pair in pairs if frozenset(pair) in existing),
            *_create(wanted, actor=actor, reason=reason)]


def _marks_between(ids: list[int]) -> dict[Pair, KeptApart]:
    """The marks in force between two of `ids`, by pair."""
    ends: dict[int, set[int]] = {}
    for mark_id, person_id in _ends_in_force(ids):
        ends.setdefault(mark_id, set()).add(person_id)
    pairs = {mark_id: frozenset(people) for mark_id, people in ends.items() if len(people) == 2}
    marks = KeptApart.objects.in_bulk(list(pairs))
    return {pair: marks[mark_id] for mark_id, pair in pairs.items()}


def _create(pairs: list[tuple[int, int]], *, actor: Any, reason: str) -> list[KeptApart]:
    if not pairs:
        return []
    now = timezone.now()
    marks = KeptApart.objects.bulk_create(
        [KeptApart(actor=actor, reason=reason, created_at=now) for _ in pairs])
    KeptApartEnd.objects.bulk_create(
        KeptApartEnd(mark=mark, person_id=pk, original_person_id=pk)
        for mark, pair in zip(marks, pairs, strict=True) for pk in pair)
    return marks


def remove_kept_apart(*, mark: KeptApart | int, actor: Any, reason: str) -> KeptApart:
    """Take a mark back: the pair may be merged again by the dedup. The mark stays on record
    with who removed it, when and why. Refuses a mark already removed."""
    text = _reason(reason)
    pk = int(getattr(mark, "pk", mark))
    with transaction.atomic():
        found = KeptApart.objects.select_for_update().filter(pk=pk).first()
        if found is None:
            raise KeepApartRefused("No mark #%(id)s.", code="missing", params={"id": pk})
        if found.removed_at is not None:
            raise KeepApartRefused("This mark was already removed.", code="already_removed")
        found.removed_at, found.removed_by, found.removal_reason = (
            timezone.now(), _actor(actor), text)
        found.save(update_fields=["removed_at", "removed_by", "removal_reason"])
        return found


def keep_apart_after_undo(*, record: MergeRecord, actor: Any) -> list[KeptApart]:
    """Undo's word: the base and each person it gives back are not the same person, so the
    next dedup does not merge them again. Called inside the undo's transaction (the people
    are locked there)."""
    if not record.merged_ids:
        return []
    text = f"Merge #{record.pk} was undone: these people are not to be merged again."
    existing = kept_apart_pairs([record.base_id, *record.merged_ids])
    pairs = [(record.base_id, merged_id) for merged_id in record.merged_ids
             if frozenset((record.base_id, merged_id)) not in existing]
    return _create(pairs, actor=_actor(actor), reason=text)
