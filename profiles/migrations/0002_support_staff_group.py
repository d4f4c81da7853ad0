"""Create the "Support staff" group with the permissions support work needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Support staff"
PERMISSIONS = {
    "profiles": [
        "view_person", "change_person", "delete_person", "merge_person", "undo_merge",
        "view_identity", "add_identity", "change_identity",
        "view_activity", "view_tag", "add_tag", "change_tag",
        "view_mergerecord", "view_conversation", "view_deal", "view_site",
    ],
    "dedup": ["view_deduprun", "view_dedupconflict", "view_dedupschedule", "run_dedup"],
}


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_label in PERMISSIONS:
        app_config = apps.get_app_config(app_label)
        # Migration app configs are stubs without models_module; create_permissions needs it.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    for app_label, codenames in PERMISSIONS.items():
        perms = Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        group.permissions.add(*perms)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0001_initial"),
        ("dedup", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
