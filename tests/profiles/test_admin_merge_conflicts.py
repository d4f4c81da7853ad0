"""Suspects the merge engine refuses (two different user IDs): the pick page and the person page
say why and offer what can be done instead of a preview that would refuse (issue 14)."""

from __future__ import annotations

from html import escape

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from dedup.admin_marks import mark_url
from profiles.admin.merge.views import preview_url
from tests.factories import PersonFactory, UserFactory
from tests.profiles.admin_helpers import change_url, pick_url

pytestmark = pytest.mark.django_db

SENTENCE = "Holds a different user ID (u-b): two user IDs are never merged."
MERGER = ("profiles.view_person", "profiles.change_person", "profiles.merge_person")


def client_with(*perms: str) -> Client:
    user = UserFactory()
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people():
    """Ann (user ID u-a); Ann B. with the same email and user ID u-b; Ann C. without one."""
    ann = PersonFactory(name="Ann", email="ann@example.com", user_id="u-a")
    holder = PersonFactory(name="Ann B", email="ANN@example.com", user_id="u-b")
    plain = PersonFactory(name="Ann C", email="ann@example.com ")
    return ann, holder, plain


def html_url(url: str) -> str:
    return escape(url, quote=True)


@pytest.mark.parametrize("page", [pick_url, change_url], ids=["pick page", "person page"])
def test_a_holder_of_another_user_id_gets_the_reason_and_the_mark_link(people, page):
    ann, holder, plain = people
    client = client_with(*MERGER, "dedup.add_keptapart")

    text = client.get(page(ann)).content.decode()

    assert html_url(preview_url([ann.pk, holder.pk])) not in text
    assert SENTENCE in text
    assert html_url(mark_url([ann.pk, holder.pk], next_url=page(ann))) in text
    assert f'href="{change_url(holder)}" class="suspect-open"' in text
    assert html_url(preview_url([ann.pk, plain.pk])) in text  # no user ID: mergeable


@pytest.mark.parametrize("page", [pick_url, change_url], ids=["pick page", "person page"])
def test_without_the_mark_permission_no_mark_link_but_still_the_reason(people, page):
    ann, holder, plain = people
    client = client_with(*MERGER)

    text = client.get(page(ann)).content.decode()

    assert SENTENCE in text
    assert html_url(preview_url([ann.pk, holder.pk])) not in text
    assert "suspect-apart" not in text
    assert html_url(preview_url([ann.pk, plain.pk])) in text

