"""Every N days is 1 to 3650: a longer interval overflowed the calendar (a 500 on save, and the
beat tick failing for every schedule). A schedule saved before with a longer one is set to the
longest allowed, so the constraint can be added."""

import django.core.validators
from django.db import migrations, models

MAX_EVERY_DAYS = 3650


def clamp(apps, schema_editor):
    DedupSchedule = apps.get_model("dedup", "DedupSchedule")
    DedupSchedule.objects.filter(every_days__gt=MAX_EVERY_DAYS).update(every_days=MAX_EVERY_DAYS)
    DedupSchedule.objects.filter(every_days__lt=1).update(every_days=1)


class Migration(migrations.Migration):

    dependencies = [
        ("dedup", "0004_live_email_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dedupschedule",
            name="every_days",
            field=models.PositiveIntegerField(
                default=1,
                help_text="Run every N days (1, 7, 30 or any interval up to 3650).",
                validators=[django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(3650)],
            ),
        ),
        migrations.RunPython(clamp, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="dedupschedule",
            constraint=models.CheckConstraint(
                condition=models.Q(("every_days__gte", 1), ("every_days__lte", 3650)),
                name="dedup_schedule_every_days_range",
                violation_error_message="Run every 1 to 3650 days.",
            ),
        ),
    ]
