"""create_demo_admin: README command 1 prints the same login at every start until asked for a
new one, and never overwrites a password someone set by hand."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def login(*args: str) -> str:
    out = io.StringIO()
    call_command("create_demo_admin", *args, stdout=out)
    line = out.getvalue().strip()
    assert line.startswith("Login:")
    return line.split("/", 1)[1].strip()


def test_first_start_creates_a_superuser_with_the_printed_password():
    password = login()
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password(password)


def test_the_next_start_prints_the_same_password():
    assert login() == login()


def test_new_password_makes_another_one_that_works():
    first = login()
    second = login("--new-password")
    assert second != first
    assert get_user_model().objects.get(username="admin").check_password(second)
    assert login() == second


def test_a_password_set_by_hand_is_left_alone(data_dir):
    login()
    user = get_user_model().objects.get(username="admin")
    user.set_password("chosen-by-staff")
    user.save()
    said = login()
    assert "the password you set" in said
    user.refresh_from_db()
    assert user.check_password("chosen-by-staff")


def test_the_saved_login_is_readable_by_its_owner_only(data_dir):
    login()
    (saved,) = data_dir.glob("demo-admin-login-*")
    assert saved.stat().st_mode & 0o077 == 0


def test_the_shell_starts_without_import_warnings(capsys):
    from profiles.management.commands.shell import Command

    imports = Command().get_auto_imports()
    assert "profiles.services.merge_people" in imports
    assert not [path for path in imports if "Historical" in path]
