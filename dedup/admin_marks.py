"""“Not the same person” marks in the admin: the list, and the mark / remove pages that the
person page, the suspected duplicates and the dedup conflicts link to.

Both pages follow delete_selected: GET shows what will happen and changes nothing; POST (CSRF,
through admin_site.admin_view) does it. Marking needs `dedup.add_keptapart`, removing a mark
`dedup.delete_keptapart` (the mark stays on record as removed, with who and why).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from dedup.admin_base import ReadOnlyAdmin
from dedup.models import KeptApart
from dedup.services.marks import KeepApartRefused, keep_apart, mark_people, remove_kept_apart
from profiles.admin.merge.display import person_link
from profiles.admin.params import parse_id, parse_ids
from profiles.models import Person

MARK_PERMISSION = "dedup.add_keptapart"
REMOVE_PERMISSION = "dedup.delete_keptapart"


def mark_url(ids, *, apart_from=(), next_url: str = "") -> str:
    """The confirmation page that marks `ids` (each pair, or each against `apart_from`)."""
    query = [("ids", pk) for pk in ids] + [("apart_from", pk) for pk in apart_from]
    if next_url:
        query.append(("next", next_url))
    return f"{reverse('admin:dedup_keptapart_mark')}?{urlencode(query)}"


def remove_url(mark: KeptApart, *, next_url: str = "") -> str:
    url = reverse("admin:dedup_keptapart_remove", args=[mark.pk])
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _next(request: HttpRequest, default: str) -> str:
    """Where to go back: the page staff came from when it is ours, else `default`."""
    target = (request.POST or request.GET).get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def _names(people) -> str:
    names = [f"{p.display_name} (#{p.pk})" for p in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@admin.register(KeptApart)
class KeptApartAdmin(ReadOnlyAdmin):
    """Marks are made and removed through their pages (who and why), never edited."""

    list_display = ["people_display", "reason", "actor_display", "created_at", "state_display"]
    list_filter = [("removed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["actor", "removed_by"]
    search_fields = ["reason"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("ends__person")

    @admin.display(description="not the same person")
    def people_display(self, mark: KeptApart) -> str:
        links = [person_link(p.pk, p) for p in mark_people(mark)]
        return format_html_join(format_html(" {} ", "and"), "{}", ((link,) for link in links))

    @admin.display(description="marked by")
    def actor_display(self, mark: KeptApart) -> str:
        return str(mark.actor) if mark.actor else "system"

    @admin.display(description="state")
    def state_display(self, mark: KeptApart) -> str:
        if mark.removed_at is not None:
            return f"removed by {mark.removed_by or 'system'}: {mark.removal_reason}"
        return format_html('in force — <a href="{}">remove…</a>', remove_url(mark))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("mark/", view(self.mark_view), name="dedup_keptapart_mark"),
            path("<int:object_id>/remove/", view(self.remove_view),
                 name="dedup_keptapart_remove"),
            *super().get_urls(),
        ]

    def mark_view(self, request: HttpRequest) -> HttpResponse:
        """GET: who will be kept apart from whom, and a reason to give. POST: mark them."""
        if not request.user.has_perm(MARK_PERMISSION):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else request.GET
        people = Person.objects.in_bulk(parse_ids(data.getlist("ids")))
        against = Person.objects.in_bulk(parse_ids(data.getlist("apart_from")))
        chosen = sorted({**people, **against}.values(), key=lambda p: p.pk)
        back = _next(request, reverse("admin:profiles_person_changelist"))
        if len(chosen) < 2 or (data.getlist("apart_from") and not against):
            self.message_user(request, "Choose at least two existing people to keep apart (one "
                              "of them was not found: deleted since, or a wrong ID number).",
                              messages.WARNING)
            return HttpResponseRedirect(back)
        reason = data.get("reason", "")
        if request.method == "POST" and data.get("post") == "yes":
            try:
                keep_apart(people=list(people), apart_from=list(against) if against else None,
                           actor=request.user, reason=reason)
            except KeepApartRefused as refusal:
                self.message_user(request, f"Nothing was marked: {' '.join(refusal.messages)}",
                                  messages.ERROR)
            else:
                return self._marked(request, list(people.values()), list(against.values()),
                                    reason, back)
        return TemplateResponse(request, "admin/dedup/keptapart/mark_confirmation.html", {
            **self.admin_site.each_context(request),
            "title": "Mark as not the same person?",
            "opts": self.opts,
            "people": [(p, person_link(p.pk, p)) for p in chosen],
            "pairs": self._pairs_words(list(people.values()), list(against.values())),
            "ids": list(people), "apart_from": list(against), "next": back, "reason": reason,
        })

    @staticmethod
    def _pairs_words(people: list[Person], against: list[Person]) -> str:
        if against:
            return f"{_names(people)}, each from {_names(against)}"
        return f"{_names(people)}, each from every other"

    def _marked(self, request, people, against, reason, back) -> HttpResponse:
        everyone = sorted({p.pk: p for p in [*people, *against]}.values(), key=lambda p: p.pk)
        for person in everyone:
            self.log_change(request, person, f"Marked as not the same person: {reason.strip()}")
        self.message_user(
            request,
            f"Marked as not the same person: {self._pairs_words(people, against)}. The "
            "scheduled dedup will not merge them, and they are no longer suggested as "
            "duplicates of each other.", messages.SUCCESS)
        return HttpResponseRedirect(back)

    def remove_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """GET: what removing the mark means, and a reason to give. POST: remove it."""
        if not request.user.has_perm(REMOVE_PERMISSION):
            raise PermissionDenied
        mark = KeptApart.objects.prefetch_related("ends__person").filter(
            pk=parse_id(object_id)).first()
        if mark is None:
            raise Http404("No such mark.")
        people = mark_people(mark)
        back = _next(request, reverse("admin:profiles_person_change", args=[people[0].pk])
                     if people else reverse("admin:dedup_keptapart_changelist"))
        if mark.removed_at is not None:
            self.message_user(request, "This mark was already removed.", messages.INFO)
            return HttpResponseRedirect(back)
        reason = request.POST.get("reason", "")
        if request.method == "POST" and request.POST.get("post") == "yes":
            try:
                remove_kept_apart(mark=mark, actor=request.user, reason=reason)
            except KeepApartRefused as refusal:
                self.message_user(request, f"The mark was not removed: "
                                  f"{' '.join(refusal.messages)}", messages.ERROR)
            else:
                for person in people:
                    self.log_change(request, person, "Removed a “not the same person” mark: "
                                                     f"{reason.strip()}")
                self.message_user(
                    request, f"{_names(people)} are no longer marked as "
                    "different people: the dedup may merge them again if they share an email.",
                    messages.SUCCESS)
                return HttpResponseRedirect(back)
        return TemplateResponse(request, "admin/dedup/keptapart/remove_confirmation.html", {
            **self.admin_site.each_context(request),
            "title": "Remove this “not the same person” mark?",
            "opts": self.opts, "mark": mark, "next": back, "reason": reason,
            "people": format_html_join(format_html(" {} ", "and"), "{}",
                                       ((person_link(p.pk, p),) for p in people)),
        })
