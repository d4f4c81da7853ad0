"""Selective delete, modelled on contrib.admin's delete_selected.

The first POST (the changelist action, or the suspected-duplicates form) renders a
confirmation page listing each person and what goes with them; that page re-posts the ids
with post=yes and the second pass calls the deletion service, logs and messages.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from profiles.admin.params import parse_ids
from profiles.models import Person
from profiles.services.deletion import delete_people, plan_deletion


def _next_url(request) -> str:
    candidate = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(candidate, {request.get_host()},
                                       require_https=request.is_secure()):
        return candidate
    return reverse("admin:profiles_person_changelist")


def delete_confirmation(modeladmin, request, people: list[Person]):
    """The confirmation page (the first pass)."""
    tombstones = [person for person in people if person.merged_into_id is not None]
    live = [person for person in people if person.merged_into_id is None]
    if tombstones:
        modeladmin.message_user(request, "Skipped merged profiles (delete the surviving "
                                "profile instead): " + ", ".join(f"#{p.pk}" for p in tombstones),
                                messages.WARNING)
    if not live:
        modeladmin.message_user(request, "Select at least one live person to delete.",
                                messages.WARNING)
        return HttpResponseRedirect(_next_url(request))
    return TemplateResponse(request, "admin/profiles/person/delete_people_confirmation.html", {
        **modeladmin.admin_site.each_context(request),
        "title": "Are you sure?",
        "opts": modeladmin.opts,
        "plan": (plan := plan_deletion(people=live)),
        "has_tombstones": any(item.tombstones for item in plan),
        "next": _next_url(request),
        "action_url": reverse("admin:profiles_person_delete_people"),
    })


def delete_people_view(modeladmin, request):
    if not modeladmin.has_delete_permission(request):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    ids = parse_ids(request.POST.getlist("ids"))
    people = list(Person.objects.filter(pk__in=ids).order_by("id"))
    if request.POST.get("post") != "yes":
        return delete_confirmation(modeladmin, request, people)
    if not people:  # a resent form: they are gone already
        modeladmin.message_user(request, "Those people were already deleted.", messages.INFO)
        return HttpResponseRedirect(_next_url(request))
    return _delete(modeladmin, request, people)


def _delete(modeladmin, request, people: list[Person]):
    reason = request.POST.get("reason", "").strip()[:100] or "deleted by staff as a duplicate"
    try:
        with transaction.atomic():
            plan = plan_deletion(people=people)
            doomed = [obj for item in plan for obj in (item.person, *item.tombstones)]
            modeladmin.log_deletions(request, doomed)  # before: the ids go with the rows
            summary = delete_people(people=people, actor=request.user, reason=reason)
    except ValidationError as error:
        modeladmin.message_user(request, "Nothing was deleted: " + " ".join(error.messages),
                                messages.ERROR)
        return HttpResponseRedirect(_next_url(request))
    text = f"Deleted {len(summary.deleted)} " + ("person" if len(summary.deleted) == 1
                                                 else "people")
    if summary.people_count > len(summary.deleted):
        text += f" and {summary.people_count - len(summary.deleted)} merged profiles"
    if summary.merge_records_deleted:
        records = ", #".join(map(str, summary.merge_records_deleted))
        text += f"; removed merge journal entries #{records}"
    modeladmin.message_user(request, text + ".", messages.SUCCESS)
    return HttpResponseRedirect(_next_url(request))
