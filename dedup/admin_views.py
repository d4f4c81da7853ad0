"""Admin views for dedup runs: "run now" (confirm, then POST enqueues) and the report."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import View

from dedup.admin_display import counts_words, dry_run_summary, last_dry_run
from dedup.admin_report import report_page
from dedup.models import DedupRun, DedupStatus, DedupTrigger
from dedup.services import create_run, stream_csv
from dedup.tasks import enqueue_run
from profiles.admin.params import parse_id


class RunNowView(View):
    """GET shows a confirmation page and changes nothing; POST starts a run on a worker."""

    model_admin = None

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.has_perm("dedup.run_dedup"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def _dry_run(self, request: HttpRequest) -> bool:
        return (request.POST or request.GET).get("dry_run") in ("1", "true", "on")

    def get(self, request: HttpRequest) -> HttpResponse:
        opts = DedupRun._meta
        dry = last_dry_run()
        context = {
            **self.model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": "Start a dedup dry run?" if self._dry_run(request) else "Start dedup now?",
            "dry_run": self._dry_run(request),
            "last_dry_run": dry,
            "last_dry_run_summary": dry_run_summary(dry),
        }
        return TemplateResponse(request, "admin/dedup/deduprun/run_now_confirm.html", context)

    def post(self, request: HttpRequest) -> HttpResponse:
        run = create_run(dry_run=self._dry_run(request), actor=request.user,
                         trigger=DedupTrigger.STAFF)
        enqueue_run(run.pk)
        self.model_admin.log_addition(request, run, [{"added": {}}])
        run.refresh_from_db()
        if run.status == DedupStatus.FAILED:
            messages.error(request, f"{run} could not be queued: {run.error}")
        else:
            messages.success(request, f"{run} queued: a worker picks it up; this page follows it.")
        return redirect(reverse("admin:dedup_deduprun_change", args=[run.pk]))


def report_view(model_admin):
    """The run's per-group report: 50 groups a page (?page=N), conflicts alone (?show=conflicts)."""

    def view(request: HttpRequest, run_id: int) -> HttpResponse:
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(DedupRun, pk=run_id)
        conflicts_only = request.GET.get("show") == "conflicts"
        page = report_page(run, page=parse_id(request.GET.get("page", "")) or 1,
                           conflicts_only=conflicts_only)
        context = {
            **model_admin.admin_site.each_context(request),
            "opts": DedupRun._meta,
            "title": f"Report of {'dry run' if run.dry_run else 'run'} #{run.pk}",
            "run": run,
            "page": page,
            "conflicts_only": conflicts_only,
            "counts": counts_words(run),
            "show": "conflicts" if conflicts_only else "",
        }
        return TemplateResponse(request, "admin/dedup/deduprun/report.html", context)

    return view


def report_csv_view(model_admin):
    def view(request: HttpRequest, run_id: int) -> HttpResponse:
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(DedupRun, pk=run_id)
        response = StreamingHttpResponse(stream_csv(run), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="dedup-run-{run.pk}.csv"'
        return response

    return view
