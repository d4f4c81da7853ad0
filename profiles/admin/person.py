"""Person admin: a fast list, and a profile page with a sidebar and a paginated timeline.

Saving goes through the staff edit service (`apply_staff_edit`, `create_person`): only the
fields staff changed are written, under the person's lock, and a field somebody else changed
since the page was opened is refused with a message. A tombstone (merged person) is read-only;
its page redirects to the surviving profile.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from profiles.admin.filters import IdentifiedFilter, LiveOrMergedFilter
from profiles.admin.history import ReadOnlyHistoryAdmin
from profiles.admin.merge.display import person_link, short_text
from profiles.admin.merging import MergeAdminMixin
from profiles.admin.pagination import EstimatedCountPaginator
from profiles.admin.person_form import PersonForm
from profiles.admin.profile_panel import profile_rows
from profiles.admin.search import search_people
from profiles.admin.timeline import entries
from profiles.models import Activity, Person, PersonStatus
from profiles.services.people import (
    StaffEditRefused,
    apply_staff_edit,
    create_person,
    field_label,
)
from profiles.services.tombstones import resolve_live
from segments.admin_filters import SegmentFilter

TIMELINE_PAGE_SIZE = 25


@admin.register(Person)
class PersonAdmin(MergeAdminMixin, ReadOnlyHistoryAdmin):
    form = PersonForm
    list_display = [
        "avatar", "display_name", "email", "user_id", "status", "last_seen", "page_views",
    ]
    list_display_links = ["avatar", "display_name"]
    list_filter = [LiveOrMergedFilter, "status", IdentifiedFilter, SegmentFilter]
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
        "avatar", "email_normalized", "created_at", "updated_at", "first_seen",
        "last_seen", "last_contacted", "last_heard_from", "page_views", "visits", "merged_into",
        "merged_at",
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

    @admin.display(description="merged into")
    def merged_into_display(self, obj: Person) -> str:
        if obj.merged_into_id is None:
            return "—"
        return person_link(obj.merged_into_id, obj.merged_into)

    def get_list_display(self, request):
        # Merged profiles (tombstones) are listed on request: say whose they are now.
        if request.GET.get(LiveOrMergedFilter.parameter_name) in ("merged", "all"):
            return [*self.list_display, "merged_into_display"]
        return self.list_display

    def get_list_select_related(self, request):
        if request.GET.get(LiveOrMergedFilter.parameter_name) in ("merged", "all"):
            return ["merged_into"]
        return super().get_list_select_related(request)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return search_people(queryset, search_term), False

    def has_change_permission(self, request, obj=None) -> bool:
        # A tombstone is the journal's: only undo brings it back, only a merge changes it.
        if obj is not None and obj.merged_into_id is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.merged_into_id is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj: Person, form, change: bool) -> None:
        if change:
            saved = apply_staff_edit(person=obj.pk, changes=form.staff_changes(),
                                     opened=form.opened_values(), actor=request.user)
        else:
            values = {name: form.cleaned_data[name] for name in form.fields}
            if values["email"]:
                values["status"] = PersonStatus.USER  # an email set by staff: a user
            saved = create_person(**values, actor=request.user)
        # The admin's log entry and redirect use `obj`: make it the row as saved.
        for field in Person._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        person = self.get_object(request, object_id)
        if person is not None and person.merged_into_id is not None:
            return self._to_base(request, person)
        extra_context = {**(extra_context or {}), **self._sidebar_context(request, person)}
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        except StaffEditRefused as refusal:
            self.message_user(request, _refusal_text(refusal, request), messages.ERROR)
        except ValidationError as error:  # a user ID taken by someone else meanwhile
            self.message_user(request, "Nothing was saved: " + " ".join(error.messages),
                              messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def _to_base(self, request, person: Person):
        base = resolve_live(person)
        self.message_user(
            request,
            f"{person.display_name} (#{person.pk}) was merged into "
            f"{base.display_name} (#{base.pk}); showing the surviving profile. "
            "A merged profile cannot be edited (undo the merge from its journal entry).",
            messages.INFO,
        )
        return HttpResponseRedirect(reverse("admin:profiles_person_change", args=[base.pk]))

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
            "timeline": entries(page.object_list, person),
            "profile_rows": profile_rows(person),
        }


def _refusal_text(refusal: StaffEditRefused, request) -> str:
    """The service's reason, and what staff typed that was not saved (to redo it)."""
    text = refusal.messages[0]
    if refusal.code != "stale":
        return text
    typed = [f"{field_label(name)}: “{short_text(request.POST.get(name, ''), 80)}”"
             for name in refusal.fields]
    return f"{text} Not saved — {'; '.join(typed)}."
