"""Dedup conflicts and reviews in the admin: not dead ends, each row says what staff can do.

- A **conflict** (people with different user IDs share an email): mark them as different people
  (resolves it), open each person, or merge the members without a user ID into one of the
  user-ID holders, chosen by staff, through the normal merge preview. Never "merge the group".
- A **review** (an email only typed in chat, left out of merging with people who hold proof):
  merge the left-out people into one of them (merge preview), or keep them apart (a mark).

Each row also says whether it is still open, from the people as they are now (merged since,
kept apart since): two queries for the page, whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from dedup.admin_base import ReadOnlyAdmin
from dedup.admin_marks import MARK_PERMISSION, mark_url
from dedup.models import DedupConflict, ReviewKind
from dedup.services.groups import PROVEN_TRUST, split_apart
from dedup.services.marks import kept_apart_pairs
from profiles.admin.merge.display import person_link
from profiles.admin.merge.views import MERGE_PERMISSION, preview_url
from profiles.models import Person, PersonStatus

TRUST_WORDS = {"staff": "set by staff", "verified": "verified", "claimed": "claimed (unverified)",
               "typed": "typed in chat"}


@dataclass
class Member:
    pk: int
    person: Person | None  # None: deleted since
    user_id: str
    trust: str
    status: str
    left_out: bool

    @property
    def vouches(self) -> bool:
        return bool(self.user_id) or self.status == PersonStatus.USER or \
            self.trust in PROVEN_TRUST

    @property
    def live(self) -> bool:
        return self.person is not None and self.person.merged_into_id is None


def members(row: DedupConflict, people: dict[int, Person]) -> list[Member]:
    """The row's people with their evidence (as the run saw it) and their rows now."""
    seen = {item.get("person"): item for item in row.evidence or [] if isinstance(item, dict)}
    found = []
    for pk in row.person_ids:
        item, person = seen.get(pk, {}), people.get(pk)
        found.append(Member(
            pk=pk, person=person,
            user_id=(person.user_id if person else item.get("user_id")) or "",
            trust=str(item.get("trust") or ""),
            status=(person.status if person else item.get("status")) or "",
            left_out=pk in (row.left_out or [])))
    return found


def state_words(row: DedupConflict, people: dict[int, Person], pairs) -> str:
    """"open", "resolved: kept apart", "resolved: merged" — judged on the people as they are."""
    live = [m for m in members(row, people) if m.live]
    merged_since = len(live) < len(row.person_ids)
    by_pk = {m.pk: m for m in live}
    parts = split_apart([m.person for m in live], pairs)
    for part in parts:
        inside = [by_pk[p.pk] for p in part]
        if row.kind == ReviewKind.USER_IDS and len({m.user_id for m in inside if m.user_id}) > 1:
            return "open"
        if row.kind == ReviewKind.TYPED_EMAIL and any(
                m.left_out and any(o.vouches for o in inside if o.pk != m.pk) for m in inside):
            return "open"
    return "resolved: merged" if merged_since else "resolved: kept apart"


def attach_states(rows: list[DedupConflict]) -> None:
    ids = {pk for row in rows for pk in row.person_ids}
    people = Person.objects.only("id", "name", "email", "user_id", "status", "merged_into_id",
                                 "updated_at").in_bulk(ids)
    pairs = kept_apart_pairs(ids)
    for row in rows:
        row.people_now = people
        row.state = state_words(row, people, pairs)


class ConflictRunFilter(admin.SimpleListFilter):
    """Each run lists its conflicts again: by default show the latest run's, not every night's."""

    title = "run"
    parameter_name = "runs"

    def lookups(self, request, model_admin):
        return [("all", "All runs")]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Latest run",
        }
        yield from list(super().choices(changelist))[1:]

    def queryset(self, request, queryset):
        if self.value() == "all" or "run__id__exact" in request.GET:
            return queryset
        latest = DedupConflict.objects.order_by("-run_id").values_list("run_id", flat=True)[:1]
        return queryset.filter(run_id__in=list(latest))


