"""Person admin: a fast list, and a profile page with a sidebar and a paginated timeline."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from profiles.admin.filters import IdentifiedFilter, LiveOrMergedFilter
from profiles.admin.merging import MergeAdminMixin
from profiles.admin.pagination import EstimatedCountPaginator
from profiles.admin.search import search_people
from profiles.models import Activity, Person
from profiles.services.people import apply_staff_edit, holder_of_user_id

TIMELINE_PAGE_SIZE = 25


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ["name", "email", "phone", "user_id", "status", "company", "city", "country",
                  "os", "browser", "attributes"]

    def clean_user_id(self) -> str | None:
        """Refused here, not by a database error on save (see holder_of_user_id)."""
        user_id = (self.cleaned_data.get("user_id") or "").strip() or None
        if user_id is None:
            return None
        holder = holder_of_user_id(user_id=user_id, excluding=self.instance.pk)
        if holder is not None:
            raise forms.ValidationError(
                f"This user ID already belongs to {holder.display_name} (#{holder.pk})."
            )
        return user_id


@admin.register(Person)
class PersonAdmin(MergeAdminMixin, SimpleHistoryAdmin):
    form = PersonForm
    list_display = [
        "avatar", "display_name", "email", "user_id", "status", "last_seen", "page_views",
    ]
    list_display_links = ["avatar", "display_name"]
    list_filter = [LiveOrMergedFilter, "status", IdentifiedFilter]
    search_fields = ["name"]  # shows the search box; the lookup itself is search_people()
    search_help_text = "Name or email prefix, exact user ID, ID number or any identity value."
    ordering = ["-id"]
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts would count the whole table once per filter choice.
    show_facets = admin.ShowFacets.NEVER
    view_on_site = False
    change_form_template = "admin/profiles/person/change_form.html"
    readonly_fields = [
        "avatar", "email_normalized", "created_at", "updated_at", "first_seen", "last_seen",
        "last_contacted", "last_heard_from", "page_views", "visits", "merged_into", "merged_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "email", "phone", "user_id", "status"]}),
        ("Company and location", {"fields": ["company", "city", "country"]}),
        ("Device", {"fields": ["os", "browser"]}),
        ("Custom attributes", {"fields": ["attributes"]}),
        ("Activity", {
            "fields": [
                "created_at", "updated_at", "first_seen", "last_seen", "last_contacted",
                "last_heard_from", "page_views", "visits",
            ],
            "classes": ["collapse"],
        }),
        ("Merge", {"fields": ["merged_into", "merged_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="")
    def avatar(self, obj: Person) -> str:
        return format_html(
            '<img src="{}" width="32" height="32" alt="" style="border-radius:50%">',
            obj.avatar_url,
        )

    @admin.display(description="name", ordering="name")
    def display_name(self, obj: Person) -> str:
        return obj.display_name

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return search_people(queryset, search_term), False

    def save_model(self, request, obj: Person, form, change: bool) -> None:
        apply_staff_edit(
            person=obj, changed_fields=form.changed_data if change else None, actor=request.user
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        person = self.get_object(request, object_id)
        if person is not None and person.merged_into_id is not None:
            base = person
            while base.merged_into_id is not None:
                base = Person.objects.get(pk=base.merged_into_id)
            self.message_user(
                request,
                f"{person.display_name} (#{person.pk}) was merged into "
                f"{base.display_name} (#{base.pk}); showing the surviving profile.",
                messages.INFO,
            )
            return HttpResponseRedirect(reverse("admin:profiles_person_change", args=[base.pk]))
        extra_context = {**(extra_context or {}), **self._sidebar_context(request, person)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _sidebar_context(self, request, person: Person | None) -> dict:
        if person is None:
            return {}
        timeline = Activity.objects.filter(person=person).order_by("-occurred_at", "-id")
        page = Paginator(timeline, TIMELINE_PAGE_SIZE).get_page(request.GET.get("timeline_page"))
        return {
            "person": person,
            "identities": person.identities.order_by("kind", "value"),
            "person_tags": person.tags.order_by("name"),
            "timeline_page": page,
        }
