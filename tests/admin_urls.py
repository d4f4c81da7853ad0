"""Every admin URL, found from the URL resolver, with a live example of each for the tests that
walk them all (the permission matrix, the parameter fuzzing).

A model registered in the admin without an example object below fails those tests with its
name: add one here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

ADMIN_PREFIX = "admin/"


@dataclass(frozen=True)
class AdminUrl:
    """One admin URL as a request path, and what it is about."""

    name: str | None  # the URL name in the admin namespace (None: unnamed)
    path: str
    model: type[models.Model] | None
    variant: str = ""  # which example object ("live", "tombstone", "device", "user_id"…)
    obj: models.Model | None = field(default=None, compare=False)


def admin_patterns() -> Iterator[tuple[str | None, str, object]]:
    """(name, route, pattern) of every pattern under the admin site's URLs."""

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern),
                                pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace == "admin":
                yield pattern.name, prefix + str(pattern.pattern), pattern

    yield from walk(get_resolver().url_patterns, "", None)


def model_of(route: str) -> type[models.Model] | None:
    """The model of a ModelAdmin's URL: its routes start with admin/<app>/<model>/."""
    parts = route.removeprefix(ADMIN_PREFIX).split("/")
    if len(parts) < 2:
        return None
    try:
        return apps.get_model(parts[0], parts[1])
    except (LookupError, ValueError):
        return None


