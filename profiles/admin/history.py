"""History is for reading: simple-history's admin without its revert form, in plain words.

simple-history lets anyone who may *view* an object re-save it from an old version
(`POST …/history/<history_id>/`), through the admin's ordinary save. For people and identities
that would bypass everything a save must respect: the merge journal (a tombstone brought back
to life, moved rows left behind), the recording path's counters and profiling, the user ID
rules. So the old version is shown read-only and a POST is refused (405) for everyone; changes
go through the person's own form (change permission, the staff edit rules) or a merge/undo.

The list of changes reads as the rest of the admin: "system" for changes nobody signed in made
(the website, the scheduled dedup), field labels, dates in the viewer's zone, choices by their
label, empty values as a dash (templates/simple_history/object_history_list.html).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.contrib.admin.utils import flatten_fieldsets
from django.db import models
from django.http import HttpResponseNotAllowed
from django.utils.html import conditional_escape
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from profiles.admin.merge.display import field_label, field_value, short_text
from profiles.admin.plain import plain, when
from profiles.models import Person

_READING_HISTORY = "_onefold_reading_history"
SHOWN_CHARACTERS = 200


class PlainHistoryHelper(HistoricalRecordContextHelper):
    """Each change as "Field: old → new" in the words staff read elsewhere."""

    def format_delta_change(self, change):
        return dataclasses.replace(
            change, field=self._label(change.field),
            old=self._shown(change.field, change.old), new=self._shown(change.field, change.new))

    def _label(self, name: str) -> str:
        if self.model is Person:
            return field_label(name)
        return str(self.model._meta.get_field(name).verbose_name).capitalize()

    def _shown(self, name: str, value: Any) -> str:
        if self.model is Person and name != "attributes":
            return conditional_escape(field_value(name, value, limit=SHOWN_CHARACTERS))
        field = self.model._meta.get_field(name)
        if field.choices and value is not None:
            value = dict(field.flatchoices).get(value, value)
        elif isinstance(field, models.DateTimeField):
            return conditional_escape(when(value))
        return conditional_escape(short_text(plain(value), SHOWN_CHARACTERS))


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    object_history_list_template = "simple_history/object_history_list.html"

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET"])
        setattr(request, _READING_HISTORY, True)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def get_readonly_fields(self, request, obj=None):
        if getattr(request, _READING_HISTORY, False):
            return flatten_fieldsets(self.get_fieldsets(request, obj))
        return super().get_readonly_fields(request, obj)

    def get_historical_record_context_helper(self, request, historical_record):
        return PlainHistoryHelper(self.model, historical_record)
