"""A dedup run's report as staff read it: 50 groups a page, conflicts on their own, every group in
words — field labels, values as on the person page, dates in the viewer's zone, people by name
with a link, and one legend for the rules instead of a rule's text on every line.

The report is stored per chunk (`DedupChunk.report`, in email order). A page reads the chunks'
lengths (one query, no report loaded) and then only the one or two chunks the page falls in, so
a run over a million people pages as fast as a small one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Func, IntegerField

from dedup.models import DedupRun, ReviewKind
from profiles.admin.merge.display import field_label, field_order, field_value
from profiles.admin.timeline import TimelineContext
from profiles.models import Person

PAGE_SIZE = 50
# Rules are lettered on a page in the order they first appear: "A", "B", …
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
OUTCOMES = {"would merge": "would merge", "merged": "merged",
            "conflict": "not merged: different user IDs", "refused": "not merged",
            "kept apart": "split: people marked as different",
            "needs review": "left out: email only typed (needs review)"}
TRUST_WORDS = {"staff": "set by staff", "verified": "verified by the website",
               "claimed": "claimed by a website (unverified)", "typed": "typed in chat"}


class ReportLength(Func):
    """The number of groups in a chunk's report (0 for anything but a list)."""

    output_field = IntegerField()
    template = ("CASE WHEN jsonb_typeof(%(expressions)s) = 'array' "
                "THEN jsonb_array_length(%(expressions)s) ELSE 0 END")

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="json_array_length(%(expressions)s)",
                              **extra)


@dataclass
class Winner:
    label: str
    value: str
    whose: Any  # a link to the person whose value it was, or "" (computed from everyone)
    rule: str  # its letter in the page's legend


@dataclass
class Evidence:
    """One person of a conflict or review: what explains it (email and how it was learned,
    user ID, status), and whether the run left them out of the merge."""

    person: Any
    email: str
    trust: str
    user_id: str
    status: str
    left_out: bool


@dataclass
class GroupRow:
    email: str
    outcome: str
    base: Any
    merged: list[Any]
    people: list[Any]
    user_ids: str
    record: int | None
    error: str
    winners: list[Winner] = field(default_factory=list)
    parts: list[list[Any]] = field(default_factory=list)  # a group split by marks
    pairs: list[tuple[Any, Any]] = field(default_factory=list)  # the marks that split it
    evidence: list[Evidence] = field(default_factory=list)  # a conflict's or review's people

    @property
    def is_conflict(self) -> bool:
        return self.outcome == OUTCOMES["conflict"]

    @property
    def needs_review(self) -> bool:
        return self.outcome == OUTCOMES["needs review"]


@dataclass
class ReportPage:
    rows: list[GroupRow]
    legend: list[tuple[str, str]]  # (letter, rule text)
    number: int
    num_pages: int
    total: int
    start: int  # 1-based position of the page's first group

    @property
    def end(self) -> int:
        return self.start + len(self.rows) - 1

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


def _window(run: DedupRun, start: int, size: int) -> tuple[list[dict], int]:
    """The entries [start, start + size) across chunks, and how many entries there are."""
    lengths = list(run.chunks.order_by("index")
                   .annotate(groups=ReportLength("report")).values_list("index", "groups"))
    total = sum(groups for _, groups in lengths)
    wanted, offset = [], 0
    for index, groups in lengths:
        if offset + groups > start and offset < start + size:
            wanted.append(index)
        offset += groups
    entries: list[dict] = []
    skipped = sum(groups for index, groups in lengths if index < (wanted or [0])[0])
    for report in (run.chunks.filter(index__in=wanted).order_by("index")
                   .values_list("report", flat=True)):
        entries.extend(entry for entry in (report if isinstance(report, list) else [])
                       if isinstance(entry, dict))
    return entries[start - skipped:start - skipped + size], total


def _conflicts(run: DedupRun, start: int, size: int) -> tuple[list[dict], int]:
    rows = run.conflict_rows.order_by("email_normalized", "id")
    entries = [{"email": c.email_normalized,
                "outcome": "needs review" if c.kind == ReviewKind.TYPED_EMAIL else "conflict",
                "people": c.person_ids, "user_ids": c.user_ids, "left_out": c.left_out,
                "evidence": c.evidence} for c in rows[start:start + size]]
    return entries, rows.count()


