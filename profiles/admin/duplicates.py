"""The "Suspected duplicates" admin view: groups of live people sharing an email or phone."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from profiles.admin.merge.views import MERGE_PERMISSION, preview_url
from profiles.selectors.duplicates import GROUP_KINDS, duplicate_groups, duplicate_key_page

GROUPS_PER_PAGE = 25
MAX_KEY_LENGTH = 254  # the longest email or phone a group can be keyed on


def _key(value: str | None) -> str | None:
    """A group key from the query string; a NUL (PostgreSQL text cannot hold one) is no key."""
    if value is None or "\x00" in value:
        return None
    return value[:MAX_KEY_LENGTH]


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
    return TemplateResponse(request, "admin/profiles/person/duplicates.html", {
        **modeladmin.admin_site.each_context(request),
        "title": "Suspected duplicates",
        "opts": modeladmin.opts,
        "kind": kind,
        "kinds": [(key, label) for key, (label, _column) in GROUP_KINDS.items()],
        "page": page,
        "groups": [
            (group, preview_url([p.pk for p in group.people]) if can_merge else None)
            for group in groups
        ],
        "can_delete": modeladmin.has_delete_permission(request),
        "delete_url": reverse("admin:profiles_person_delete_people"),
        "here": request.get_full_path(),
    })
