"""Suspected duplicates and selective delete at scale, next to a naive version in the same run.

Usage (PostgreSQL; builds the data set on first use, reuses it after):

    .venv/bin/python bench/duplicates_bench.py --people 1000000

What is timed (median of --repeat runs, milliseconds):
- "groups page": one page of the suspected-duplicates view's groups (GROUP BY the stored,
  indexed `email_normalized` HAVING count > 1, paged by key: a short index walk from the last
  key of the previous page; then the members of the page's keys). Naive: the same grouping on
  the expression lower(trim(email)) computed per row, paged with OFFSET, and members fetched
  one key at a time with `email__iexact` (what a hand-written tool without the column does).
- "person suspects": the person page sidebar's suspected duplicates (same normalized email,
  same phone, same name + city). Naive: `email__iexact`, `phone`, `name__iexact` + `city__iexact`.
- "delete confirmation": what goes with 25 people (plan_deletion: one COUNT … GROUP BY per
  related table). Naive: Django's own delete_selected collector (`get_deleted_objects`), which
  loads and lists every related row.
- "duplicates view" / "person page": whole admin pages through Django's test client.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/onefold_bench_dups")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
os.environ["DJANGO_DEBUG"] = "false"
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.contrib import admin  # noqa: E402
from django.contrib.admin.utils import get_deleted_objects  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.db.models.functions import Lower, Trim  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.utils.http import urlencode  # noqa: E402

from profiles.models import Person  # noqa: E402
from profiles.selectors.duplicates import (  # noqa: E402
    duplicate_groups,
    duplicate_key_page,
    duplicate_keys,
    suspected_duplicates_of,
)
from profiles.services.deletion import plan_deletion  # noqa: E402

PAGE = 25


def ensure_database(people: int) -> None:
    from django.db import connection

    connection.ensure_connection()
    call_command("migrate", verbosity=0)
    existing = Person.objects.count()
    if existing < people:
        print(f"Seeding {people - existing:,} people (once; reused by later runs)…", flush=True)
        call_command("seed_demo", people=people - existing, activities=2, no_showcase=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(run: Callable[[], object], repeat: int) -> float:
    run()  # warm caches and connections
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def ours_groups_page(after: str | None) -> list:
    return duplicate_groups("email", duplicate_key_page("email", after=after, size=PAGE).keys)


def naive_groups_page(page: int) -> list:
    keys = list(
        Person.objects.filter(merged_into__isnull=True)
        .annotate(key=Lower(Trim("email"))).exclude(key="")
        .values("key").annotate(size=Count("id")).filter(size__gt=1)
        .order_by("key").values_list("key", flat=True)[(page - 1) * PAGE: page * PAGE]
    )
    return [list(Person.objects.filter(merged_into__isnull=True, email__iexact=key))
            for key in keys]


def naive_suspects(person: Person) -> list:
    live = Person.objects.filter(merged_into__isnull=True).exclude(pk=person.pk)
    found = list(live.filter(email__iexact=person.email.strip())[:10])
    if person.phone:
        found += list(live.filter(phone=person.phone)[:10])
    if person.name and person.city:
        found += list(live.filter(name__iexact=person.name, city__iexact=person.city)[:10])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    ensure_database(args.people)
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    group = ours_groups_page(None)[0]
    sample = group.people[0]
    doomed = [p for g in ours_groups_page(None) for p in g.people][:PAGE]
    request = RequestFactory().get("/")
    request.user = user
    client = Client()
    client.force_login(user)
    groups = duplicate_keys("email").count()
    middle = max(1, groups // PAGE // 2)
    middle_after = duplicate_keys("email").order_by("email_normalized")[middle * PAGE - 1]
    print(f"{Person.objects.count():,} people; {groups:,} email groups;"
          f" sample person #{sample.pk}\n")
    rows = [
        ("groups page 1", lambda: ours_groups_page(None), lambda: naive_groups_page(1)),
        (f"groups page {middle + 1}", lambda: ours_groups_page(middle_after),
         lambda: naive_groups_page(middle + 1)),
        ("person suspects", lambda: suspected_duplicates_of(sample),
         lambda: naive_suspects(sample)),
        ("delete confirmation", lambda: plan_deletion(people=doomed),
         lambda: get_deleted_objects(doomed, request, admin.site)),
    ]
    print(f"{'what':<22} {'onefold ms':>11} {'naive ms':>10} {'ratio':>7}")
    for label, ours, naive in rows:
        fast = timed(ours, args.repeat)
        slow = timed(naive, max(3, args.repeat // 3))
        print(f"{label:<22} {fast:>11.1f} {slow:>10.1f} {slow / fast:>6.1f}x", flush=True)
    pages = [
        ("duplicates view", "/admin/profiles/person/duplicates/"),
        (f"duplicates page {middle + 1}",
         f"/admin/profiles/person/duplicates/?{urlencode({'after': middle_after})}"),
        ("person page", f"/admin/profiles/person/{sample.pk}/change/"),
    ]
    for label, url in pages:
        ms = timed(lambda url=url: client.get(url), args.repeat)
        print(f"{label:<22} {ms:>11.1f}  (whole admin page)", flush=True)


if __name__ == "__main__":
    main()
