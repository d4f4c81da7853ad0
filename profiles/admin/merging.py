"""Merge flow in the admin (merge view, preview, confirm), mixed into PersonAdmin.

The views live in profiles/admin/merge/ and profiles/admin/duplicates.py; this mixin only
adds their URLs, the changelist actions and the person page's sidebar context.
"""

from __future__ import annotations

from functools import update_wrapper

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse

from profiles.admin.duplicates import duplicates_view
from profiles.admin.merge.delete import delete_confirmation, delete_people_view
from profiles.admin.merge.search import merge_search_view
from profiles.admin.merge.views import MERGE_PERMISSION, pick_view, preview_url, preview_view
from profiles.selectors.duplicates import suspected_duplicates_of


def kept_apart_context(request, person) -> dict:
    """The person page's "Not the same person as" box: marks in force, and what staff may do."""
    from dedup.admin_marks import MARK_PERMISSION, REMOVE_PERMISSION, remove_url
    from dedup.services.marks import marks_of

    here = request.get_full_path()
    marks = [(mark, other, remove_url(mark, next_url=here)) for mark, other in marks_of(person)]
    return {"kept_apart": marks, "can_mark": request.user.has_perm(MARK_PERMISSION),
            "can_unmark": request.user.has_perm(REMOVE_PERMISSION),
            "mark_action": reverse("admin:dedup_keptapart_mark")}


class MergeAdminMixin:
    """Adds the merge URLs, object tool and changelist action to PersonAdmin."""

    actions = ["merge_selected", "delete_selected_people"]

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"

        def wrap(view):
            def wrapper(request, *args, **kwargs):
                return view(self, request, *args, **kwargs)

            return self.admin_site.admin_view(update_wrapper(wrapper, view))

        return [
            path("merge/", wrap(preview_view), name=f"{prefix}_merge_preview"),
            path("merge/search/", wrap(merge_search_view), name=f"{prefix}_merge_search"),
            path("duplicates/", wrap(duplicates_view), name=f"{prefix}_duplicates"),
            path("delete-people/", wrap(delete_people_view), name=f"{prefix}_delete_people"),
            path("<path:object_id>/merge/", wrap(pick_view), name=f"{prefix}_merge"),
            *super().get_urls(),
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Our delete goes through the deletion service (tombstones, journal, history).
        actions.pop("delete_selected", None)
        return actions

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm(MERGE_PERMISSION)

    @admin.action(permissions=["merge"], description="Merge selected people")
    def merge_selected(self, request, queryset):
        ids = sorted(queryset.values_list("pk", flat=True))
        if len(ids) < 2:
            self.message_user(request, "Select at least two people to merge.", messages.WARNING)
            return None
        return HttpResponseRedirect(preview_url(ids))

    @admin.action(permissions=["delete"], description="Delete selected people")
    def delete_selected_people(self, request, queryset):
        return delete_confirmation(self, request, list(queryset.order_by("id")))

    def delete_view(self, request, object_id, extra_context=None):
        """The page behind "Delete": ours, so tombstones and journal entries go deliberately."""
        person = self.get_object(request, object_id)
        if person is None:
            raise Http404("No person with this ID.")
        if not self.has_delete_permission(request, person):
            raise PermissionDenied
        return delete_confirmation(self, request, [person])

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match and match.url_name == "autocomplete" and \
                request.GET.get("field_name") == "merged_into":
            # The merge picker's autocomplete: only live people can be merged.
            queryset = queryset.filter(merged_into__isnull=True)
        return queryset

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        person = extra_context.get("person")
        if person is not None:
            from dedup.admin_marks import mark_url

            here = request.get_full_path()
            extra_context["suspects"] = [
                (suspect, preview_url([person.pk, suspect.person.pk]),
                 mark_url([person.pk, suspect.person.pk], next_url=here))
                for suspect in suspected_duplicates_of(person)
            ]
            extra_context["can_merge"] = self.has_merge_permission(request)
            extra_context["can_delete_person"] = self.has_delete_permission(request, person)
            extra_context.update(kept_apart_context(request, person))
        return super().change_view(request, object_id, form_url, extra_context)
