"""Rebuilding a segment's members in chunks (docs/segments.md, "Rebuilds").

A rebuild (`SegmentRebuild`) copies the segment's definition and splits the live people into
id ranges (`SegmentRebuildChunk`). Each chunk is one transaction: it finds, set-based, who of
its range may enter or leave, locks those people in id order (as every writer locks a
person), checks them again under the lock and writes the changes with their
`segment_entered` / `segment_left` activities. The chunk that completes the rebuild stores
`last_rebuilt_at` and `member_count`.

The same functions serve the shell (`rebuild_segment`: every chunk here, one after another)
and Celery (`segments.tasks`: one task per chunk, shared by the workers).

Editing a segment starts a new rebuild and stops the running one. Every chunk holds the
segment's advisory lock shared for its whole transaction, and goes on only if its rebuild is
still running with the segment's current definition; `start_rebuild` takes it exclusive. So
an edit waits for the chunks in flight (seconds), chunks that start meanwhile queue behind
it (advisory locks are granted in turn: a stream of chunks from many workers cannot starve
the edit, as a row lock held FOR SHARE could), and no chunk writes from the old definition
after the edit commits. Real time takes neither lock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BooleanField, Case, F, FilteredRelation, Lookup, Q, Value, When
from django.utils import timezone

from profiles.models import Person
from profiles.services.sql import execute
from segments.models import (
    RebuildState,
    Segment,
    SegmentRebuild,
    SegmentRebuildChunk,
)
from segments.services import conf
from segments.services.compiler import Compiled, compile_node
from segments.services.definition import parse_definition, reads
from segments.services.membership import WRITE_CHUNK, ids_sql, live_members, record_changes

# First key of the two-int advisory lock space: "segm" in ASCII; the segment id is the second.
LOCK_NAMESPACE = 0x7365676D
KEEP_REBUILDS = 10  # finished rebuilds kept per segment (the page shows the latest)
# Why a rebuild ran, as the segment's page says it.
CREATED, CHANGED, TIME_WINDOWS = ("the segment was created", "the segment was changed",
                                  "a time window passed")


def start_rebuild(*, segment: Segment, actor: Any = None, reason: str = "",
                  in_background: bool = False) -> SegmentRebuild:
    """Record a rebuild of the segment's current definition, split into chunks of live
    people; a rebuild of it still running stops (its chunks that have not started do
    nothing). Runs in the caller's transaction, if any."""
    with transaction.atomic():
        segment = Segment.objects.select_for_update(no_key=True).get(pk=segment.pk)
        lock_out_chunks(segment.pk)
        now = timezone.now()
        SegmentRebuild.objects.filter(segment=segment, state=RebuildState.RUNNING).update(
            state=RebuildState.SUPERSEDED, finished_at=now)
        _forget_old(segment)
        bounds = _chunk_bounds(int(conf.get("SEGMENT_REBUILD_CHUNK_PEOPLE")))
        rebuild = SegmentRebuild.objects.create(
            segment=segment, definition=segment.definition, enabled=segment.enabled,
            reason=reason[:100], in_background=in_background, started_at=now,
            started_by=actor if getattr(actor, "pk", None) else None,
            chunks_total=len(bounds))
        SegmentRebuildChunk.objects.bulk_create(
            SegmentRebuildChunk(rebuild=rebuild, index=n, first_id=first, last_id=last)
            for n, (first, last) in enumerate(bounds))
    return rebuild


def _forget_old(segment: Segment) -> None:
    keep = segment.rebuilds.order_by("-pk").values_list("pk", flat=True)[:KEEP_REBUILDS]
    segment.rebuilds.exclude(state=RebuildState.RUNNING).exclude(pk__in=list(keep)).delete()


def _chunk_bounds(size: int) -> list[tuple[int | None, int | None]]:
    """Id ranges of `size` ids (so at most `size` people each) from the first live person to
    the last: two index lookups, not a scan. The first and last are open-ended: people
    created (or restored by an undo) while the rebuild runs fall in one of them."""
    live = Person.objects.filter(merged_into__isnull=True).order_by("pk")
    first = live.values_list("pk", flat=True).first()
    last = live.reverse().values_list("pk", flat=True).first()
    if first is None or last - first < size:
        return [(None, None)]
    starts = list(range(first, last + 1, size))
    firsts: list[int | None] = [None, *starts[1:]]
    lasts: list[int | None] = [start - 1 for start in starts[1:]] + [None]
    return list(zip(firsts, lasts, strict=True))


