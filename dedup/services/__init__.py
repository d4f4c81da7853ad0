"""The dedup Python API. Admin, tasks, the command and the shell call these."""

from dedup.services.report import report_csv, report_entries, stream_csv
from dedup.services.runs import create_run, execute_run, finish_if_complete, run_dedup, start_run
from dedup.services.scheduling import reschedule, tick_schedules

__all__ = [
    "create_run",
    "execute_run",
    "finish_if_complete",
    "report_csv",
    "report_entries",
    "reschedule",
    "run_dedup",
    "start_run",
    "stream_csv",
    "tick_schedules",
]
