from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _


class LiveOrMergedFilter(admin.SimpleListFilter):
    """Live people by default; tombstones (merged duplicates) on request."""

    title = _("merged")
    parameter_name = "merged"

    def lookups(self, request, model_admin):
        return [("merged", _("Merged (tombstones)")), ("all", _("All"))]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Live"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "merged":
            return queryset.filter(merged_into__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(merged_into__isnull=True)


class IdentifiedFilter(admin.SimpleListFilter):
    title = _("identified")
    parameter_name = "identified"

    def lookups(self, request, model_admin):
        return [("anonymous", _("Anonymous")), ("identified", _("Identified"))]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        anonymous = Q(user_id__isnull=True) & Q(email="")
        if self.value() == "anonymous":
            return queryset.filter(anonymous)
        if self.value() == "identified":
            return queryset.exclude(anonymous)
        return queryset
