"""The provenance migration: what was stored before is staff's, user IDs proven then verified."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("profiles", "0007_api_activity_message_digest")]
AFTER = [("profiles", "0008_api_identity_trust")]


@pytest.fixture
def migrated_back():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    call_command("migrate", verbosity=0)  # every migration again, for the tests after this


@pytest.mark.django_db(transaction=True)
def test_stored_emails_become_staff_and_user_ids_identified_on_a_verifying_site_verified(
    migrated_back,
):
    apps = migrated_back
    Person = apps.get_model("profiles", "Person")
    Identity = apps.get_model("profiles", "Identity")
    Activity = apps.get_model("profiles", "Activity")
    Site = apps.get_model("profiles", "Site")
    verifying = Site.objects.create(name="A", key_prefix="a",
                                    require_identity_verification=True)
    open_site = Site.objects.create(name="B", key_prefix="b",
                                    require_identity_verification=False)
    people = {}
    for user_id, site in (("proven", verifying), ("claimed", open_site), ("quiet", None)):
        person = Person.objects.create(user_id=user_id, email=f"{user_id}@example.com")
        people[user_id] = person
        Identity.objects.create(person=person, original_person=person, kind="user_id",
                                value=user_id)
        Identity.objects.create(person=person, original_person=person, kind="email",
                                value=f"{user_id}@example.com")
        if site is not None:
            Activity.objects.create(person=person, original_person=person, kind="identify",
                                    site_id=site.pk, properties={"user_id": user_id})

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)

    from profiles.models import Identity as Now

    trusts = {(i.kind, i.value): i.trust for i in Now.objects.all()}
    assert trusts == {
        ("user_id", "proven"): "verified",
        ("user_id", "claimed"): "staff",
        ("user_id", "quiet"): "staff",
        ("email", "proven@example.com"): "staff",
        ("email", "claimed@example.com"): "staff",
        ("email", "quiet@example.com"): "staff",
    }
