"""Dedup admin: runs (read-only, report, CSV, progress), conflicts, schedule, run-now."""

from __future__ import annotations

import zoneinfo
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from dedup.models import DedupConflict, DedupRun, DedupSchedule, DedupStatus
from dedup.services import run_dedup
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

RUN_NOW = "admin:dedup_deduprun_run_now"


@pytest.fixture
def finished_run():
    PersonFactory(email="ann@example.com")
    PersonFactory(email="ANN@example.com")
    PersonFactory(email="bob@example.com", user_id="b1")
    PersonFactory(email="bob@example.com", user_id="b2")
    return run_dedup(dry_run=True)


@pytest.fixture
def runner(client):
    user = UserFactory(username="runner")
    user.user_permissions.add(
        Permission.objects.get(codename="run_dedup"),
        Permission.objects.get(codename="view_deduprun"),
    )
    client.force_login(user)
    return client


def test_run_list_and_page_show_counts_status_and_conflicts(admin_client, finished_run):
    listing = admin_client.get(reverse("admin:dedup_deduprun_changelist"))
    assert listing.status_code == 200
    assert b"Run dedup now" in listing.content and b"Dry run now" in listing.content
    page = admin_client.get(reverse("admin:dedup_deduprun_change", args=[finished_run.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Succeeded" in text and "bob@example.com" in text
    assert " (b1)" in text and " (b2)" in text  # each person's user ID
    assert 'http-equiv="refresh"' not in text  # finished: no auto-refresh
    assert reverse("admin:dedup_deduprun_report", args=[finished_run.pk]) in text
    assert reverse("admin:dedup_deduprun_report_csv", args=[finished_run.pk]) in text


def test_a_running_run_page_refreshes_itself(admin_client):
    run = DedupRun.objects.create(trigger="staff", status=DedupStatus.RUNNING)
    page = admin_client.get(reverse("admin:dedup_deduprun_change", args=[run.pk]))
    assert b'http-equiv="refresh"' in page.content


def test_report_page_and_csv_download(admin_client, finished_run):
    report = admin_client.get(reverse("admin:dedup_deduprun_report", args=[finished_run.pk]))
    assert report.status_code == 200
    assert b"would merge" in report.content and b"conflict" in report.content
    download = admin_client.get(
        reverse("admin:dedup_deduprun_report_csv", args=[finished_run.pk]))
    assert download["Content-Type"] == "text/csv"
    body = b"".join(download.streaming_content).decode()
    assert body.splitlines()[0].startswith("email,outcome,base")
    assert "ann@example.com,would merge" in body


def test_runs_cannot_be_added_edited_or_deleted(admin_client, finished_run):
    assert admin_client.get(reverse("admin:dedup_deduprun_add")).status_code == 403
    url = reverse("admin:dedup_deduprun_delete", args=[finished_run.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert DedupRun.objects.filter(pk=finished_run.pk).exists()


def test_conflict_list_links_each_person_and_says_what_can_be_done(admin_client, finished_run):
    conflict = DedupConflict.objects.get()
    page = admin_client.get(reverse("admin:dedup_dedupconflict_changelist"))
    assert page.status_code == 200
    for pk in conflict.person_ids:
        assert reverse("admin:profiles_person_change", args=[pk]).encode() in page.content
    assert "Mark as different people…".encode() in page.content  # tests/dedup/test_admin_marks


def test_run_now_get_shows_a_confirmation_and_changes_nothing(runner):
    with mock.patch("dedup.admin_views.enqueue_run") as enqueue:
        page = runner.get(reverse(RUN_NOW) + "?dry_run=1")
    assert page.status_code == 200 and b"Yes, start the dry run" in page.content
    assert not DedupRun.objects.exists()
    enqueue.assert_not_called()


def test_run_now_post_creates_the_run_and_enqueues_it(runner):
    with mock.patch("dedup.admin_views.enqueue_run") as enqueue:
        response = runner.post(reverse(RUN_NOW), {"dry_run": "1"})
    run = DedupRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:dedup_deduprun_change", args=[run.pk])
    assert (run.dry_run, run.trigger, run.actor.username) == (True, "staff", "runner")
    enqueue.assert_called_once_with(run.pk)


def test_run_now_needs_the_permission(client):
    client.force_login(UserFactory(username="plain"))
    with mock.patch("dedup.admin_views.enqueue_run") as enqueue:
        assert client.get(reverse(RUN_NOW)).status_code == 403
        assert client.post(reverse(RUN_NOW)).status_code == 403
    assert not DedupRun.objects.exists()
    enqueue.assert_not_called()


def test_run_now_post_without_csrf_is_refused(runner):
    runner.handler.enforce_csrf_checks = True
    assert runner.post(reverse(RUN_NOW)).status_code == 403
    assert not DedupRun.objects.exists()


def test_schedule_admin_recomputes_the_next_run(admin_client):
    schedule = DedupSchedule.objects.get()
    url = reverse("admin:dedup_dedupschedule_change", args=[schedule.pk])
    response = admin_client.post(url, {
        "name": "Weekly", "enabled": "on", "every_days": "7", "local_time": "03:30",
        "time_zone": "America/New_York",
    })
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.every_days == 7 and schedule.next_run_at is not None
    local = schedule.next_run_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (3, 30)


def test_schedule_admin_refuses_an_unknown_time_zone(admin_client):
    schedule = DedupSchedule.objects.get()
    url = reverse("admin:dedup_dedupschedule_change", args=[schedule.pk])
    response = admin_client.post(url, {
        "name": "x", "enabled": "on", "every_days": "1", "local_time": "02:00",
        "time_zone": "Mars/Olympus",
    })
    assert response.status_code == 200 and b"Unknown time zone" in response.content


def test_run_now_with_the_broker_down_fails_the_run_with_a_message(
    runner, django_capture_on_commit_callbacks
):
    from dedup import tasks

    with mock.patch.object(tasks.run_dedup_task, "delay", side_effect=OSError("refused")), \
            django_capture_on_commit_callbacks(execute=True):
        response = runner.post(reverse(RUN_NOW), follow=True)
    run = DedupRun.objects.get()
    assert response.status_code == 200
    # Not left pending forever: the run says why it never started (no 500 for staff).
    assert run.status == DedupStatus.FAILED and "Celery broker" in run.error


def test_conflict_list_shows_the_latest_run_unless_asked_for_all(admin_client, finished_run):
    second = run_dedup(dry_run=True)
    url = reverse("admin:dedup_dedupconflict_changelist")
    latest = admin_client.get(url)
    assert latest.context["cl"].result_count == 1
    assert {c.run_id for c in latest.context["cl"].result_list} == {second.pk}
    assert admin_client.get(url + "?runs=all").context["cl"].result_count == 2
    by_run = admin_client.get(url + f"?run__id__exact={finished_run.pk}")
    assert {c.run_id for c in by_run.context["cl"].result_list} == {finished_run.pk}


def test_run_list_is_compact_and_a_dry_run_says_would_merge(admin_client, finished_run):
    real = run_dedup(dry_run=False)

    listing = admin_client.get(reverse("admin:dedup_deduprun_changelist"))

    rows = {run.pk: listing.context["cl"].model_admin.groups_display(run)
            for run in listing.context["cl"].result_list}
    assert rows[finished_run.pk] == "2 groups found · 1 would merge (1 person) · 1 conflict"
    assert rows[real.pk] == "2 groups found · 1 merged (1 person) · 1 conflict"
    html = listing.content.decode()
    assert f">Dry run #{finished_run.pk}</a>" in html and f">Run #{real.pk}</a>" in html
    assert len(listing.context["cl"].list_display) <= 9  # fits beside the filters at 1366 px


def test_a_dry_run_page_says_would_merge_and_progress_counts_groups(admin_client, finished_run):
    html = admin_client.get(reverse("admin:dedup_deduprun_change",
                                    args=[finished_run.pk])).content.decode()

    assert "Would merge:" in html and "1 group would merge (1 person)" in html
    assert "Groups merged" not in html and "People merged" not in html
    chunks = finished_run.chunks.count()
    assert f"2 of 2 groups ({chunks:,} of {chunks} chunk" in html


def test_progress_of_a_running_run_counts_groups_done(admin_client):
    from dedup.models import DedupChunk

    run = DedupRun.objects.create(trigger="staff", status=DedupStatus.RUNNING, chunks_total=3,
                                  chunks_done=1)
    for index, (planned, done) in enumerate([(50, True), (50, False), (20, False)]):
        DedupChunk.objects.create(run=run, index=index, first_email="a", last_email="b",
                                  groups_planned=planned, done=done)

    listing = admin_client.get(reverse("admin:dedup_deduprun_changelist"))

    assert "50 of 120 groups (1 of 3 chunks)" in listing.content.decode()


def test_run_now_says_what_the_last_dry_run_found(runner, finished_run):
    page = runner.get(reverse(RUN_NOW)).content.decode()

    assert f"The last dry run (#{finished_run.pk}, finished " in page
    assert "found 2 groups of people sharing an email: 1 would merge (1 person" in page
    assert "1 conflict (different user IDs)" in page
    assert "?dry_run=1" in page  # and suggests one first


def test_run_now_without_a_dry_run_suggests_one(runner):
    page = runner.get(reverse(RUN_NOW)).content.decode()

    assert "No dry run has finished yet" in page and "Start a dry run</a> first" in page


def test_schedule_times_show_the_zone_on_both_sides(admin_client):
    import datetime as dt

    schedule = DedupSchedule.objects.get()
    DedupSchedule.objects.filter(pk=schedule.pk).update(
        next_run_at=dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC), every_days=1)

    listing = admin_client.get(reverse("admin:dedup_dedupschedule_changelist")).content.decode()
    form = admin_client.get(reverse("admin:dedup_dedupschedule_change",
                                    args=[schedule.pk])).content.decode()

    words = "02:00 Europe/Paris — next run Wed 2 Dec 02:00 CET (01:00 UTC)"
    assert words in listing and words in form and "every night" in listing
    assert "Run every (days)" in form and "1 = every night, 7 = once a week" in form
    assert "Every days" not in listing and "every days" not in form.lower()


def _groups(count: int, *, conflicts: int = 0) -> None:
    for n in range(count):
        PersonFactory(email=f"g{n:03d}@example.com", name=f"Base {n}", user_id=f"u{n}", city="")
        PersonFactory(email=f"G{n:03d}@example.com", name=f"Dup {n}", city=f"City {n}")
    for n in range(conflicts):
        PersonFactory(email=f"c{n}@example.com", user_id=f"c{n}-a")
        PersonFactory(email=f"c{n}@example.com", user_id=f"c{n}-b")


def test_the_report_pages_50_groups_across_chunks(admin_client, settings):
    settings.DEDUP_CHUNK_GROUPS = 20
    _groups(120)
    run = run_dedup(dry_run=True)
    assert run.chunks.count() == 6
    url = reverse("admin:dedup_deduprun_report", args=[run.pk])

    pages = [admin_client.get(url, {"page": n}) for n in (1, 2, 3)]

    emails = [row.email for page in pages for row in page.context["page"].rows]
    assert [len(page.context["page"].rows) for page in pages] == [50, 50, 20]
    assert emails == sorted(emails) and len(set(emails)) == 120
    assert "Groups 51–100 of 120" in pages[1].content.decode()
    assert admin_client.get(url, {"page": "99"}).context["page"].number == 3  # the last


def test_the_report_reads_for_people(admin_client):
    _groups(2, conflicts=1)
    run = run_dedup(dry_run=True)
    base = PersonFactory._meta.model.objects.get(name="Base 0")
    dup = PersonFactory._meta.model.objects.get(name="Dup 0")

    html = admin_client.get(reverse("admin:dedup_deduprun_report", args=[run.pk])).content.decode()

    assert "would merge" in html and "merged (" not in html
    assert f'>Base 0 (#{base.pk})</a>' in html and f'>Dup 0 (#{dup.pk})</a>' in html
    assert "City: City 0" in html  # a field label, the value, from whom
    assert html.count("first non-empty in rule order") == 1  # once, in the legend
    assert 'class="rule-tag"' in html
    assert "Groups 1–3 of 3" in html


def test_the_report_filters_conflicts(admin_client):
    _groups(3, conflicts=2)
    run = run_dedup(dry_run=True)

    page = admin_client.get(reverse("admin:dedup_deduprun_report", args=[run.pk]),
                            {"show": "conflicts"})

    rows = page.context["page"].rows
    assert [row.email for row in rows] == ["c0@example.com", "c1@example.com"]
    assert all(row.is_conflict and "c0-a" in rows[0].user_ids for row in rows)
    assert "2 conflicts" in page.content.decode()


def test_a_schedule_not_planned_yet_shows_the_run_the_beat_will_plan(admin_client):
    schedule = DedupSchedule.objects.get()
    DedupSchedule.objects.filter(pk=schedule.pk).update(next_run_at=None)

    listing = admin_client.get(reverse("admin:dedup_dedupschedule_changelist")).content.decode()

    assert "02:00 Europe/Paris — next run " in listing and " UTC)" in listing
    assert "not planned yet" not in listing
