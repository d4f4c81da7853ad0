"""Prefix-search indexes for the admin list on PostgreSQL.

`istartswith` compiles to UPPER(col) LIKE UPPER('x%') and `startswith` to col LIKE 'x%'; with a
non-C collation only varchar_pattern_ops indexes serve LIKE prefixes. SQLite needs none of this.
"""

from django.db import migrations

INDEXES = {
    "person_name_upper_prefix_idx": (
        "profiles_person", "(UPPER(name::text) varchar_pattern_ops)"
    ),
    "person_email_norm_prefix_idx": (
        "profiles_person", "(email_normalized varchar_pattern_ops)"
    ),
    "identity_value_prefix_idx": ("profiles_identity", "(value varchar_pattern_ops)"),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, expression) in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {expression}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("profiles", "0002_support_staff_group")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
