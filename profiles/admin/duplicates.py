"""The "Suspected duplicates" admin view: groups of live people sharing an email or phone."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.urls import reverse

from profiles.admin.merge.views import MERGE_PERMISSION, preview_url
from profiles.selectors.duplicates import GROUP_KINDS, duplicate_groups, duplicate_keys

GROUPS_PER_PAGE = 25


def duplicates_view(modeladmin, request):
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied
    kind = request.GET.get("by", "email")
    if kind not in GROUP_KINDS:
        kind = "email"
    page = Paginator(duplicate_keys(kind), GROUPS_PER_PAGE).get_page(request.GET.get("page"))
    groups = duplicate_groups(kind, list(page.object_list))
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
