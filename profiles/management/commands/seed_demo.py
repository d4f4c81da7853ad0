"""manage.py seed_demo: the demo cases, plus bulk people (the benchmark reference set)."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from profiles.demo.reference import build_reference_set
from profiles.demo.showcase import build_showcase
from profiles.models import Person
from profiles.services.sites import ensure_demo_site


class Command(BaseCommand):
    help = (
        "Create demo people that show every case Onefold handles, plus N bulk people "
        "(10% in duplicate email groups, 10 activities and ~1.5 identities each, 5% with a chat; "
        "the tables are analyzed afterwards)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=500,
                            help="bulk people to add (default 500; 1000000 = reference set)")
        parser.add_argument("--seed", type=int, default=42, help="random seed")
        parser.add_argument("--activities", type=int, default=10,
                            help="activities per bulk person (default 10)")
        parser.add_argument("--no-showcase", action="store_true",
                            help="only bulk people (benchmarks)")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when people already exist")

    def handle(self, *args, people: int, seed: int, activities: int, no_showcase: bool,
               if_empty: bool, **options) -> None:
        if people < 0 or activities < 0:
            raise CommandError("--people and --activities must be zero or more.")
        if not no_showcase:  # the demo shop's site (its key works only with ONEFOLD_DEMO on)
            ensure_demo_site()
        if if_empty and Person.objects.exists():
            self.stdout.write("People already exist; nothing seeded (--if-empty).")
            return
        started = time.perf_counter()
        if not no_showcase:
            cases = build_showcase()
            for case, ids in cases.items():
                self.stdout.write(f"  {case}: {', '.join(f'#{pk}' for pk in ids)}")
        stats = build_reference_set(
            people=people, seed=seed, activities_per_person=activities,
            progress=self._progress if people >= 50_000 else None,
        )
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {stats.people:,} bulk people ({stats.people_in_groups:,} in "
            f"{stats.duplicate_groups:,} duplicate email groups, {stats.conflict_groups:,} with "
            f"two user IDs), {stats.activities:,} activities, {stats.identities:,} identities, "
            f"{stats.tags:,} tags, {stats.conversations:,} chats in {elapsed:.1f}s."
        ))

    def _progress(self, done: int, total: int) -> None:
        line = f"  {done:,}/{total:,} people"
        if sys.stdout.isatty():
            self.stdout.write(f"\r{line}", ending="")
            if done == total:
                self.stdout.write("")
        elif done == total or done % (total // 10 or 1) < 20_000:
            self.stdout.write(line)
