"""Celery tasks: thin, call a service."""

from __future__ import annotations

from celery import shared_task

from segments.services import refresh_time_windows


@shared_task(name="segments.tasks.refresh_time_windows", ignore_result=True)
def refresh_time_windows_task() -> dict[int, tuple[int, int]]:
    """Beat calls this every minute: time windows that passed move people in or out."""
    return refresh_time_windows()