def rebuilds_in_background() -> bool:
    """Whether a rebuild staff start from the admin goes to the Celery workers (in chunks,
    with progress on the page): more live people than SEGMENT_REBUILD_INLINE_MAX (counted
    up to that bound, not over every person)."""
    limit = int(conf.get("SEGMENT_REBUILD_INLINE_MAX"))
    return Person.objects.filter(merged_into__isnull=True)[:limit + 1].count() > limit


def rebuild_segment(*, segment: Segment, actor: Any = None,
                    reason: str = "") -> tuple[int, int]:
    """Make the segment's members exactly the live people its definition matches (a
    disabled segment has none), every chunk in this process. Returns (entered, left)."""
    rebuild = start_rebuild(segment=segment, actor=actor, reason=reason)
    for chunk_id in rebuild.chunks.order_by("index").values_list("pk", flat=True):
        process_chunk(chunk_id=chunk_id)
    finish_if_complete(rebuild_id=rebuild.pk)
    rebuild.refresh_from_db()
    return rebuild.entered, rebuild.left


def process_chunk(*, chunk_id: int) -> bool:
    """Rebuild one chunk; True if this call did it (False: done already, or its rebuild
    stopped or was superseded by an edit)."""
    with transaction.atomic():
        chunk = SegmentRebuildChunk.objects.select_related("rebuild").filter(pk=chunk_id).first()
        if chunk is None:  # an old rebuild forgotten, or its segment deleted
            return False
        _hold_segment(chunk.rebuild.segment_id, exclusive=False)
        segment = Segment.objects.filter(pk=chunk.rebuild.segment_id).first()
        # Only the chunk's row: locking its rebuild's too would make the workers take turns.
        chunk = SegmentRebuildChunk.objects.select_for_update(of=("self",)) \
            .select_related("rebuild").filter(pk=chunk_id).first()
        if chunk is None or chunk.done or chunk.rebuild.state != RebuildState.RUNNING:
            return False
        rebuild = chunk.rebuild
        if segment is None or (segment.definition, segment.enabled) != \
                (rebuild.definition, rebuild.enabled):  # changed past start_rebuild
            SegmentRebuild.objects.filter(pk=rebuild.pk).update(
                state=RebuildState.SUPERSEDED, finished_at=timezone.now())
            return False
        entered, left = _rebuild_range(segment, rebuild, chunk)
        now = timezone.now()
        SegmentRebuildChunk.objects.filter(pk=chunk.pk).update(
            done=True, entered=entered, left=left, finished_at=now)
        # Last statement: the rebuild row stays locked only until the commit.
        SegmentRebuild.objects.filter(pk=rebuild.pk).update(
            chunks_done=F("chunks_done") + 1, entered=F("entered") + entered,
            left=F("left") + left)
    return True


def lock_out_chunks(segment_id: int) -> None:
    """Wait for the segment's chunks in flight to commit; others wait until our commit."""
    _hold_segment(segment_id, exclusive=True)


def _hold_segment(segment_id: int, *, exclusive: bool) -> None:
    """The segment's advisory lock until the commit (see the module's docstring)."""
    if connection.vendor == "postgresql":
        kind = "" if exclusive else "_shared"
        execute(f"SELECT pg_advisory_xact_lock{kind}(%s, %s)",
                [LOCK_NAMESPACE, segment_id % 2**31])


def _rebuild_range(segment: Segment, rebuild: SegmentRebuild,
                   chunk: SegmentRebuildChunk) -> tuple[int, int]:
    rule = compile_node(parse_definition(rebuild.definition)) if rebuild.enabled else None
    people = Person.objects.filter(merged_into__isnull=True)
    if chunk.first_id is not None:
        people = people.filter(pk__gte=chunk.first_id)
    if chunk.last_id is not None:
        people = people.filter(pk__lte=chunk.last_id)
    candidates = sorted(_judged(segment, rule, people).filter(~Q(m=F("i")))
                        .values_list("pk", flat=True))
    delay = float(conf.get("SEGMENT_REBUILD_CHUNK_DELAY_SECONDS"))
    if delay:  # test only: a chunk in flight, for a test to act meanwhile
        time.sleep(delay)
    entered = left = 0
    for start in range(0, len(candidates), WRITE_CHUNK):
        came, gone = _settle(segment, rule, candidates[start:start + WRITE_CHUNK])
        entered, left = entered + came, left + gone
    return entered, left