def report_page(run: DedupRun, *, page: int, conflicts_only: bool) -> ReportPage:
    """Page `page` (1-based; out of range: the last) of the run's report."""
    read = _conflicts if conflicts_only else _window
    _, total = read(run, 0, 0)
    num_pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(page, 1), num_pages)
    entries, _ = read(run, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    rows, legend = _rows(entries)
    return ReportPage(rows, legend, number, num_pages, total, (number - 1) * PAGE_SIZE + 1)


def _ids(value: Any) -> list[int]:
    return [pk for pk in value if isinstance(pk, int)] if isinstance(value, list) else []


def _rows(entries: list[dict]) -> tuple[list[GroupRow], list[tuple[str, str]]]:
    people = TimelineContext(people=Person.objects.only("id", "name", "email", "user_id")
                             .in_bulk(_everyone(entries)))
    letters: dict[str, str] = {}
    rows = []
    for entry in entries:
        base = entry.get("base")
        rows.append(GroupRow(
            email=str(entry.get("email", "")),
            outcome=OUTCOMES.get(entry.get("outcome"), str(entry.get("outcome", ""))),
            base=people.person_link(base) if isinstance(base, int) else "",
            merged=[people.person_link(pk) for pk in _ids(entry.get("merged"))],
            people=[people.person_link(pk) for pk in _ids(entry.get("people"))],
            user_ids=", ".join(str(uid) for uid in entry.get("user_ids") or []),
            record=entry.get("record") if isinstance(entry.get("record"), int) else None,
            error=str(entry.get("error") or ""),
            winners=list(_winners(entry.get("winners"), base, people, letters)),
            parts=[[people.person_link(pk) for pk in _ids(part)]
                   for part in entry.get("parts") or [] if isinstance(part, list)],
            pairs=[(people.person_link(a), people.person_link(b))
                   for a, b in (_pair(pair) for pair in entry.get("pairs") or []) if a],
            evidence=list(_evidence(entry, people)),
        ))
    return rows, [(letter, rule) for rule, letter in letters.items()]


def _pair(value: Any) -> tuple[int | None, int | None]:
    ids = _ids(value)
    return (ids[0], ids[1]) if len(ids) == 2 else (None, None)


def _evidence(entry: dict, people: TimelineContext):
    left_out = set(_ids(entry.get("left_out")))
    for row in entry.get("evidence") or []:
        if not isinstance(row, dict) or not isinstance(row.get("person"), int):
            continue
        trust = str(row.get("trust") or "")
        yield Evidence(
            person=people.person_link(row["person"]), email=str(row.get("email") or ""),
            trust=TRUST_WORDS.get(trust, trust), user_id=str(row.get("user_id") or ""),
            status="User" if row.get("status") == "user" else "Visitor",
            left_out=row["person"] in left_out)


def _everyone(entries: Iterable[dict]) -> set[int]:
    ids: set[int] = set()
    for entry in entries:
        ids.update(_ids(entry.get("people")) + _ids(entry.get("merged")))
        if isinstance(entry.get("base"), int):
            ids.add(entry["base"])
    return ids


def _winners(winners: Any, base: Any, people: TimelineContext, letters: dict[str, str]):
    """The fields whose value comes from another profile than the base: what the merge changes
    on the base (the base's own values, and sums and dates taken from everyone, are left out)."""
    if not isinstance(winners, dict):
        return
    for name, info in sorted(winners.items(), key=lambda item: field_order(item[0])):
        info = info if isinstance(info, dict) else {"value": info}
        if not isinstance(info.get("from"), int) or info.get("from") == base:
            continue
        rule = str(info.get("rule") or "")
        if rule and rule not in letters:
            letters[rule] = LETTERS[len(letters)] if len(letters) < len(LETTERS) \
                else str(len(letters) + 1)
        whose = info.get("from")
        yield Winner(field_label(name), field_value(name, info.get("value")),
                     people.person_link(whose) if isinstance(whose, int) else "",
                     letters.get(rule, ""))
