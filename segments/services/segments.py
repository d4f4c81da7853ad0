"""Defining segments: create, update, delete, preview counts, a person's segments."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from profiles.models import Person
from segments.models import Segment
from segments.services.compiler import compile_node
from segments.services.definition import parse_definition
from segments.services.membership import matching_people
from segments.services.rebuild import (
    CHANGED,
    CREATED,
    lock_out_chunks,
    rebuild_segment,
    start_rebuild,
)

EDITABLE = ("name", "key", "description", "enabled", "visible_to_website", "definition")


class SegmentRefused(ValidationError):
    """A segment change that was not made; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str, code: str = "invalid") -> None:
        super().__init__(message, code=code)
        self.field = field


def _clean_key(key: str | None, name: str, *, exclude: int | None = None) -> str:
    slug = slugify(key if key is not None else name)[:100]
    if not slug:
        raise SegmentRefused("A key needs letters or digits.", field="key")
    taken = Segment.objects.filter(key=slug).exclude(pk=exclude)
    if key is None:  # derived from the name: make it unique
        base, n = slug, 2
        while taken.exists():
            slug = f"{base[:95]}-{n}"
            taken, n = Segment.objects.filter(key=slug).exclude(pk=exclude), n + 1
    elif taken.exists():
        raise SegmentRefused(f"Another segment already has the key “{slug}”.", field="key",
                             code="key_taken")
    return slug


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise SegmentRefused("A segment needs a name.", field="name")
    return name.strip()[:200]


def create_segment(*, name: str, definition: Any, key: str | None = None,
                   description: str = "", visible_to_website: bool = False,
                   enabled: bool = True, actor: Any = None,
                   in_background: bool = False) -> Segment:
    """A new segment with its members computed — here, or by the Celery workers in chunks
    after the commit (`in_background`). Raises DefinitionError / SegmentRefused."""
    parse_definition(definition)
    name = _clean_name(name)
    user = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        now = timezone.now()
        segment = Segment.objects.create(
            name=name, key=_clean_key(key, name), description=description or "",
            enabled=enabled, visible_to_website=visible_to_website, definition=definition,
            created_by=user, updated_by=user, created_at=now, updated_at=now,
        )
        _rebuild(segment, actor, CREATED, in_background)
    segment.refresh_from_db()
    return segment


def update_segment(*, segment: Segment, actor: Any = None, in_background: bool = False,
                   **changes: Any) -> Segment:
    """Change the named fields (EDITABLE) and rebuild the members, here or by the Celery
    workers (`in_background`); a rebuild still running stops (docs/segments.md, Rebuilds)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise SegmentRefused(f"Cannot change {', '.join(unknown)}.", field=unknown[0])
    if "definition" in changes:
        parse_definition(changes["definition"])
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"])
    with transaction.atomic():
        # NO KEY UPDATE: waits for rebuild chunks in flight (FOR SHARE), never for real time
        # (inserting a membership takes FOR KEY SHARE).
        current = Segment.objects.select_for_update(no_key=True).get(pk=segment.pk)
        lock_out_chunks(current.pk)  # a running rebuild's chunks in flight end first
        if "key" in changes:
            changes["key"] = _clean_key(changes["key"], current.name, exclude=current.pk)
        for name, value in changes.items():
            setattr(current, name, value)
        current.updated_at = timezone.now()
        current.updated_by = actor if getattr(actor, "pk", None) else None
        current.save()
        _rebuild(current, actor, CHANGED, in_background)
    current.refresh_from_db()
    return current


def _rebuild(segment: Segment, actor: Any, reason: str, in_background: bool) -> None:
    if not in_background:
        rebuild_segment(segment=segment, actor=actor, reason=reason)
        return
    from segments.tasks import enqueue_rebuild  # the tasks import these services

    rebuild = start_rebuild(segment=segment, actor=actor, reason=reason, in_background=True)
    enqueue_rebuild(rebuild.pk)


def delete_segment(*, segment: Segment, actor: Any = None) -> None:
    """Delete the segment and its memberships (no `segment_left` for anyone: the segment
    itself is gone, which is not the person leaving it)."""
    with transaction.atomic():
        Segment.objects.filter(pk=segment.pk).delete()


def count_matching(*, definition: Any) -> int:
    """How many live people the definition matches now (a preview: writes nothing)."""
    return matching_people(compile_node(parse_definition(definition))).count()


def sample_matching(*, definition: Any, size: int = 5) -> list[Person]:
    """A few live people the definition matches now, newest first (a preview: writes nothing)."""
    rule = compile_node(parse_definition(definition))
    return list(matching_people(rule).order_by("-pk")[:size])


def segments_of(*, person: Person) -> list[Segment]:
    """The segments the person is in, by name (each with `entered_at` set)."""
    segments = list(
        Segment.objects.filter(memberships__person=person)
        .annotate(entered=F("memberships__entered_at"))
        .order_by("name"))
    for segment in segments:
        segment.entered_at = segment.entered
    return segments
