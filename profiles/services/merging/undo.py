"""undo_merge: put a merge back exactly, or refuse and say why (docs/rules.md, Undo)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dedup.services.marks import keep_apart_after_undo
from profiles.models import Activity, ActivityKind, ActivitySource, MergeRecord, Person
from profiles.services.history import undo_reason
from profiles.services.merging import hooks
from profiles.services.merging.errors import UndoRefused
from profiles.services.merging.fields import ADDED_UP, ATTRIBUTES_PREFIX, attributes_of
from profiles.services.merging.journal import merge_of, read_decisions, save_with_history
from profiles.services.merging.locking import lock_people
from profiles.services.merging.merge import with_retry
from profiles.services.merging.moves import move_back
from profiles.services.merging.state import python_value, restore_snapshot


def undo_merge(*, record: MergeRecord | int, actor: Any = None) -> None:
    """Restore the merged people, their values and exactly the rows the merge moved."""
    record_id = int(getattr(record, "pk", record))
    if actor is not None and getattr(actor, "pk", None) is None:
        actor = None  # an AnonymousUser
    def undo() -> None:
        with transaction.atomic():
            hooks.after_undo(_undo(record_id, actor))

    try:
        with_retry(undo, UndoRefused)
    except IntegrityError as exc:
        raise UndoRefused(
            "The people changed while undoing; nothing was undone. Try again.", code="conflict"
        ) from exc


def _undo(record_id: int, actor: Any) -> MergeRecord:
    record = MergeRecord.objects.select_for_update().filter(pk=record_id).first()
    if record is None:
        raise UndoRefused("No merge #%(id)s.", code="missing", params={"id": record_id})
    people = lock_people([record.base_id, *record.merged_ids])
    base = people[record.base_id]
    check_undoable(record, base, people)
    reason = undo_reason(record_id=record.pk)
    restore_base(base, record)
    # The base first: it may give back a user ID that the restored person takes again.
    save_with_history(base, actor=actor, reason=reason)
    moved = {}
    for merged_id in record.merged_ids:
        person = people[merged_id]
        restore_snapshot(person, record.snapshot[str(merged_id)])
        save_with_history(person, actor=actor, reason=reason)
        origins = record.moved.get("origins", {}).get(str(merged_id), [])
        moved[str(merged_id)] = move_back(base_id=base.pk, person_id=merged_id, origins=origins)
    now = timezone.now()
    record.undone_at = now
    record.undone_by = actor
    record.save(update_fields=["undone_at", "undone_by"])
    Activity.objects.create(
        person=base, original_person=base, kind=ActivityKind.NOTE,
        source=ActivitySource.SYSTEM, occurred_at=now, recorded_at=now,
        properties={"text": f"Merge #{record.pk} undone", "undone_merge": record.pk,
                    "restored_ids": record.merged_ids, "moved_back": moved},
    )
    keep_apart_after_undo(record=record, actor=actor)
    return record


def check_undoable(record: MergeRecord, base: Person, people: dict[int, Person]) -> None:
    """Refuse when the restore could not be exact, naming what to undo first."""
    if record.undone_at is not None:
        raise UndoRefused(
            "Merge #%(id)s was already undone.", code="already_undone", params={"id": record.pk}
        )
    if base.merged_into_id is not None:
        later = merge_of(base)
        raise UndoRefused(
            "Person #%(base)s was since merged into #%(into)s%(by)s: undo that first.",
            code="base_merged",
            params={"base": base.pk, "into": base.merged_into_id,
                    "by": f" (merge #{later.pk})" if later else ""},
        )
    # Merges into one base are serialized by its lock, so a higher id means a later merge.
    later = (
        MergeRecord.objects.filter(base_id=base.pk, undone_at__isnull=True, pk__gt=record.pk)
        .order_by("-pk").first()
    )
    if later is not None:
        raise UndoRefused(
            "Merge #%(later)s into #%(base)s came later and is not undone: undo that first.",
            code="later_merge", params={"later": later.pk, "base": base.pk},
        )
    for merged_id in record.merged_ids:
        person = people.get(merged_id)
        if person is None or person.merged_into_id != base.pk:
            raise UndoRefused(
                "Person #%(id)s is no longer merged into #%(base)s, so this merge cannot be "
                "undone exactly.", code="person_changed", params={"id": merged_id, "base": base.pk},
            )
    _check_user_ids(record, base)


def _check_user_ids(record: MergeRecord, base: Person) -> None:
    for merged_id in record.merged_ids:
        user_id = record.snapshot[str(merged_id)].get("user_id")
        if not user_id:
            continue
        taken = Person.objects.filter(user_id=user_id, merged_into__isnull=True).exclude(
            pk=base.pk
        )
        gives_back = base.user_id == user_id and read_decisions(record).get(
            "user_id", {}).get("winner") == merged_id
        if taken.exists() or (base.user_id == user_id and not gives_back):
            raise UndoRefused(
                "User ID %(user_id)s now belongs to another live person.",
                code="user_id_taken", params={"user_id": user_id},
            )


def restore_base(base: Person, record: MergeRecord) -> None:
    """Put back the base's own values wherever the merge's value is still there."""
    before = record.snapshot[str(base.pk)]
    merged = [record.snapshot[str(pk)] for pk in record.merged_ids]
    attributes = dict(attributes_of(base))
    own_attributes = before["attributes"] if isinstance(before["attributes"], dict) else {}
    for name, decision in read_decisions(record).items():
        if not name.startswith(ATTRIBUTES_PREFIX) and decision["rule"] in ADDED_UP:
            added = sum(snapshot[name] for snapshot in merged)
            setattr(base, name, max(0, getattr(base, name) - added))
        elif name.startswith(ATTRIBUTES_PREFIX):
            key = name[len(ATTRIBUTES_PREFIX):]
            own = own_attributes.get(key, _MISSING)
            if decision["rule"] in ADDED_UP:
                # Added up from everyone: take the others' share back out, keeping what the
                # base gained since (more page views counted after the merge stay).
                value = _without_share(attributes.get(key, _MISSING), decision["value"], own)
            elif attributes.get(key) != decision["value"]:
                continue  # changed since the merge: the newer value stays
            else:
                value = own
            if value is _MISSING:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        elif getattr(base, name) == python_value(name, decision["value"]):
            setattr(base, name, python_value(name, before[name]))
    # A malformed stored value (merged as empty) comes back as it was.
    base.attributes = attributes if attributes or own_attributes else before["attributes"]


_MISSING = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _without_share(current: Any, combined: Any, own: Any) -> Any:
    """`current` minus what adding the others up brought in (`combined` - `own`), leaf by leaf:
    numbers lose the others' part; any other value goes back to the base's own if the merge's
    value is still there; keys added since the merge stay. _MISSING: the base had none."""
    if current == combined:  # unchanged since the merge: exactly the base's own again
        return own
    if isinstance(current, dict) and isinstance(combined, dict):
        own_parts = own if isinstance(own, dict) else {}
        result = {}
        for key, value in current.items():
            kept = (
                value if key not in combined
                else _without_share(value, combined[key], own_parts.get(key, _MISSING))
            )
            if kept is not _MISSING:
                result[key] = kept
        return result if result or own is not _MISSING else _MISSING
    if _is_number(current) and _is_number(combined):
        own_number = own if _is_number(own) else 0
        left = round(current - (combined - own_number), 2)
        return _MISSING if own is _MISSING and left <= 0 else left
    return own if current == combined else current