def _judged(segment: Segment, rule: Compiled | None, people):  # noqa: ANN001, ANN202
    """People annotated with `m` (the rule matches) and `i` (a member now), both true or
    false (never null), so `m <> i` is exactly "must enter or leave". The membership is a
    LEFT JOIN (one hash of the segment's rows), not a probe per person."""
    match = Value(False) if rule is None else _boolean(rule.q())
    people = people.annotate(mine=FilteredRelation(
        "segment_memberships", condition=Q(segment_memberships__segment_id=segment.pk)))
    return people.annotate(m=match, i=_boolean(Q(mine__id__isnull=False)))


def _boolean(condition: Q) -> Case:
    return Case(When(condition, then=Value(True)), default=Value(False),
                output_field=BooleanField())


def _settle(segment: Segment, rule: Compiled | None, ids: Sequence[int]) -> tuple[int, int]:
    """Lock these people (id order) and check them again: a change committed for one of
    them since the set-based read is not undone. Writes only what still differs."""
    list(Person.objects.select_for_update().filter(Q(InIds(F("pk"), ids))).order_by("pk")
         .values_list("pk", flat=True))
    if rule is not None:  # compiled again: time windows count from now, after the wait
        rule = compile_node(rule.node)
    now = timezone.now()
    rows = _judged(segment, rule, Person.objects.filter(
        Q(InIds(F("pk"), ids)), merged_into__isnull=True))
    entered, left = [], []
    for pk, match, inside in rows.values_list("pk", "m", "i"):
        if match and not inside:
            entered.append(pk)
        elif inside and not match:
            left.append(pk)
    came, gone = record_changes(segment, entered=sorted(entered), left=sorted(left), at=now)
    return came, gone


class InIds(Lookup):
    """`column IN (ids)` in the ORM, written as membership.ids_sql writes it (measured at 1M
    people: as 5,000 parameters, the lock and the second look of a rebuild's writes took
    1.25 s of a 6 s first rebuild)."""

    lookup_name = "in_ids"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column, params = self.process_lhs(compiler, connection)
        condition, ids = ids_sql(list(self.rhs))
        return f"{column} {condition}", [*params, *ids]


def finish_if_complete(*, rebuild_id: int) -> bool:
    """Mark the rebuild finished once every chunk is done (whoever gets here last wins) and
    store the segment's `last_rebuilt_at` and `member_count`."""
    # Without a lock first: most chunks are not the last, and the chunk that commits last
    # sees every chunk done.
    rebuild = SegmentRebuild.objects.filter(pk=rebuild_id).first()
    if rebuild is None or rebuild.state != RebuildState.RUNNING or \
            rebuild.chunks.filter(done=False).exists():
        return False
    with transaction.atomic():
        segment = Segment.objects.select_for_update(no_key=True).filter(
            pk=rebuild.segment_id).first()
        rebuild = SegmentRebuild.objects.select_for_update().filter(pk=rebuild_id).first()
        if segment is None or rebuild is None or rebuild.state != RebuildState.RUNNING or \
                rebuild.chunks.filter(done=False).exists():
            return False
        now = timezone.now()
        members = live_members(segment).count()
        SegmentRebuild.objects.filter(pk=rebuild.pk).update(
            state=RebuildState.FINISHED, finished_at=now, members=members)
        Segment.objects.filter(pk=segment.pk).update(last_rebuilt_at=now, member_count=members)
    return True


def fail_rebuild(*, rebuild_id: int, error: str) -> None:
    """A running rebuild ends as failed with `error` (plain words for the segment's page)."""
    SegmentRebuild.objects.filter(pk=rebuild_id, state=RebuildState.RUNNING).update(
        state=RebuildState.FAILED, error=error[:2000], finished_at=timezone.now())


def current_rebuild(segment: Segment) -> SegmentRebuild | None:
    """The segment's latest rebuild (running or not)."""
    return segment.rebuilds.order_by("-pk").first()


def refresh_time_windows() -> dict[int, tuple[int, int]]:
    """Rebuild every enabled segment whose rule depends on the clock (`within_days`,
    `older_than_days`): people enter or leave as a window passes, with no event. Each rebuild
    is set-based and writes only for the people who changed; a segment whose rebuild is
    running on the workers is left to it (its chunks count windows from when they run).
    Returns segment -> (entered, left)."""
    done = {}
    busy = set(SegmentRebuild.objects.filter(state=RebuildState.RUNNING, in_background=True)
               .values_list("segment_id", flat=True))
    for segment in Segment.objects.filter(enabled=True).exclude(pk__in=busy).order_by("pk"):
        try:
            timed = reads(parse_definition(segment.definition))[2]
        except ValidationError:
            continue
        if timed:
            done[segment.pk] = rebuild_segment(segment=segment, reason=TIME_WINDOWS)
    return done
