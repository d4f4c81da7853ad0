"""Shared helpers for dedup tests: database snapshots and canonical (id-free) states."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django.db.models import Model

from profiles.models import (
    Activity,
    Conversation,
    Deal,
    Identity,
    MergeRecord,
    Person,
    PersonTag,
    Tag,
)
from profiles.services.merging import read_decisions

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

SNAPSHOT_MODELS: tuple[type[Model], ...] = (
    Person, Activity, Identity, PersonTag, Conversation, Deal, MergeRecord,
    Person.history.model, Identity.history.model,
)


def db_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table a merge can write, as sorted tuples of all column values."""
    snapshot = {}
    for model in SNAPSHOT_MODELS:
        columns = [field.attname for field in model._meta.concrete_fields]
        snapshot[model._meta.label] = sorted(
            tuple(repr(value) for value in row)
            for row in model._base_manager.values_list(*columns)
        )
    return snapshot


PERSON_FIELDS = (
    "user_id", "status", "name", "email", "phone", "company", "city", "country", "os",
    "browser", "attributes", "avatar_seed", "created_at", "first_seen", "last_seen",
    "last_contacted", "last_heard_from", "page_views", "visits",
)


def canonical_state(people: list[Person], *, domain: str) -> dict:
    """The state of `people` (one generated copy) with ids replaced by list positions.

    Timestamps a merge sets to "now" (updated_at of a base, merged_at, journal times) differ
    between two merges of equal data, so they are compared as "set or not".
    """
    index = {p.pk: i for i, p in enumerate(people)}
    ids = list(index)

    def pos(pk):
        return None if pk is None else index.get(pk, f"foreign:{pk}")

    fresh = Person.objects.in_bulk(ids)
    state: dict = {"people": []}
    for pk in ids:
        p = fresh[pk]
        row = {f: getattr(p, f) for f in PERSON_FIELDS}
        row["email"] = _undomain(row["email"], domain)
        row["user_id"] = row["user_id"] and _undomain(row["user_id"], domain)
        row["merged_into"] = pos(p.merged_into_id)
        row["merged_at_set"] = p.merged_at is not None
        state["people"].append(row)
    for model in (Activity, Identity, PersonTag, Conversation, Deal):
        rows = model._base_manager.filter(original_person_id__in=ids).order_by("pk")
        state[model._meta.label] = [
            (pos(r.person_id), pos(r.original_person_id), _payload(model, r, domain, pos))
            for r in rows
        ]
    state["records"] = sorted(
        (
            pos(r.base_id), [pos(i) for i in r.merged_ids], r.reason, r.dedup_run_id is not None,
            _canon_snapshot(r.snapshot, pos, domain), _canon_moved(r.moved, pos),
            _canon_decisions(read_decisions(r), pos, domain),
        )
        for r in MergeRecord.objects.filter(base_id__in=ids)
    )
    state["history"] = sorted(
        (pos(h.id), h.history_type, h.history_user_id, _reason(h.history_change_reason),
         pos(h.merged_into_id), h.merged_at is not None, h.page_views, h.visits, h.city,
         h.status, repr(h.attributes), h.last_seen, h.first_seen)
        for h in Person.history.model.objects.filter(id__in=ids)
    )
    return state


def _payload(model, row, domain, pos):
    if model is Activity:
        props = dict(row.properties)
        props.pop("merge_record", None)
        if "merged_ids" in props:
            props["merged_ids"] = [pos(pk) for pk in props["merged_ids"]]
        return (row.kind, row.source, repr(sorted(props.items())))
    if model is Identity:
        return (row.kind, _undomain(row.value, domain))
    if model is PersonTag:
        return (row.tag_id,)
    if model is Deal:
        return (row.title,)
    return ()


def _undomain(text: str, domain: str) -> str:
    return re.sub(re.escape(domain), "DOMAIN", text, flags=re.IGNORECASE)


def _reason(text: str | None) -> str | None:
    if text and text.startswith("merge #"):
        return "merge #N " + text.split(" ", 2)[2]
    return text


def _canon_snapshot(snapshot: dict, pos, domain: str) -> list:
    out = []
    for pk, fields in snapshot.items():
        fields = dict(fields)
        fields["merged_into"] = pos(fields.get("merged_into"))
        out.append(
            (pos(int(pk)), sorted((k, _undomain(repr(v), domain)) for k, v in fields.items()))
        )
    return sorted(out)


def _canon_moved(moved: dict, pos) -> tuple:
    origins = sorted(
        (pos(int(k)), sorted(pos(v) for v in vs)) for k, vs in moved["origins"].items()
    )
    counts = sorted(
        (table, sorted((pos(int(k)), n) for k, n in per.items()))
        for table, per in moved["counts"].items()
    )
    parked = sorted((t, len(v)) for t, v in moved.get("parked", {}).items())
    rows = sorted(
        (t, sorted((pos(int(k)), len(v)) for k, v in per.items()))
        for t, per in moved.get("rows", {}).items()
    )
    return (repr(origins), repr(counts), repr(parked), repr(rows))


def _canon_decisions(decisions: dict, pos, domain: str) -> list:
    out = []
    for field, info in decisions.items():
        value = "now" if field == "updated_at" else _undomain(repr(info["value"]), domain)
        out.append((field, value, pos(info["winner"]), info["rule"]))
    return sorted(out)


def build_copy(groups: list[list[dict]], domain: str) -> list[Person]:
    """Create the people of `groups`; group i shares the email g<i>@<domain> in variants."""
    people = []
    for g, members in enumerate(groups):
        for m, spec in enumerate(members):
            email = f"g{g}@{domain}"
            email = spec["case"].format(email.upper() if spec["upper"] else email)
            user_id = f"{spec['user_id']}-{g}-{domain}" if spec["user_id"] else None
            if user_id and Person.objects.filter(user_id=user_id).exists():
                user_id = None  # one live owner per user ID: a second holder would be refused
            p = Person.objects.create(
                email=email, user_id=user_id, status=spec["status"], name=spec["name"],
                phone=spec["phone"], city=spec["city"], company=spec["company"],
                attributes=spec["attributes"], page_views=spec["page_views"],
                visits=spec["visits"], last_seen=spec["last_seen"],
                last_contacted=spec["last_contacted"], last_heard_from=spec["last_heard_from"],
                first_seen=spec["first_seen"], created_at=EPOCH,
                updated_at=EPOCH + timedelta(days=spec["updated"]),
            )
            for n in range(spec["activities"]):
                Activity.objects.create(person=p, original_person=p, kind="page_view",
                                        occurred_at=EPOCH, properties={"n": n})
            for name in sorted(spec["tags"]):
                PersonTag.objects.create(person=p, original_person=p,
                                         tag=Tag.objects.get_or_create(name=name)[0])
            for local in sorted(spec["emails"]):
                Identity.objects.create(person=p, original_person=p, kind="email",
                                        value=f"{local}-{g}@{domain}")
            if spec["anon"]:
                Identity.objects.create(person=p, original_person=p, kind="anonymous_id",
                                        value=f"anon-{g}-{m}-{domain}")
            people.append(p)
    return people
