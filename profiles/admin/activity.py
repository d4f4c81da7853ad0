"""Identity, Activity and Tag admins: browsable; the timeline is read-only."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from simple_history.admin import SimpleHistoryAdmin

from profiles.admin.pagination import EstimatedCountPaginator
from profiles.models import Activity, Identity, Tag


@admin.register(Identity)
class IdentityAdmin(SimpleHistoryAdmin):
    list_display = ["value", "kind", "person", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["person"]
    search_fields = ["=value"]
    search_help_text = "Exact identity value."
    raw_id_fields = ["person", "original_person"]
    readonly_fields = ["original_person", "created_at"]
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # The first owner is recorded once, at creation; it is what merge undo relies on.
        return ["original_person", "created_at"] if obj else ["created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.original_person = obj.person
        super().save_model(request, obj, form, change)

    def get_fields(self, request, obj=None):
        fields = ["person", "kind", "value"]
        return [*fields, "original_person", "created_at"] if obj else fields


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "person", "source"]
    list_filter = ["kind", "source"]
    list_select_related = ["person"]
    raw_id_fields = ["person", "original_person", "conversation", "site"]
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    search_fields = ["=person__id"]
    search_help_text = "Person ID number."

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color", "people_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_people=Count("person_tags"))

    @admin.display(description="people", ordering="_people")
    def people_count(self, obj: Tag) -> int:
        return obj._people
