"""Merge views: pick the other profile(s), preview field by field, confirm (POST).

Modelled on UserAdmin.user_change_password: plain views added by MergeAdminMixin.get_urls,
wrapped in admin_site.admin_view (login, staff, CSRF), with their own permission check.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from profiles.admin.merge.preview import overrides_from, preview_rows
from profiles.admin.params import parse_ids
from profiles.models import Person
from profiles.selectors.duplicates import suspected_duplicates_of
from profiles.services.resolution import ConflictError, atomic_with_retry

BUSY = ("These profiles were being changed by another request at the same moment; nothing was "
        "changed. Try again.")

MERGE_PERMISSION = "profiles.merge_person"


def require_merge_permission(request) -> None:
    if not request.user.has_perm(MERGE_PERMISSION):
        raise PermissionDenied


def preview_url(ids, base: int | None = None) -> str:
    query = [("ids", pk) for pk in ids] + ([("base", base)] if base else [])
    return f"{reverse('admin:profiles_person_merge_preview')}?{urlencode(query)}"


def person_url(pk: int) -> str:
    return reverse("admin:profiles_person_change", args=[pk])


class PickOthersForm(forms.Form):
    """The other profile(s), found by name, email, user ID or ID number (merge/search.py)."""

    def __init__(self, *args, admin_site, person: Person, **kwargs):
        from profiles.admin.merge.search import MergeSearchWidget

        super().__init__(*args, **kwargs)
        # The widget needs a Person→Person relation to draw itself; the answers come from
        # merge_search_view, which leaves out `person` and merged profiles.
        widget = MergeSearchWidget(
            Person._meta.get_field("merged_into"), admin_site, exclude=person.pk,
            attrs={"data-placeholder": "Search by name, email, user ID or ID number",
                   "style": "width: 36em"},
        )
        self.fields["ids"] = forms.ModelMultipleChoiceField(
            queryset=Person.objects.filter(merged_into__isnull=True).exclude(pk=person.pk),
            widget=widget, label="Profiles to merge",
        )


def pick_view(modeladmin, request, object_id: str):
    require_merge_permission(request)
    person = modeladmin.get_object(request, object_id)
    if person is None:
        raise Http404("No person with this ID.")
    if person.merged_into_id is not None:
        return HttpResponseRedirect(person_url(person.pk))  # the change view explains
    form = PickOthersForm(admin_site=modeladmin.admin_site, person=person)
    return TemplateResponse(request, "admin/profiles/person/merge_pick.html", {
        **modeladmin.admin_site.each_context(request),
        "title": f"Merge into {person.display_name}",
        "opts": modeladmin.opts,
        "person": person,
        "original": person,
        "form": form,
        "media": modeladmin.media + form.media,
        "suspects": [
            (suspect, preview_url([person.pk, suspect.person.pk]))
            for suspect in suspected_duplicates_of(person)
        ],
        "preview_action": reverse("admin:profiles_person_merge_preview"),
    })


def preview_view(modeladmin, request):
    """GET: the preview table. POST with post=yes: the merge itself."""
    require_merge_permission(request)
    data = request.POST if request.method == "POST" else request.GET
    ids = parse_ids(data.getlist("ids"))
    base_id = parse_ids([data.get("base", "")])
    people = Person.objects.in_bulk(ids + base_id)
    if len(people) < 2 or (base_id and base_id[0] not in people):
        modeladmin.message_user(
            request, "Choose at least two existing people to merge (one of them was not "
            "found: deleted since, or a wrong ID number).", messages.WARNING)
        return HttpResponseRedirect(_back([pk for pk in ids if pk in people]))
    base = people[base_id[0]] if base_id else _choose_base(people.values())
    others = [person for pk, person in people.items() if pk != base.pk]
    if request.method == "POST" and data.get("post") == "yes":
        return _confirm(modeladmin, request, base, others, data)
    return _render_preview(modeladmin, request, base, others)


def _choose_base(people) -> Person:
    from profiles.services import choose_base

    return choose_base(list(people))


def _back(ids: list[int]) -> str:
    if ids:
        return reverse("admin:profiles_person_merge", args=[ids[0]])
    return reverse("admin:profiles_person_changelist")


def _render_preview(modeladmin, request, base: Person, others: list[Person], overrides=None):
    from profiles.services import MergeRefused, merge_preview

    try:
        preview = merge_preview(base=base, others=others, overrides=overrides)
    except MergeRefused as refusal:
        return _refused(modeladmin, request, base, refusal)
    people = preview.people
    all_ids = [person.pk for person in people]
    rows, hidden_rows = preview_rows(preview)
    return TemplateResponse(request, "admin/profiles/person/merge_preview.html", {
        **modeladmin.admin_site.each_context(request),
        "title": f"Merge {len(others)} profile{'s' if len(others) > 1 else ''} "
                 f"into {base.display_name}",
        "opts": modeladmin.opts,
        "base": preview.base,
        "columns": [
            (person, None if person.pk == base.pk else preview_url(all_ids, base=person.pk))
            for person in people
        ],
        "rows": rows,
        "hidden_rows": hidden_rows,
        "moves": preview.moves,
        "parked": preview.parked,
        "ids": all_ids,
        "pick_url": reverse("admin:profiles_person_merge", args=[base.pk]),
        "kept_apart": _kept_apart_words(people),
    })


def _kept_apart_words(people: list[Person]) -> str:
    """"Ann Lee (#3) and Bob (#5)": pairs marked as not the same person, said before a merge."""
    from dedup.services.marks import kept_apart_pairs

    by_id = {person.pk: person for person in people}
    pairs = sorted(sorted(pair) for pair in kept_apart_pairs(by_id))
    return "; ".join(" and ".join(f"{by_id[pk].display_name} (#{pk})" for pk in pair)
                     for pair in pairs)


def _confirm(modeladmin, request, base: Person, others: list[Person], data):
    from profiles.services import MergeRefused, merge_people

    def merge_and_log():
        record = merge_people(
            base=base.pk, others=[other.pk for other in others], actor=request.user,
            reason="manual", overrides=overrides_from(data),
        )
        merged = ", ".join(f"#{other.pk}" for other in others)
        modeladmin.log_change(request, base, f"Merged {merged} into this person "
                                             f"(merge #{record.pk}).")
        for other in others:
            modeladmin.log_change(request, other, f"Merged into #{base.pk} "
                                                  f"(merge #{record.pk}).")
        return record

    try:
        # A deadlock with a website write to the same people is redone, as the API redoes its
        # side; only a race lost every time reaches staff, as a message.
        record = atomic_with_retry(merge_and_log)
    except MergeRefused as refusal:
        return _refused(modeladmin, request, base, refusal)
    except ConflictError:
        modeladmin.message_user(request, BUSY, messages.ERROR)
        return HttpResponseRedirect(person_url(base.pk))
    journal = reverse("admin:profiles_mergerecord_change", args=[record.pk])
    undo = reverse("admin:profiles_mergerecord_undo", args=[record.pk])
    modeladmin.message_user(request, format_html(
        'Merged {} into {}. <a href="{}">Journal entry #{}</a> '
        '<a class="button" href="{}" id="undo-merge">Undo</a>',
        ", ".join(other.display_name for other in others), base.display_name,
        journal, record.pk, undo,
    ), messages.SUCCESS)
    return HttpResponseRedirect(person_url(base.pk))


def _refused(modeladmin, request, base: Person, refusal):
    """No write happened. A resent form (already merged) is news, not an error."""
    if refusal.code == "already_merged":
        modeladmin.message_user(
            request, "These profiles are already merged (the form was sent twice?).",
            messages.INFO)
        return HttpResponseRedirect(person_url(base.pk))
    modeladmin.message_user(
        request, f"Nothing was merged: {' '.join(refusal.messages)}", messages.ERROR)
    if refusal.code == "tombstone" or base.merged_into_id is not None:
        return HttpResponseRedirect(person_url(base.pk))  # the change view follows to the live
    return HttpResponseRedirect(reverse("admin:profiles_person_merge", args=[base.pk]))
