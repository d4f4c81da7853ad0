"""Admin speed at scale: the person list, search and person page, next to a naive admin.

Usage (PostgreSQL; builds the data set on first use, reuses it after):

    .venv/bin/python bench/admin_bench.py --people 1000000

The naive baseline is a plain ModelAdmin on the same data in the same run: `icontains` search
over name, email, user ID and identity values, Django's full COUNT on every page, facet-free.
Each figure is the median of --repeat requests through Django's test client (no network).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/onefold_bench_admin")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
os.environ["DJANGO_DEBUG"] = "false"
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.contrib import admin  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from crm.urls import urlpatterns as onefold_urls  # noqa: E402
from profiles.models import Activity, Identity, Person  # noqa: E402

naive_site = admin.AdminSite(name="naive")


class NaivePersonAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "email", "user_id", "status", "last_seen", "page_views"]
    search_fields = ["name", "email", "user_id", "identities__value"]
    list_filter = ["status"]
    show_facets = admin.ShowFacets.NEVER
    raw_id_fields = ["merged_into"]  # a select of a million people would not be a fair baseline
    # Django's stock templates, not Onefold's person templates (which link Onefold views).
    change_list_template = "admin/change_list.html"
    change_form_template = "admin/change_form.html"


naive_site.register(Person, NaivePersonAdmin)
urlpatterns = [*onefold_urls, path("naive/", naive_site.urls)]


def ensure_database(people: int) -> None:
    from django.db import connection

    connection.ensure_connection()
    call_command("migrate", verbosity=0)
    existing = Person.objects.count()
    if existing < people:
        print(f"Seeding {people - existing:,} people (once; reused by later runs)…", flush=True)
        call_command("seed_demo", people=people - existing, no_showcase=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(client: Client, url: str, repeat: int) -> float:
    client.get(url)  # warm caches and connections
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return statistics.median(samples)


def scenarios() -> list[tuple[str, str, str]]:
    sample = Person.objects.filter(merged_into__isnull=True).exclude(email="").order_by("-id")[
        Person.objects.count() // 2
    ]
    busy = Activity.objects.filter(person=sample).count()
    identity = Identity.objects.filter(kind="anonymous_id").order_by("-id").first()
    prefix = sample.email_normalized[:8]
    print(f"sample person #{sample.pk} ({busy} activities), email prefix {prefix!r}")
    ours, naive = "/admin/profiles/person/", "/naive/profiles/person/"
    return [
        ("list, first page", ours, naive),
        ("list, page 200", f"{ours}?p=200", f"{naive}?p=200"),
        ("list, status filter", f"{ours}?status__exact=visitor", f"{naive}?status__exact=visitor"),
        ("search email prefix", f"{ours}?q={prefix}", f"{naive}?q={prefix}"),
        ("search name prefix", f"{ours}?q=Customer%2012345", f"{naive}?q=Customer%2012345"),
        ("search device id", f"{ours}?q={identity.value}", f"{naive}?q={identity.value}"),
        ("search ID number", f"{ours}?q={sample.pk}", f"{naive}?q={sample.pk}"),
        ("person page", f"{ours}{sample.pk}/change/", f"{naive}{sample.pk}/change/"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    ensure_database(args.people)
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    print(f"{Person.objects.count():,} people, {Activity.objects.count():,} activities\n")
    print(f"{'view':<22} {'onefold ms':>11} {'naive ms':>10} {'ratio':>7}")
    with override_settings(ROOT_URLCONF=__name__):
        for label, ours, naive in scenarios():
            fast = timed(client, ours, args.repeat)
            slow = timed(client, naive, max(3, args.repeat // 5))
            print(f"{label:<22} {fast:>11.1f} {slow:>10.1f} {slow / fast:>6.1f}x", flush=True)


if __name__ == "__main__":
    main()
