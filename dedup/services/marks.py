"""“Not the same person” marks: staff's word (or an undo's) that profiles are different people.

A mark keeps a pair apart in the scheduled dedup, its dry run and the suspected duplicates
(docs/dedup.md, "Not the same person"). Marks are rows of both people: a merge moves them to
the base and undo moves them back, like activities. Removing a mark keeps it, with who removed
it, when and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dedup.models import KeptApart
from profiles.models import MergeRecord, Person

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
    """The pairs among `person_ids` that hold an active mark: one query, in either direction."""
    ids = sorted(set(person_ids))
    if len(ids) < 2:
        return set()
    rows = KeptApart.objects.filter(
        removed_at__isnull=True, person_id__in=ids, other_id__in=ids
    ).values_list("person_id", "other_id")
    return {frozenset(pair) for pair in rows if pair[0] != pair[1]}


def marks_of(person: Person | int) -> list[KeptApart]:
    """A person's active marks, either end, newest first (for the person page)."""
    pk = int(getattr(person, "pk", person))
    return list(
        KeptApart.objects.filter(Q(person_id=pk) | Q(other_id=pk), removed_at__isnull=True)
        .exclude(person_id=pk, other_id=pk)
        .select_related("person", "other", "actor")
    )


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
    existing = {
        frozenset((mark.person_id, mark.other_id)): mark
        for mark in KeptApart.objects.filter(
            removed_at__isnull=True, person_id__in=ids, other_id__in=ids)
    }
    now = timezone.now()
    new = [
        KeptApart(person_id=a, original_person_id=a, other_id=b, original_other_id=b,
                  actor=actor, reason=reason, created_at=now)
        for a, b in pairs if frozenset((a, b)) not in existing
    ]
    KeptApart.objects.bulk_create(new)
    return [*(existing[frozenset(pair)] for pair in pairs if frozenset(pair) in existing), *new]


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
    pairs = [[record.base_id, merged_id] for merged_id in record.merged_ids]
    existing = kept_apart_pairs([record.base_id, *record.merged_ids])
    now, who = timezone.now(), _actor(actor)
    new = [
        KeptApart(person_id=a, original_person_id=a, other_id=b, original_other_id=b,
                  actor=who, reason=text, created_at=now)
        for a, b in pairs if frozenset((a, b)) not in existing
    ]
    return KeptApart.objects.bulk_create(new)
