"""Create the demo superuser and print its login; the password stays the same between starts.

The password is random, written once to `<ONEFOLD_DATA_DIR>/demo-admin-login` (readable by its
owner only) and printed again at the next start, so README command 1 does not change a login
someone already wrote down. `--new-password` makes a new one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


def login_file(username: str) -> Path:
    return Path(settings.DATA_DIR) / f"demo-admin-login-{username}"


class Command(BaseCommand):
    help = "Create the demo admin login (or keep it) and print it; --new-password to reset it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--new-password", action="store_true", help="Give the admin a new random password."
        )

    def handle(self, *args, username: str, new_password: bool, **options) -> None:
        user, created = get_user_model().objects.get_or_create(username=username)
        saved = _saved_password(username)
        keep = not created and not new_password and saved and user.check_password(saved)
        if not created and not new_password and not keep and user.has_usable_password():
            # Someone set their own password: leave it alone, say how to get a new one.
            self.stdout.write(f"Login:     {username} / (the password you set; "
                              "scripts/up.sh --new-password makes a new one)")
            return
        password = saved if keep else secrets.token_urlsafe(12)
        user.is_staff = user.is_superuser = user.is_active = True
        if not keep:
            user.set_password(password)
            _save_password(username, password)
        user.save()
        self.stdout.write(f"Login:     {username} / {password}")


def _saved_password(username: str) -> str | None:
    try:
        return login_file(username).read_text().strip() or None
    except OSError:
        return None


def _save_password(username: str, password: str) -> None:
    path = login_file(username)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(password + "\n")
