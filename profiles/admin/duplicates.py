"""The "Suspected duplicates" admin view: groups of live people sharing an email or phone."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from dedup.admin_marks import MARK_PERMISSION, mark_url
from profiles.admin.merge.views import MERGE_PERMISSION, preview_url
from profiles.models import Person
from profiles.selectors.duplicates import (
    GROUP_KINDS,
    DuplicateGroup,
    duplicate_groups,
    duplicate_key_page,
)

GROUPS_PER_PAGE = 25
MAX_KEY_LENGTH = 254  # the longest email or phone a group can be keyed on


def _key(value: str | None) -> str | None:
    """A group key from the query string; a NUL (PostgreSQL text cannot hold one) is no key."""
    if value is None or "\x00" in value:
        return None
    return value[:MAX_KEY_LENGTH]


@dataclass
class GroupActions:
    """What staff can do with one group: merge it whole (never a conflict: people with
    different user IDs are never merged together), merge those without a user ID into one
    of the user-ID holders, or mark them as different people."""

    group: DuplicateGroup
    merge_url: str | None = None
    partial_merges: list[tuple[Person, str]] = field(default_factory=list)
    mark_url: str | None = None


def group_actions(group: DuplicateGroup, *, can_merge: bool, can_mark: bool, here: str
                  ) -> GroupActions:
    actions = GroupActions(group)
    if len(group.people) < 2:
        return actions
    ids = [p.pk for p in group.people]
    if can_mark:
        actions.mark_url = mark_url(ids, next_url=here)
    if not can_merge:
        return actions
    if not group.is_conflict:
        actions.merge_url = preview_url(ids)
    elif group.without_user_id:
        movers = [p.pk for p in group.without_user_id]
        actions.partial_merges = [(holder, preview_url([holder.pk, *movers], base=holder.pk))
                                  for holder in group.user_id_holders]
    return actions


def duplicates_view(modeladmin, request):
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied
    kind = request.GET.get("by", "email")
    if kind not in GROUP_KINDS:
        kind = "email"
    # Paged by key, not by number: every page is a short index walk, even at a million people.
    after, before = _key(request.GET.get("after")), _key(request.GET.get("before"))
    page = duplicate_key_page(kind, after=after, before=before, size=GROUPS_PER_PAGE)
    if not page.keys and (after is not None or before is not None):
        # A stale Next/Previous link (a dedup merged those groups since) or a made-up key.
        modeladmin.message_user(request, "That page of groups no longer exists (the groups "
                                "changed since); showing the first page.", messages.INFO)
        return HttpResponseRedirect(f"{request.path}?{urlencode({'by': kind})}")
    groups = duplicate_groups(kind, page.keys)
    can_merge = request.user.has_perm(MERGE_PERMISSION)
    can_mark = request.user.has_perm(MARK_PERMISSION)
    here = request.get_full_path()
    return TemplateResponse(request, "admin/profiles/person/duplicates.html", {
        **modeladmin.admin_site.each_context(request),
        "title": "Suspected duplicates",
        "opts": modeladmin.opts,
        "kind": kind,
        "kinds": [(key, label) for key, (label, _column) in GROUP_KINDS.items()],
        "page": page,
        "groups": [group_actions(group, can_merge=can_merge, can_mark=can_mark, here=here)
                   for group in groups],
        "selectable": any(group.people for group in groups),
        "can_delete": modeladmin.has_delete_permission(request),
        "can_mark": can_mark,
        "mark_action": reverse("admin:dedup_keptapart_mark"),
        "delete_url": reverse("admin:profiles_person_delete_people"),
        "here": request.get_full_path(),
    })
