"""Dedup knobs: a Django setting wins, then an environment variable, then the default.

The environment fallback lets a test start a Celery worker with, say, a chunk delay, without a
settings change.
"""

from __future__ import annotations

from crm.knobs import read_knob

DEFAULTS: dict[str, float | int | str] = {
    # Groups per chunk = per transaction: bounds lock time and the work lost to a crash.
    "DEDUP_CHUNK_GROUPS": 1000,
    # A running run with no heartbeat for this long, whose lock nobody holds, is taken over.
    "DEDUP_STALE_AFTER_SECONDS": 120.0,
    # Test-only: sleep inside each chunk transaction so a test can kill a worker mid-run.
    "DEDUP_CHUNK_DELAY_SECONDS": 0.0,
    # Chunks merged at once by one run_dedup call (forked processes, else threads).
    "DEDUP_PARALLEL_CHUNKS": 2,
}


def get(name: str) -> float | int | str:
    return read_knob(name, DEFAULTS)
