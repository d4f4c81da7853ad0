"""`manage.py dedup [--dry-run]`: run the email dedup here and print a summary."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from dedup.admin_display import progress_words, with_group_progress
from dedup.models import DedupRun, DedupStatus, DedupTrigger
from dedup.services import run_dedup


class Command(BaseCommand):
    help = "Merge live people that share a normalized email (docs/rules.md, Dedup)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true",
            help="Report what would be merged, change nothing.",
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        started = time.monotonic()
        show_bar = sys.stdout.isatty() and options.get("verbosity", 1) > 0
        run = run_dedup(
            dry_run=dry_run, trigger=DedupTrigger.SHELL,
            progress=self._draw_bar if show_bar else None,
        )
        if show_bar:
            self.stdout.write("")
        elapsed = time.monotonic() - started
        self._summary(run, elapsed)
        if run.status == DedupStatus.FAILED:
            raise CommandError(f"Dedup run #{run.pk} failed: {run.error}")

    def _draw_bar(self, run: DedupRun) -> None:
        """"[####......] 1,200 of 3,400 groups (3 of 9 chunks) · 1,100 would merge"."""
        run = with_group_progress(DedupRun.objects.filter(pk=run.pk)).get()
        width = 30
        filled = int(width * run.groups_done / max(run.groups_planned, 1))
        verb = "would merge" if run.dry_run else "merged"
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {progress_words(run)} · "
            f"{run.groups_merged:,} {verb}",
            ending="",
        )
        self.stdout.flush()

    def _summary(self, run: DedupRun, elapsed: float) -> None:
        merged_label = "would merge" if run.dry_run else "merged"
        lines = [
            f"Dedup {'dry run' if run.dry_run else 'run'} #{run.pk}: {run.get_status_display()}",
            f"  scanned:     {run.people_scanned:,} live people with an email",
            f"  groups:      {run.groups_found:,}",
            f"  {merged_label + ':':<12} {run.groups_merged:,} groups, "
            f"{run.people_merged:,} people",
            f"  conflicts:   {run.conflicts:,} (different user IDs, left for review)",
            f"  needs review: {run.needs_review:,} "
            f"{'person' if run.needs_review == 1 else 'people'} left out (email only typed)",
            f"  kept apart:  {run.kept_apart:,} groups split (marked as different people)",
            f"  rows moved:  {run.rows_moved:,}",
            f"  time:        {elapsed:.2f} s",
        ]
        if run.status == DedupStatus.SKIPPED:
            lines.append(f"  skipped:     {run.error}")
        self.stdout.write("\n".join(lines))
