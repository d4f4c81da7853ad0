"""Merge journal admin: read-only list and detail of MergeRecords, and Undo (confirm, POST)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from profiles.admin.merge.display import (
    decision_rows,
    journal_title,
    moved_rows,
    name_before,
    participants,
    person_link,
)
from profiles.admin.merge.views import BUSY
from profiles.admin.plain import when
from profiles.models import MergeRecord, Person
from profiles.services.resolution import ConflictError, atomic_with_retry

UNDO_PERMISSION = "profiles.undo_merge"


class UndoneFilter(admin.SimpleListFilter):
    title = "undone"
    parameter_name = "undone"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(undone_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(undone_at__isnull=True)
        return queryset


@admin.register(MergeRecord)
class MergeRecordAdmin(admin.ModelAdmin):
    """The journal is history: nobody edits or deletes it here; undo is its own audited act."""

    list_display = ["id", "created_at", "base_display", "merged_display", "reason",
                    "actor_display", "undone_display"]
    list_filter = ["reason", UndoneFilter]
    list_select_related = ["base", "actor"]
    date_hierarchy = "created_at"
    search_fields = ["=base__id"]
    search_help_text = "Base ID number."
    change_form_template = "admin/profiles/mergerecord/change_form.html"
    fieldsets = [
        (None, {"fields": ["created_at", "actor_display", "reason", "dedup_run", "base_display",
                           "merged_display", "undone_display"]}),
        ("Field by field: the merged profile, and everyone's values before", {
            "fields": ["decisions_table"], "classes": ["wide-table"]}),
        ("Rows moved", {"fields": ["moved_table"]}),
    ]
    readonly_fields = ["created_at", "actor_display", "reason", "dedup_run", "base_display",
                       "merged_display", "undone_display", "decisions_table", "moved_table"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="base")
    def base_display(self, record: MergeRecord) -> str:
        return person_link(record.base_id, record.base)

    @admin.display(description="merged")
    def merged_display(self, record: MergeRecord) -> str:
        people = Person.objects.in_bulk(record.merged_ids)
        return format_html_join(", ", "{}", ((person_link(pk, people.get(pk)),)
                                             for pk in record.merged_ids))

    @admin.display(description="by", ordering="actor")
    def actor_display(self, record: MergeRecord) -> str:
        return str(record.actor) if record.actor is not None else "system"

    @admin.display(description="undone")
    def undone_display(self, record: MergeRecord) -> str:
        if record.undone_at is None:
            return "—"
        return format_html("{} by {}", when(record.undone_at), record.undone_by or "system")

    @admin.display(description="fields")
    def decisions_table(self, record: MergeRecord) -> str:
        rows, hidden = decision_rows(record)
        if not rows:
            return "—"
        people = format_html_join("", '<th>{} before</th>', (
            (name_before(record, pk),) for pk in participants(record)))
        body = format_html_join("", "<tr><th scope=\"row\">{}</th><td class=\"result\">{}</td>"
                                "{}<td class=\"rule\">{}</td></tr>", (
            (row.label, row.result, format_html_join("", '<td class="{}">{}</td>', (
                ("winner" if won else "", value) for value, won in row.before)), row.rule)
            for row in rows))
        more = format_html('<tr><td colspan="{}" class="rule">{}</td></tr>',
                           len(participants(record)) + 3, hidden) if hidden else ""
        return format_html('<table class="merge-journal"><thead><tr><th>Field</th>'
                           "<th>Merged profile</th>{}<th>Rule</th></tr></thead>"
                           "<tbody>{}{}</tbody></table>", people, body, more)

    @admin.display(description="rows moved")
    def moved_table(self, record: MergeRecord) -> str:
        return _table(["Table", "Rows"], moved_rows(record))

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_undo"
        undo = self.admin_site.admin_view(self.undo_view)
        return [path("<path:object_id>/undo/", undo, name=name),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"can_undo": request.user.has_perm(UNDO_PERMISSION)}
        record = self.get_object(request, object_id)
        if record is not None:
            extra.update(title=f"Merge #{record.pk}: {journal_title(record)}", subtitle=None)
        return super().change_view(request, object_id, form_url,
                                   {**extra, **(extra_context or {})})

    def undo_view(self, request, object_id: str):
        """GET: confirmation page. POST (CSRF-checked by admin_view): undo the merge."""
        if not request.user.has_perm(UNDO_PERMISSION):
            raise PermissionDenied
        record = self.get_object(request, object_id)
        if record is None:
            raise Http404("No merge journal entry with this ID.")
        record_url = reverse("admin:profiles_mergerecord_change", args=[record.pk])
        if record.is_undone:
            # Second click or a stale page: nothing to do, and nothing to fear.
            self.message_user(request, f"Merge #{record.pk} was already undone.", messages.INFO)
            return HttpResponseRedirect(record_url)
        if request.method == "POST" and request.POST.get("post") == "yes":
            return self._undo(request, record, record_url)
        return TemplateResponse(request, "admin/profiles/mergerecord/undo_confirmation.html", {
            **self.admin_site.each_context(request),
            "title": f"Undo merge #{record.pk}?",
            "opts": self.opts,
            "record": record,
            "base_link": self.base_display(record),
            "merged_link": self.merged_display(record),
            "moved": moved_rows(record),
        })

    def _undo(self, request, record: MergeRecord, record_url: str):
        from profiles.services import undo_merge

        def undo_and_log() -> None:
            undo_merge(record=record, actor=request.user)
            self.log_change(request, record, f"Undid merge #{record.pk}.")

        try:
            atomic_with_retry(undo_and_log)  # a deadlock with a website write is redone
        except ConflictError:
            self.message_user(request, BUSY, messages.ERROR)
            return HttpResponseRedirect(record_url)
        except ValidationError as error:
            if getattr(error, "code", None) == "already_undone":  # a resent form
                self.message_user(request, f"Merge #{record.pk} was already undone.",
                                  messages.INFO)
                return HttpResponseRedirect(record_url)
            self.message_user(request, f"Could not undo merge #{record.pk}: "
                              f"{' '.join(error.messages)}", messages.ERROR)
            return HttpResponseRedirect(record_url)
        self.message_user(request, format_html(
            "Undid merge #{}: {} and {} are separate again.", record.pk,
            self.base_display(record), self.merged_display(record)), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:profiles_person_change", args=[record.base_id]))


def _table(headers: list[str], rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return "—"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "", "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html('<table class="merge-journal"><thead><tr>{}</tr></thead>'
                       "<tbody>{}</tbody></table>", head, body)