def build_examples() -> dict[type[models.Model], dict[str, models.Model]]:
    """One or more example objects of every model registered in the admin."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from dedup.models import DedupConflict, DedupRun, DedupSchedule, KeptApart
    from dedup.services.marks import keep_apart
    from profiles.models import Identity, MergeRecord, Person, Tag
    from profiles.services import merge_people
    from segments.services import create_segment
    from tests.factories import (
        ActivityFactory,
        IdentityFactory,
        PersonFactory,
        PersonTagFactory,
        SiteFactory,
        UserFactory,
    )

    live = PersonFactory(name="First Name", email="first@example.com", user_id="u-live",
                         attributes={"plan": "pro"})
    IdentityFactory(person=live, kind="user_id", value="u-live")
    device = IdentityFactory(person=live, kind="anonymous_id", value="dev-first")
    # A second version of each, so their history has an older one to (try to) revert to.
    live.name, live.email = "Live Lee", "live@example.com"
    live.save()
    device.person = PersonFactory(name="Previous owner")
    device.save()
    device.person, device.value = live, "dev-live"
    device.save()
    other = PersonFactory(name="Other Lee", email="LIVE@example.com")
    ActivityFactory(person=other)
    base, merged = PersonFactory(name="Base", user_id="u-base"), PersonFactory(name="Gone")
    merge_people(base=base, others=[merged], reason="manual")
    record = MergeRecord.objects.get(base=base)
    tag = PersonTagFactory(person=live).tag
    run = DedupRun.objects.create(trigger="staff", status="succeeded", dry_run=True)
    conflict = DedupConflict.objects.create(run=run, email_normalized="c@example.com",
                                            person_ids=[live.pk, other.pk],
                                            user_ids=["u-1", "u-2"])
    (mark,) = keep_apart(people=[base, PersonFactory(name="Not Base")], actor=None,
                         reason="two people")
    now = timezone.now()
    attempt = AccessAttempt.objects.create(
        username="someone", ip_address="203.0.113.5", user_agent="test", attempt_time=now,
        failures_since_start=1, get_data="", post_data="", http_accept="", path_info="/")
    access = AccessLog.objects.create(username="someone", ip_address="203.0.113.5",
                                      user_agent="test", attempt_time=now, http_accept="",
                                      path_info="/")
    failure = AccessFailureLog.objects.create(username="someone", ip_address="203.0.113.5",
                                              user_agent="test", attempt_time=now,
                                              http_accept="", path_info="/", locked_out=False)
    return {
        # Variants named with "_" are not walked: they are there for the forms (merge, delete).
        Person: {"live": live, "tombstone": merged, "_other": other, "_base": base},
        Identity: {"device": device,
                   "user_id": Identity.objects.get(kind="user_id", value="u-live")},
        apps.get_model("profiles", "Activity"): {"": other.activities.get()},
        Tag: {"": tag},
        MergeRecord: {"": record},
        apps.get_model("profiles", "Site"): {"": SiteFactory()},
        DedupRun: {"": run},
        DedupConflict: {"": conflict},
        KeptApart: {"": mark},
        DedupSchedule: {"": DedupSchedule.objects.get()},
        apps.get_model("auth", "User"): {"": UserFactory(username="target-user")},
        Group: {"": Group.objects.get(name="Support staff")},
        AccessAttempt: {"": attempt},
        AccessLog: {"": access},
        AccessFailureLog: {"": failure},
        apps.get_model("segments", "Segment"): {"": create_segment(
            name="Parisians", definition={"field": "city", "op": "eq", "value": "Paris"})},
    }


def missing_examples(examples) -> list[str]:
    return sorted(model._meta.label for model in admin.site._registry if model not in examples)


def admin_urls(examples) -> list[AdminUrl]:
    """Every admin URL, once per example object for the per-object ones."""
    urls = []
    for name, route, _pattern in admin_patterns():
        model = model_of(route)
        if "(?P<url>" in route:  # the admin's catch-all
            urls.append(AdminUrl(name, "/admin/no-such-page/", None))
            continue
        if "app_label" in route:
            urls.append(AdminUrl(name, "/admin/profiles/", None))
            continue
        if "content_type_id" in route:
            person = examples[apps.get_model("profiles", "Person")]["live"]
            content_type = ContentType.objects.get_for_model(person)
            urls.append(AdminUrl(name, f"/admin/r/{content_type.pk}/{person.pk}/", None))
            continue
        has_object = bool(re.search(r"<[^>]+>|\(", route.removeprefix(ADMIN_PREFIX)))
        if not has_object:
            urls.append(AdminUrl(name, "/" + route, model))
            continue
        for variant, obj in examples[model].items():
            if variant.startswith("_"):
                continue
            urls.append(AdminUrl(name, "/" + _fill(route, obj), model, variant, obj))
    return urls


def _fill(route: str, obj: models.Model) -> str:
    """The route with the object's id (and its oldest history row id) put in."""
    history = getattr(obj, "history", None)
    history_id = history.earliest().history_id if history is not None else 0
    route = re.sub(r"<(?:\w+:)?(?:object_id|run_id|id)>", str(obj.pk), route)
    if route.count("([^/]+)") == 2:  # simple-history's version page: object, history row
        route = route.replace("([^/]+)", str(obj.pk), 1).replace("([^/]+)", str(history_id), 1)
        route = route.replace("^", "").replace("$", "")
    assert not re.search(r"[<(\[^$]", route), f"cannot fill in {route}"
    return route


def form_values(obj: models.Model | None) -> dict[str, str]:
    """The object's editable fields as a form would post them, the first text field changed
    (so a save that goes through changes the row)."""
    if obj is None:
        return {}
    values: dict[str, str] = {}
    changed = False
    for model_field in obj._meta.concrete_fields:
        if not model_field.editable or model_field.primary_key:
            continue
        value = getattr(obj, model_field.attname)
        if value is None:
            continue
        if isinstance(model_field, models.BooleanField):
            if value:
                values[model_field.name] = "on"
            continue
        if isinstance(model_field, models.JSONField):
            values[model_field.name] = json.dumps(value)
            continue
        if isinstance(value, dt.datetime):
            continue
        text = str(value)
        if not changed and isinstance(model_field, models.CharField) and not model_field.choices:
            text = (text + "m")[-model_field.max_length:] if model_field.max_length else text + "m"
            changed = True
        values[model_field.name] = text
    return values


def fingerprint(*, ignore: tuple[str, ...] = ()) -> dict[str, str]:
    """A hash of every row of every table (PostgreSQL), to see whether anything changed."""
    tables = [table for table in connection.introspection.table_names()
              if table != "django_session" and not table.startswith(ignore)]
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT %s, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        f"FROM {quote(table)} t" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql, tables)
        return dict(cursor.fetchall())
