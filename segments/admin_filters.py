"""The People list's "By segment" filter."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet

from segments.models import Segment


class SegmentFilter(admin.SimpleListFilter):
    title = "segment"
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(segment_memberships__segment_id=int(value))
