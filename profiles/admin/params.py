"""Reading IDs from admin query strings and forms: crafted or stale values are skipped, never
a 500 (`int()` accepts "²" neither; "①".isdigit() is true; a 30-digit ID overflows bigint)."""

from __future__ import annotations

from collections.abc import Iterable

# A bigint has at most 19 digits; 18 always fit.
MAX_ID_DIGITS = 18


def parse_id(value: object) -> int | None:
    """An ID number written in ASCII digits, else None."""
    text = str(value).strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        return int(text)
    return None


def parse_ids(values: Iterable[object]) -> list[int]:
    """The valid ID numbers among `values`, each once, in order."""
    return list(dict.fromkeys(pk for pk in map(parse_id, values) if pk is not None))
