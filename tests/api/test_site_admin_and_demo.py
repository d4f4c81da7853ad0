"""Site admin (key shown once, revoke), the snippet and the demo shop page."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.messages import get_messages
from django.test import override_settings
from django.urls import reverse

from profiles.models import Site
from profiles.services.sites import hash_key

pytestmark = pytest.mark.django_db


def test_adding_a_site_shows_its_key_once_and_stores_only_the_hash(admin_client):
    response = admin_client.post(
        reverse("admin:profiles_site_add"),
        {"name": "Shop", "allowed_origins": "https://shop.example", "rate_limit_per_minute": 100,
         "rate_limit_per_client_per_minute": 10},
    )

    assert response.status_code == 302
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    key = re.search(r"(ofk_[\w-]+)", text).group(1)
    site = Site.objects.get(name="Shop")
    assert site.key_hash == hash_key(key) and key not in site.key_hash
    change_url = reverse("admin:profiles_site_change", args=[site.pk])
    admin_client.get(change_url)  # the page the message is displayed on, once
    assert key not in admin_client.get(change_url).content.decode()


def test_revoke_action_revokes_and_logs(admin_client, site):
    response = admin_client.post(
        reverse("admin:profiles_site_changelist"),
        {"action": "revoke_keys", "_selected_action": [site.pk]},
    )

    assert response.status_code == 302
    site.refresh_from_db()
    assert site.revoked_at is not None
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.filter(object_id=str(site.pk)).exists()


def test_site_changelist_renders(admin_client, site):
    assert admin_client.get(reverse("admin:profiles_site_changelist")).status_code == 200


def test_snippet_is_served_as_javascript(client):
    response = client.get("/onefold.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"window.onefold" in response.content


@override_settings(ONEFOLD_DEMO=True)
def test_demo_shop_page_uses_the_demo_key(client):
    from profiles.services.sites import DEMO_WRITE_KEY, ensure_demo_site

    ensure_demo_site()
    response = client.get("/demo/?product=mug-otter")

    assert response.status_code == 200
    html = response.content.decode()
    assert DEMO_WRITE_KEY in html and "Otter mug" in html and 'src="/onefold.js"' in html


@override_settings(ONEFOLD_DEMO=False, DEBUG=False)
def test_demo_shop_is_off_outside_debug(client):
    assert client.get("/demo/").status_code == 404


def test_deploy_check_warns_when_rate_limits_are_per_process(settings):
    from django.core.checks import run_checks

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "api.W001" in {message.id for message in run_checks(include_deployment_checks=True)}
    assert "api.W001" not in {message.id for message in run_checks()}

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/2"}}
    assert "api.W001" not in {
        message.id for message in run_checks(include_deployment_checks=True)
    }


# --- Issue 12, finding 6: the demo key works only while the demo is on -------------------------


def test_the_demo_key_is_refused_while_the_demo_is_off(client, settings):
    from profiles.services.sites import DEMO_WRITE_KEY, ensure_demo_site

    ensure_demo_site()
    settings.ONEFOLD_DEMO = False
    event = json.dumps({"anonymous_id": "d", "kind": "page_view"})

    off = client.post("/api/v1/track", event, content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {DEMO_WRITE_KEY}")
    settings.ONEFOLD_DEMO = True
    on = client.post("/api/v1/track", event, content_type="application/json",
                     HTTP_AUTHORIZATION=f"Bearer {DEMO_WRITE_KEY}")

    assert off.status_code == 401 and off.json()["error"]["field"] == "authorization"
    assert "demo" in off.json()["error"]["message"]
    assert on.status_code == 200


def test_a_page_view_never_creates_the_demo_site(client, settings):
    settings.ONEFOLD_DEMO = True

    response = client.get("/demo/")

    assert response.status_code == 503 and b"seed_demo" in response.content
    assert not Site.objects.exists()


def test_seed_demo_creates_the_demo_site_even_when_people_exist(settings):
    from django.core.management import call_command

    from profiles.services.sites import DEMO_WRITE_KEY, hash_key
    from tests.factories import PersonFactory

    PersonFactory()
    call_command("seed_demo", "--if-empty", "--people", "0", stdout=io.StringIO())

    site = Site.objects.get(name="Demo shop")
    assert site.key_hash == hash_key(DEMO_WRITE_KEY) and site.require_identity_verification


def test_the_demo_signs_its_login_server_side_and_only_while_on(client, settings):
    from django.test import Client

    from profiles.services.sites import ensure_demo_site, user_hash

    site = ensure_demo_site()
    settings.ONEFOLD_DEMO = True
    signed = client.post("/demo/sign", {"user_id": "ＢＯＢ", "email": "b@example.com"},
                         content_type="application/json")
    csrf_checked = Client(enforce_csrf_checks=True).post(
        "/demo/sign", {"user_id": "bob"}, content_type="application/json")
    settings.ONEFOLD_DEMO = False
    off = client.post("/demo/sign", {"user_id": "bob"}, content_type="application/json")

    assert signed.status_code == 200
    assert signed.json()["user_id"] == "BOB"  # as the API will store and check it
    assert signed.json()["user_hash"] == user_hash(site=site, user_id="BOB")
    assert "email_hash" in signed.json()
    assert csrf_checked.status_code == 403  # another site's page cannot ask for a hash
    assert off.status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_first_visits_to_the_demo_all_answer(settings):
    from django.test import Client

    from profiles.services.sites import ensure_demo_site
    from tests.api.test_concurrency import run_threads

    settings.ONEFOLD_DEMO = True
    ensure_demo_site()
    statuses = []

    def visit() -> None:
        statuses.append(Client().get("/demo/").status_code)

    run_threads([visit] * 10)

    assert statuses == [200] * 10
    assert Site.objects.count() == 1


def test_deploy_check_warns_while_the_demo_is_on(settings):
    from django.core.checks import run_checks

    settings.ONEFOLD_DEMO = True
    assert "api.W002" in {m.id for m in run_checks(include_deployment_checks=True)}
    settings.ONEFOLD_DEMO = False
    assert "api.W002" not in {m.id for m in run_checks(include_deployment_checks=True)}
