"""Helpers shared by the merge/journal/duplicates admin tests."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.factories import UserFactory

PREVIEW = reverse("admin:profiles_person_merge_preview")


def staff_with(*codenames: str):
    """A staff user holding exactly these profiles permissions (codenames)."""
    user = UserFactory()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="profiles", codename__in=codenames)
    )
    return user


def change_url(person) -> str:
    return reverse("admin:profiles_person_change", args=[person.pk])


def pick_url(person) -> str:
    return reverse("admin:profiles_person_merge", args=[person.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]
