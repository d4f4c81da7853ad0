"""Python's cyclic garbage collector paused around batch work that keeps what it allocates.

A dedup chunk (or any merge of many groups) builds tens of thousands of objects — people,
decisions, journal dicts — that all stay alive until the batch ends. Each time enough of them
pile up, the collector traverses the whole heap again to find cycles they do not form
(measured: ~20% of a chunk's Python time, nearly all in full collections). Objects are still
freed by reference counting as usual; cycles, if any, are collected once the collector is back
on. Nesting is harmless: only the outermost pause turns it back on, and a collector somebody
else switched off stays off.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
