"""The merge pick page's search: the admin autocomplete's JSON, saying who each person is.

Django's autocomplete shows `str(person)` — a name, often the same for two people. Picking
whom to merge needs what tells people apart: name, email, user ID and ID number. It never
offers the person being merged into (`exclude`) nor a merged profile. The search itself is the
person list's (`search_people`: indexed prefix and exact matches).
"""

from __future__ import annotations

from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.http import JsonResponse
from django.urls import reverse
from django.utils.http import urlencode

from profiles.admin.merge.views import require_merge_permission
from profiles.admin.params import parse_id
from profiles.admin.search import search_people
from profiles.models import Person

PAGE_SIZE = 20
MAX_PAGE = 500  # a deeper page is no search anyone reads (and keeps OFFSET bounded)


def describe(person: Person) -> str:
    """"Ann Lee · ann@example.com · user ID u-1 · #3"."""
    parts = [person.display_name]
    if person.email and person.email != person.display_name:
        parts.append(person.email)
    if person.user_id:
        parts.append(f"user ID {person.user_id}")
    parts.append(f"#{person.pk}")
    return " · ".join(parts)


def merge_search_view(modeladmin, request):
    """GET term, page, exclude: live people matching `term`, as select2 expects them."""
    require_merge_permission(request)
    page = min(parse_id(request.GET.get("page", "")) or 1, MAX_PAGE)
    people = Person.objects.filter(merged_into__isnull=True).order_by("-id")
    exclude = parse_id(request.GET.get("exclude", ""))
    if exclude is not None:
        people = people.exclude(pk=exclude)
    term = request.GET.get("term", "")
    if term.strip():
        people = search_people(people, term)
    start = (page - 1) * PAGE_SIZE
    found = list(people.only("id", "name", "email", "user_id")[start:start + PAGE_SIZE + 1])
    return JsonResponse({
        "results": [{"id": str(p.pk), "text": describe(p)} for p in found[:PAGE_SIZE]],
        "pagination": {"more": len(found) > PAGE_SIZE},
    })


class MergeSearchWidget(AutocompleteSelectMultiple):
    """The admin's autocomplete widget, asking `merge_search_view` (without `exclude`)."""

    def __init__(self, *args, exclude: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.exclude = exclude

    def get_url(self) -> str:
        url = reverse("admin:profiles_person_merge_search")
        return f"{url}?{urlencode({'exclude': self.exclude})}"
