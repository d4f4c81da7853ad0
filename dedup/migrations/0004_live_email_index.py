"""A partial index for duplicate detection: live people with an email, by normalized email.

Detection (`dedup.services.detection.duplicate_emails`) is `GROUP BY email_normalized HAVING
count(*) > 1` over exactly these rows; with this index PostgreSQL answers it with an index-only
scan and a streaming GroupAggregate (no hash table, no sort, no heap visit), about twice as fast
as a sequential scan at 1,000,000 people. The index lives on profiles_person but belongs to
dedup's query, so it is created here (raw SQL, same syntax on SQLite) rather than in the
profiles model.
"""

from django.db import migrations

INDEX = "dedup_live_email_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("dedup", "0003_default_schedule"),
        ("profiles", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON profiles_person (email_normalized) "
            f"WHERE merged_into_id IS NULL AND email_normalized <> ''",
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
