"""History is for reading: simple-history's admin without its revert form.

simple-history lets anyone who may *view* an object re-save it from an old version
(`POST …/history/<history_id>/`), through the admin's ordinary save. For people and identities
that would bypass everything a save must respect: the merge journal (a tombstone brought back
to life, moved rows left behind), the recording path's counters and profiling, the user ID
rules. So the old version is shown read-only and a POST is refused (405) for everyone; changes
go through the person's own form (change permission, the staff edit rules) or a merge/undo.
"""

from __future__ import annotations

from django.contrib.admin.utils import flatten_fieldsets
from django.http import HttpResponseNotAllowed
from simple_history.admin import SimpleHistoryAdmin

_READING_HISTORY = "_onefold_reading_history"


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
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
