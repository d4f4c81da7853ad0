"""Dedup in the admin: runs (read-only, with report and progress), conflicts and reviews
(dedup.admin_conflicts), "not the same person" marks (dedup.admin_marks), the schedule, and the
"Run dedup now" / "Dry run now" buttons (views in dedup.admin_views)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import path

from dedup import admin_marks, admin_views  # noqa: F401 (admin_marks registers its admin)
from dedup.admin_base import ReadOnlyAdmin
from dedup.admin_conflicts import DedupConflictAdmin
from dedup.admin_display import (
    counts_words,
    interval_words,
    merged_words,
    progress_words,
    schedule_words,
    with_group_progress,
)
from dedup.models import DedupConflict, DedupRun, DedupSchedule, DedupStatus
from dedup.services import reschedule


@admin.register(DedupRun)
class DedupRunAdmin(ReadOnlyAdmin):
    # Few, short columns: a 1366 px screen shows them all beside the filters.
    list_display = [
        "run_display", "status", "trigger", "started_at", "duration_display", "progress",
        "people_scanned", "groups_display",
    ]
    list_display_links = ["run_display"]
    list_filter = ["status", "dry_run", "trigger"]
    change_list_template = "admin/dedup/deduprun/change_list.html"
    change_form_template = "admin/dedup/deduprun/change_form.html"
    fields = [
        "status", "dry_run", "trigger", "actor", "created_at", "started_at", "finished_at",
        "duration_display", "heartbeat_at", "progress", "people_scanned", "groups_found",
        "merged_display", "conflicts", "needs_review", "kept_apart", "rows_moved", "error",
    ]
    readonly_fields = [*fields, "would_merge_display"]

    def get_fields(self, request, obj=None):
        if obj is not None and obj.dry_run:  # it merged nothing: say what it would merge
            return [("would_merge_display" if name == "merged_display" else name)
                    for name in self.fields if name != "rows_moved"]
        return self.fields

    def get_queryset(self, request):
        return with_group_progress(super().get_queryset(request))

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "dedup.run_dedup"
        )

    @admin.display(description="run", ordering="id")
    def run_display(self, obj: DedupRun) -> str:
        return f"{'Dry run' if obj.dry_run else 'Run'} #{obj.pk}"

    @admin.display(description="groups", ordering="groups_found")
    def groups_display(self, obj: DedupRun) -> str:
        return counts_words(obj)

    @admin.display(description="merged")
    def merged_display(self, obj: DedupRun) -> str:
        return merged_words(obj)

    @admin.display(description="would merge")
    def would_merge_display(self, obj: DedupRun) -> str:
        return merged_words(obj)

    @admin.display(description="duration")
    def duration_display(self, obj: DedupRun) -> str:
        duration = obj.duration
        return "—" if duration is None else f"{duration.total_seconds():.1f} s"

    @admin.display(description="progress")
    def progress(self, obj: DedupRun) -> str:
        return progress_words(obj)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("run-now/", view(admin_views.RunNowView.as_view(model_admin=self)),
                 name="dedup_deduprun_run_now"),
            path("<int:run_id>/report/", view(admin_views.report_view(self)),
                 name="dedup_deduprun_report"),
            path("<int:run_id>/report.csv", view(admin_views.report_csv_view(self)),
                 name="dedup_deduprun_report_csv"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra = {
            "running": run is not None and run.status in (DedupStatus.PENDING, DedupStatus.RUNNING),
            "conflict_rows": run.conflict_rows.all()[:50] if run else [],
            "conflict_total": run.conflict_rows.count() if run else 0,
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def changelist_view(self, request, extra_context=None):
        extra = {"can_run_dedup": request.user.has_perm("dedup.run_dedup")}
        return super().changelist_view(request, {**extra, **(extra_context or {})})


admin.site.register(DedupConflict, DedupConflictAdmin)


class ScheduleForm(forms.ModelForm):
    class Meta:
        model = DedupSchedule
        fields = ["name", "enabled", "every_days", "local_time", "time_zone", "dry_run"]
        labels = {
            "every_days": "Run every (days)",
            "local_time": "At (local time)",
            "time_zone": "Time zone",
            "dry_run": "Dry run only",
        }
        help_texts = {
            "every_days": "1 = every night, 7 = once a week, 30 = every 30 days; up to 3,650.",
            "local_time": "Wall-clock time in the time zone below, e.g. 02:00.",
            "time_zone": "IANA name, e.g. Europe/Paris (CET in winter, CEST in summer) or UTC.",
            "dry_run": "Report what would merge, change nothing.",
        }


@admin.register(DedupSchedule)
class DedupScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ["name", "enabled", "interval_display", "when_display", "dry_run",
                    "last_run_at"]
    fields = [
        "name", "enabled", "every_days", "local_time", "time_zone", "dry_run", "when_display",
        "last_run_at", "last_run",
    ]
    readonly_fields = ["when_display", "last_run_at", "last_run"]

    @admin.display(description="runs")
    def interval_display(self, obj: DedupSchedule) -> str:
        return interval_words(obj)

    @admin.display(description="at, and the next run")
    def when_display(self, obj: DedupSchedule) -> str:
        return schedule_words(obj)

    def save_model(self, request, obj: DedupSchedule, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        reschedule(schedule=obj)
