"""The merge journal's large JSON columns stored as PostgreSQL `json` instead of `jsonb`.

They are written once, in bulk, and read back whole (the journal page, undo), never queried
inside; parsing a dedup chunk's journal into `jsonb` was most of its INSERT, while `json` is
only checked (models.fields.TextJSONField). One ALTER TABLE rewrites the table once (the
existing entries are converted: a large journal takes a while, under an exclusive lock), then
lz4 compression is set again as migration 0011 set it. Other databases have nothing to change.
"""

import profiles.models.fields
from django.db import migrations

COLUMNS = ("snapshot", "moved", "decisions")


def _alter(schema_editor, apps, to: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("profiles", "MergeRecord")._meta.db_table
    types = ", ".join(f'ALTER COLUMN "{c}" TYPE {to} USING "{c}"::{to}' for c in COLUMNS)
    schema_editor.execute(f'ALTER TABLE "{table}" {types}')
    lz4 = ", ".join(f'ALTER COLUMN "{c}" SET COMPRESSION lz4' for c in COLUMNS)
    schema_editor.execute(
        f'DO $$ BEGIN ALTER TABLE "{table}" {lz4}; '
        "EXCEPTION WHEN feature_not_supported THEN NULL; END $$"
    )


def to_json(apps, schema_editor):
    _alter(schema_editor, apps, "json")


def to_jsonb(apps, schema_editor):
    _alter(schema_editor, apps, "jsonb")


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0011_mergerecord_journal_lz4"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="mergerecord", name=name,
                                      field=profiles.models.fields.TextJSONField(default=dict))
                for name in COLUMNS
            ],
            database_operations=[migrations.RunPython(to_json, to_jsonb)],
        ),
    ]
