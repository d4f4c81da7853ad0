"""Segments in the admin: the list (name, members, last rebuild, enabled) and a change form
whose JSON definition is checked by the one checker (errors name the bad node's path). Saving
goes through the services, which rebuild the members."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from profiles.admin.plain import when
from segments.builder import RuleBuilderWidget
from segments.models import Segment
from segments.progress import progress_words
from segments.services import (
    DefinitionError,
    SegmentRefused,
    count_matching,
    create_segment,
    parse_definition,
    sample_matching,
    update_segment,
)
from segments.services.membership import live_members
from segments.services.rebuild import current_rebuild, rebuilds_in_background
from segments.services.segments import EDITABLE
from segments.services.words import describe

DEFINITION_HELP = (
    "The rule, as JSON: groups {\"all\": […]}, {\"any\": […]}, {\"not\": …}; field conditions "
    "{\"field\": \"city\", \"op\": \"eq\", \"value\": \"Paris\"}; behaviour conditions "
    "{\"kind\": \"event\", \"where\": {\"name\": \"Added to cart\"}, \"count\": {\"op\": \"gte\", "
    "\"value\": 3}, \"within_days\": 7}. See docs/segments.md."
)


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "key", "description", "enabled", "visible_to_website", "definition"]
        widgets = {"definition": RuleBuilderWidget()}
        help_texts = {"definition": DEFINITION_HELP,
                      "key": "A short name for the API and webhooks (letters, digits, -)."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "key" in self.fields:  # a view-only form has none
            self.fields["key"].required = False  # derived from the name when left empty

    def clean_key(self):
        key = self.cleaned_data.get("key")
        taken = Segment.objects.filter(key=key).exclude(pk=self.instance.pk)
        if key and taken.exists():
            raise forms.ValidationError("Another segment already has this key.", code="taken")
        return key

    def clean_definition(self):
        definition = self.cleaned_data["definition"]
        try:
            parse_definition(definition)
        except DefinitionError as error:
            raise forms.ValidationError(
                "The rule is not valid at %(path)s: %(reason)s",
                params={"path": error.path, "reason": error.reason}, code="invalid") from error
        return definition


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "key", "members", "last_rebuild", "enabled", "visible_to_website"]
    list_filter = ["enabled", "visible_to_website"]
    search_fields = ["name", "key"]
    readonly_fields = ["rule_in_words", "matches", "members", "rebuild", "last_rebuild",
                       "created", "updated"]
    fieldsets = [
        (None, {"fields": ["name", "key", "description", "enabled", "visible_to_website"]}),
        ("Rule", {"fields": ["definition", "rule_in_words", "matches"]}),
        ("Members", {"fields": ["members", "rebuild", "last_rebuild", "created", "updated"]}),
    ]

    class Media:
        js = ["segments/rebuild_progress.js"]

    def get_urls(self):
        preview = path("preview/", self.admin_site.admin_view(self.preview_view),
                       name="segments_segment_preview")
        progress = path("<int:object_id>/rebuild-progress/",
                        self.admin_site.admin_view(self.progress_view),
                        name="segments_segment_rebuild_progress")
        return [preview, progress, *super().get_urls()]

    def progress_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        """GET: the latest rebuild in words (the change page asks while one runs)."""
        segment = get_object_or_404(Segment, pk=object_id)
        if not self.has_view_permission(request, segment):
            return JsonResponse({"error": {"message": "Not allowed."}}, status=403)
        rebuild = current_rebuild(segment)
        return JsonResponse({"text": progress_words(rebuild),
                             "running": bool(rebuild and rebuild.running),
                             "fields": {"members": self.members(segment),
                                        "last_rebuild": self.last_rebuild(segment)}})

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """POST a definition: how many people it matches now and a few of them (the builder's
        live count). Writes nothing; a bad rule is a 400 naming the path."""
        if request.method != "POST":
            return JsonResponse({"error": {"message": "Use POST."}}, status=405)
        if not self.has_view_permission(request):
            return JsonResponse({"error": {"message": "Not allowed."}}, status=403)
        try:
            definition = json.loads(request.POST.get("definition", ""))
            count = count_matching(definition=definition)
            sample = sample_matching(definition=definition)
        except ValueError as error:  # not JSON
            return JsonResponse({"error": {"path": "$", "message": f"Not JSON ({error})."}},
                                status=400)
        except DefinitionError as error:
            return JsonResponse({"error": {"path": error.path, "message": error.reason}},
                                status=400)
        people = [{"id": p.pk, "name": p.display_name, "url": p.get_absolute_url()}
                  for p in sample]
        return JsonResponse({"count": count, "sample": people})

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # adding: what it matches and who made it come after saving
            return [(None, {"fields": ["name", "key", "description", "enabled",
                                       "visible_to_website"]}),
                    ("Rule", {"fields": ["definition"]})]
        return super().get_fieldsets(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count(
            "memberships", filter=Q(memberships__person__merged_into__isnull=True)))

    @admin.display(description="members", ordering="_members")
    def members(self, obj: Segment) -> str:
        count = getattr(obj, "_members", None)
        if count is None:
            count = live_members(obj).count()
        return f"{count:,}"

    @admin.display(description="rebuild")
    def rebuild(self, obj: Segment) -> str:
        rebuild = current_rebuild(obj)
        running = bool(rebuild and rebuild.running)
        url = reverse("admin:segments_segment_rebuild_progress", args=[obj.pk])
        return format_html('<span data-rebuild-progress="{}" data-running="{}">{}</span>',
                           url, "yes" if running else "", progress_words(rebuild))

    @admin.display(description="last rebuild", ordering="last_rebuilt_at")
    def last_rebuild(self, obj: Segment) -> str:
        return when(obj.last_rebuilt_at)

    @admin.display(description="created")
    def created(self, obj: Segment) -> str:
        return f"{when(obj.created_at)} by {obj.created_by or 'the system'}"

    @admin.display(description="last changed")
    def updated(self, obj: Segment) -> str:
        return f"{when(obj.updated_at)} by {obj.updated_by or 'the system'}"

    @admin.display(description="the rule in words")
    def rule_in_words(self, obj: Segment) -> str:
        try:
            return describe(parse_definition(obj.definition))
        except DefinitionError as error:
            return f"Not a valid rule ({error.messages[0]})"

    @admin.display(description="matches now")
    def matches(self, obj: Segment) -> str:
        try:
            count = count_matching(definition=obj.definition)
        except DefinitionError:
            return "—"
        return f"{count:,} {'person' if count == 1 else 'people'}"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (SegmentRefused, DefinitionError) as error:
            self.message_user(request, f"Nothing was saved: {error.messages[0]}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: Segment, form, change: bool) -> None:
        data = form.cleaned_data
        # Many people: the members are rebuilt by the Celery workers, in chunks, and the
        # page shows the progress; few: here, before the page comes back. A refusal (a key
        # taken since the form checked it) reaches changeform_view.
        background = rebuilds_in_background()
        if change:
            changes = {name: data[name] for name in form.changed_data if name in EDITABLE}
            saved = update_segment(segment=obj, actor=request.user,
                                   in_background=background, **changes)
        else:
            saved = create_segment(
                name=data["name"], key=data.get("key") or None,
                description=data.get("description", ""), enabled=data["enabled"],
                visible_to_website=data["visible_to_website"],
                definition=data["definition"], actor=request.user,
                in_background=background)
        for field in Segment._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False
        self.message_user(request, self._saved_words(saved, background), messages.INFO)

    @staticmethod
    def _saved_words(saved: Segment, background: bool) -> str:
        if background:
            return (f"“{saved.name}” is being rebuilt by the background workers; its page "
                    "shows the progress.")
        members = live_members(saved).count()
        return f"“{saved.name}” has {members:,} {'member' if members == 1 else 'members'} now."
