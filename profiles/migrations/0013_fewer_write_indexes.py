# Two indexes no query uses, written by every merge: the history's merged_into, and the journal's
# base alone (merge_base_idx, base then -created_at, serves lookups by base). Only the indexes
# are dropped: Django's own AlterField would also drop and re-add the journal's foreign key,
# checking every journal entry again.

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    ("profiles_historicalperson", "merged_into_id", "profiles_historicalperson_merged_into_id_d855f5c0"),
    ("profiles_mergerecord", "base_id", "profiles_mergerecord_base_id_0917b467"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0012_mergerecord_journal_as_text_json'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='historicalperson',
                    name='merged_into',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='profiles.person'),
                ),
                migrations.AlterField(
                    model_name='mergerecord',
                    name='base',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='merge_records', to='profiles.person'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"',
                                  reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
                for table, column, name in INDEXES
            ],
        ),
    ]
