"""Support staff may mark people as not the same person, and remove such a mark (docs/admin.md,
"Not the same person"): they already merge and undo merges."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Support staff"
CODENAMES = ["view_keptapart", "add_keptapart", "delete_keptapart"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("dedup")
    app_config.models_module = True  # a migration's app config is a stub without models
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="dedup",
                                                     codename__in=CODENAMES))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name=GROUP_NAME):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="dedup",
                                                            codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [
        ("dedup", "0006_kept_apart_and_reviews"),
        ("profiles", "0002_support_staff_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
