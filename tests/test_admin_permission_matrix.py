"""The permission matrix: every admin URL (Django's and ours, found from the URL resolver), GET
and POST, as anonymous, non-staff, view-only and Support staff: nothing changes in the database
unless the user holds the permission that URL's change needs.

The POST bodies are built to change something (the page's own form as a superuser sees it,
with a text field changed, plus `post=yes`, people to merge or delete, each changelist action in
turn); a few are checked to change the database for a superuser, so the matrix cannot pass by
sending harmless forms.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.test import Client

from profiles.models import MergeRecord, Person
from tests.admin_urls import (
    AdminUrl,
    admin_urls,
    build_examples,
    fingerprint,
    form_values,
    missing_examples,
)
from tests.factories import UserFactory
from tests.profiles.admin_helpers import form_data

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# Pages that never change anything, whoever asks (None: unnamed, i.e. redirects, catch-all).
READ_ONLY = {None, "index", "app_list", "autocomplete", "jsi18n", "view_on_site",
             "password_change_done", "profiles_person_duplicates", "profiles_person_merge",
             "profiles_person_merge_search",
             "dedup_deduprun_report", "dedup_deduprun_report_csv", "segments_segment_preview",
             "segments_segment_rebuild_progress"}
# Our views (and UserAdmin's), and the one permission each needs to change anything.
CUSTOM = {
    "profiles_person_merge_preview": "profiles.merge_person",
    "profiles_person_delete_people": "profiles.delete_person",
    "profiles_mergerecord_undo": "profiles.undo_merge",
    "dedup_deduprun_run_now": "dedup.run_dedup",
    "dedup_keptapart_mark": "dedup.add_keptapart",
    "dedup_keptapart_remove": "dedup.delete_keptapart",
    "auth_user_password_change": "auth.change_user",
}
# Login, logout and password change touch only sessions and login attempts (ignored) or need
# a password we never send.
AUTH = {"login", "logout", "password_change"}
# Example objects nobody changes from the admin: merged people, user ID identities.
FROZEN = {"tombstone", "user_id"}


def required_permission(url: AdminUrl, action: str | None) -> str | None:
    """The permission a state change through this URL needs; None: no change is allowed."""
    if url.name in READ_ONLY or url.name in AUTH or url.variant in FROZEN:
        return None
    if url.name in CUSTOM:
        return CUSTOM[url.name]
    meta = url.model._meta
    for suffix in ("_history", "_simple_history"):
        if url.name.endswith(suffix):  # history is for reading
            return None
    for suffix, verb in (("_add", "add"), ("_change", "change"), ("_delete", "delete")):
        if url.name.endswith(suffix):
            return f"{meta.app_label}.{verb}_{meta.model_name}"
    if url.name.endswith("_changelist"):
        return _action_permission(url.model, action)
    raise AssertionError(f"{url.name}: add it to the permission matrix (which permission "
                         "does a change through it need?)")


def _action_permission(model, action: str | None) -> str:
    meta = model._meta
    if action is None:
        return f"{meta.app_label}.change_{meta.model_name}"  # list_editable
    function = admin.site._registry[model].get_action(action)[0]
    verbs = getattr(function, "allowed_permissions", ()) or ("change",)
    assert len(verbs) == 1, f"{action}: several permissions"
    if verbs[0] == "merge":
        return "profiles.merge_person"
    return f"{meta.app_label}.{verbs[0]}_{meta.model_name}"


@pytest.fixture
def world():
    examples = build_examples()
    assert missing_examples(examples) == [], "add an example object in tests/admin_urls.py"
    superuser = UserFactory(username="matrix-root", is_superuser=True)
    root = Client()
    root.force_login(superuser)
    return examples, admin_urls(examples), root


def roles() -> dict[str, object]:
    support = Group.objects.get(name="Support staff")
    non_staff = UserFactory(username="matrix-customer", is_staff=False)
    non_staff.groups.add(support)  # permissions without is_staff open nothing
    viewer = UserFactory(username="matrix-viewer")
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    staff = UserFactory(username="matrix-support")
    staff.groups.add(support)
    return {"anonymous": None, "non-staff": non_staff, "view-only": viewer, "support": staff}


def requests_for(url: AdminUrl, root: Client, examples) -> list[tuple[str, dict, str | None]]:
    """(method, data, action) to try on this URL: GET, then POSTs meant to change something."""
    person = examples[Person]
    body = {**form_values(url.obj), "post": "yes", "_save": "Save",
            "ids": [person["live"].pk, person["_other"].pk], "base": person["live"].pk}
    page = root.get(url.path)
    if page.status_code == 200 and page.get("Content-Type", "").startswith("text/html"):
        body = {**body, **form_data(page)}
        if url.obj is not None:  # the page's text fields, changed
            body.update({key: value for key, value in form_values(url.obj).items()
                         if key in body and not key.startswith("initial-")})
    if not body.get("reason"):
        body["reason"] = "matrix"  # the pages that need a reason (marks) get one
    tries = [("get", {}, None), ("post", body, None)]
    if url.name and url.name.endswith("_changelist"):
        model_admin = admin.site._registry[url.model]
        request = page.wsgi_request
        for action in model_admin.get_actions(request):
            objects = [pk for pk in (o.pk for v, o in examples[url.model].items()
                                     if v not in FROZEN)]
            tries.append(("post", {"action": action, "_selected_action": objects,
                                   "index": "0", "post": "yes"}, action))
    return tries


def changed_by(client: Client, method: str, url: AdminUrl, data: dict) -> tuple[int, bool]:
    ignore = ("axes_",) if url.name in AUTH else ()
    before = fingerprint(ignore=ignore)
    savepoint = transaction.savepoint()
    try:
        response = getattr(client, method)(url.path, data)
        after = fingerprint(ignore=ignore)
    finally:
        transaction.savepoint_rollback(savepoint)
    return response.status_code, before != after


@pytest.mark.parametrize("role", ["anonymous", "non-staff", "view-only", "support"])
def test_no_state_change_without_the_matching_permission(world, role):
    examples, urls, root = world
    user = roles()[role]
    client = Client()
    if user is not None:
        client.force_login(user)
    violations = []
    for url in urls:
        for method, data, action in requests_for(url, root, examples):
            status, changed = changed_by(client, method, url, data)
            assert status < 500, f"{role} {method.upper()} {url.path}: {status}"
            if user is not None and url.name in AUTH:
                client.force_login(user)  # a POST to logout logged us out
            if not changed:
                continue
            needed = required_permission(url, action)
            allowed = (method == "post" and needed is not None and user is not None
                       and user.is_staff and user.has_perm(needed))
            if not allowed:
                violations.append(f"{role} {method.upper()} {url.path} ({url.name}, "
                                  f"{action or 'form'}) changed the database; needs {needed}")
    assert violations == []


SUPERUSER_CHANGES = [
    ("profiles_person_change", "live"), ("profiles_identity_change", "device"),
    ("profiles_tag_change", ""), ("profiles_person_merge_preview", ""),
    ("profiles_person_delete_people", ""), ("profiles_mergerecord_undo", ""),
    ("dedup_deduprun_run_now", ""), ("dedup_dedupschedule_change", ""),
    ("dedup_keptapart_mark", ""), ("dedup_keptapart_remove", ""),
]


def test_the_matrix_bodies_do_change_things_for_a_superuser(world):
    """So the matrix above cannot pass by sending forms that change nothing anyway."""
    examples, urls, root = world
    by_name = {(url.name, url.variant): url for url in urls}
    for key in SUPERUSER_CHANGES:
        url = by_name[key]
        method, data, _ = requests_for(url, root, examples)[1]
        status, changed = changed_by(root, method, url, data)
        assert changed, f"{key}: the superuser's POST changed nothing ({status})"
    assert MergeRecord.objects.filter(undone_at__isnull=True).exists()  # rolled back


def test_history_and_frozen_objects_do_not_change_even_for_a_superuser(world):
    examples, urls, root = world
    for url in urls:
        if required_permission(url, None) is not None or url.name in AUTH | READ_ONLY:
            continue
        for method, data, _ in requests_for(url, root, examples)[1:2]:
            status, changed = changed_by(root, method, url, data)
            assert not changed, f"superuser {method.upper()} {url.path} changed the database"
