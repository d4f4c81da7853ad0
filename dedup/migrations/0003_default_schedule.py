"""Create the default schedule (every day at 02:00 Europe/Paris, "overnight CET")."""

from django.db import migrations


def create_default_schedule(apps, schema_editor):
    DedupSchedule = apps.get_model("dedup", "DedupSchedule")
    if not DedupSchedule.objects.exists():
        # next_run_at stays empty: the first beat tick computes it in the schedule's time zone.
        DedupSchedule.objects.create(
            name="Nightly dedup", enabled=True, every_days=1, local_time="02:00",
            time_zone="Europe/Paris", dry_run=False,
        )


def remove_default_schedule(apps, schema_editor):
    apps.get_model("dedup", "DedupSchedule").objects.filter(
        name="Nightly dedup", last_run_at__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("dedup", "0002_dedup_chunks_heartbeat")]

    operations = [migrations.RunPython(create_default_schedule, remove_default_schedule)]
