"""Identity, Activity and Tag admins: browsable; the timeline is read-only; user ID identities
are read-only here (managed through the person's user ID)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count

from profiles.admin.history import ReadOnlyHistoryAdmin
from profiles.admin.pagination import EstimatedCountPaginator
from profiles.models import Activity, Identity, IdentityKind, Person, Tag
from profiles.services.normalize import normalize_identity_value


class IdentityForm(forms.ModelForm):
    """Devices, emails and phones. A user ID is the person's own field: it is managed there
    (the person form keeps field and identity in step), never here."""

    class Meta:
        model = Identity
        fields = ["person", "kind", "value"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            self.fields["kind"].choices = [
                (value, label) for value, label in self.fields["kind"].choices
                if value != IdentityKind.USER_ID
            ]
            self.fields["kind"].help_text = (
                "A user ID is set on the person's page (its User ID field), not here.")

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        if kind == IdentityKind.USER_ID:
            raise ValidationError("A user ID is set on the person's page, not here.")
        return kind

    def clean_person(self) -> Person:
        person = self.cleaned_data["person"]
        if person.merged_into_id is not None:
            raise ValidationError(
                f"#{person.pk} was merged into #{person.merged_into_id}: choose the live "
                "profile.")
        return person

    def clean(self):
        cleaned = super().clean()
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind and value:
            cleaned["value"] = normalize_identity_value(kind=kind, value=value)
            self.instance.value = cleaned["value"]
        return cleaned


@admin.register(Identity)
class IdentityAdmin(ReadOnlyHistoryAdmin):
    form = IdentityForm
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
        fields = ["original_person", "created_at"] if obj else ["created_at"]
        return [*super().get_readonly_fields(request, obj), *fields]

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.kind == IdentityKind.USER_ID:
            return False  # managed through the person's user ID
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.kind == IdentityKind.USER_ID:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Bulk delete would take user IDs with the rest: identities go one by one.
        actions.pop("delete_selected", None)
        return actions

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
