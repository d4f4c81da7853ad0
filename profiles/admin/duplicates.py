"""The "Suspected duplicates" admin view: groups of live people sharing an email or phone."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse

from profiles.admin.merge.views import MERGE_PERMISSION, preview_url
from profiles.selectors.duplicates import GROUP_KINDS, duplicate_groups, duplicate_key_page

GROUPS_PER_PAGE = 25


def duplicates_view(modeladmin, request):
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied
    kind = request.GET.get("by", "email")
    if kind not in GROUP_KINDS:
        kind = "email"
    # Paged by key, not by number: every page is a short index walk, even at a million people.
    page = duplicate_key_page(kind, after=request.GET.get("after"),
                              before=request.GET.get("before"), size=GROUPS_PER_PAGE)
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
