"""Reading a run's report: its groups in email order, as rows or as CSV."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

from crm.spreadsheet import csv_writer
from dedup.models import DedupRun

CSV_COLUMNS = ["email", "outcome", "base", "merged", "people", "user_ids", "record", "winners",
               "kept_apart", "left_out"]


def report_entries(run: DedupRun) -> Iterator[dict]:
    """Every group the run looked at, chunk by chunk (each chunk's report is in email order)."""
    for report in run.chunks.order_by("index").values_list("report", flat=True).iterator():
        yield from report or []


def _winners_text(winners: dict | None) -> str:
    if not winners:
        return ""
    return "; ".join(
        f"{field}={info['value']!r} (#{info['from']}, {info['rule']})"
        if info.get("from") is not None
        else f"{field}={info['value']!r} ({info['rule']})"
        for field, info in winners.items()
    )


def csv_rows(entries: Iterable[dict]) -> Iterator[list[str]]:
    yield CSV_COLUMNS
    for entry in entries:
        yield [
            entry.get("email", ""),
            entry.get("outcome", ""),
            "" if entry.get("base") is None else str(entry["base"]),
            " ".join(str(pk) for pk in entry.get("merged", [])),
            " ".join(str(pk) for pk in entry.get("people", [])),
            " ".join(entry.get("user_ids", [])),
            "" if entry.get("record") is None else str(entry["record"]),
            _winners_text(entry.get("winners")),
            "; ".join("-".join(str(pk) for pk in pair) for pair in entry.get("pairs", [])),
            " ".join(str(pk) for pk in entry.get("left_out", [])),
        ]


class _Echo:
    """A file-like object whose write returns the line: lets csv.writer feed a stream."""

    def write(self, value: str) -> str:
        return value


def stream_csv(run: DedupRun) -> Iterator[str]:
    """CSV text line by line (for a StreamingHttpResponse): a large report never sits in memory."""
    writer = csv_writer(_Echo())
    for row in csv_rows(report_entries(run)):
        yield writer.writerow(row)


def report_csv(run: DedupRun) -> str:
    buffer = io.StringIO()
    csv_writer(buffer).writerows(csv_rows(report_entries(run)))
    return buffer.getvalue()