class DedupConflictAdmin(ReadOnlyAdmin):
    list_display = ["email_display", "kind_display", "people_display", "actions_display",
                    "state_display", "run_link"]
    list_filter = [ConflictRunFilter, "kind", "run__dry_run"]
    search_fields = ["email_normalized"]
    list_select_related = ["run"]
    list_per_page = 25

    def changelist_view(self, request, extra_context=None):
        extra = {"title": "Dedup conflicts and reviews: people the dedup left for you to decide"}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        attach_states(rows)
        for row in rows:  # what the viewer may do depends on their permissions
            row.actions = _actions(row, request)
        return changelist

    @admin.display(description="email", ordering="email_normalized")
    def email_display(self, obj: DedupConflict) -> str:
        return obj.email_normalized

    @admin.display(description="why not merged", ordering="kind")
    def kind_display(self, obj: DedupConflict) -> str:
        if obj.kind == ReviewKind.TYPED_EMAIL:
            return "Needs review: an email only typed in chat"
        return "Conflict: different user IDs"

    @admin.display(description="people, user ID, email")
    def people_display(self, obj: DedupConflict) -> str:
        people = getattr(obj, "people_now", {})
        return format_html(
            '<table class="conflict-people"><thead><tr><th>Person</th><th>User ID</th>'
            "<th>Email learned</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}{}</td><td>{}</td><td>{}</td></tr>", (
                (person_link(m.pk, m.person),
                 mark_safe(" <strong>(left out)</strong>") if m.left_out else "",
                 m.user_id or "—", TRUST_WORDS.get(m.trust, m.trust or "—"))
                for m in members(obj, people))))

    @admin.display(description="what you can do")
    def actions_display(self, obj: DedupConflict) -> str:
        return getattr(obj, "actions", "") or "—"

    @admin.display(description="state")
    def state_display(self, obj: DedupConflict) -> str:
        return getattr(obj, "state", "")

    @admin.display(description="run")
    def run_link(self, obj: DedupConflict) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:dedup_deduprun_change", args=[obj.run_id]),
            obj.run,
        )


def _actions(obj: DedupConflict, request) -> str:
    if getattr(obj, "state", "open") != "open":
        return ""
    here = request.get_full_path()
    live = [m for m in members(obj, getattr(obj, "people_now", {})) if m.live]
    links = []
    if request.user.has_perm(MARK_PERMISSION):
        links.append(_mark_link(obj, live, here))
    if request.user.has_perm(MERGE_PERMISSION):
        links.extend(_merge_links(obj, live))
    return format_html_join(mark_safe("<br>"), "{}", ((link,) for link in links))


def _mark_link(obj: DedupConflict, live: list[Member], here: str) -> str:
    if obj.kind == ReviewKind.TYPED_EMAIL:
        left = [m.pk for m in live if m.left_out]
        holders = [m.pk for m in live if not m.left_out and m.vouches]
        return format_html('<a class="conflict-mark" href="{}">Keep apart (not the same '
                           "person)…</a>", mark_url(left, apart_from=holders, next_url=here))
    return format_html('<a class="conflict-mark" href="{}">Mark as different people…</a>',
                       mark_url([m.pk for m in live], next_url=here))


def _merge_links(obj: DedupConflict, live: list[Member]) -> list[str]:
    """Merge whom may be merged into one chosen target, through the merge preview."""
    if obj.kind == ReviewKind.TYPED_EMAIL:
        movers = [m for m in live if m.left_out]
        targets = [m for m in live if not m.left_out and m.vouches]
    else:
        movers = [m for m in live if not m.user_id]
        targets = [m for m in live if m.user_id]
    if not movers:
        return []
    who = "them" if len(movers) > 1 else movers[0].person.display_name
    return [format_html('<a class="conflict-merge" href="{}">Merge {} into {} (#{}, {})…</a>',
                        preview_url([t.pk, *(m.pk for m in movers)], base=t.pk), who,
                        t.person.display_name, t.pk, t.user_id or "no user ID")
            for t in targets]
