"""Admin login throttling (django-axes) and production HTTPS settings (`check --deploy`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from django.urls import reverse

from crm.security import client_ip
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[1]
LOGIN = reverse("admin:login")


def login(client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(f"{LOGIN}?next=/admin/", {"username": username, "password": password},
                       REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_thirty_wrong_passwords_then_the_right_one_is_refused(client):
    UserFactory(username="ann", password="right-password-1")
    for _ in range(30):
        login(client, "ann", "wrong")

    response = login(client, "ann", "right-password-1")

    assert response.status_code == 429
    assert "refused for 15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_lock_is_per_username_and_address(client):
    UserFactory(username="ann", password="right-password-1")
    UserFactory(username="bob", password="right-password-2")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "ann", "wrong")

    assert login(client, "ann", "right-password-1").status_code == 429
    assert login(client, "bob", "right-password-2").status_code == 302  # another username
    client.logout()
    assert login(client, "ann", "right-password-1", ip="198.51.100.9").status_code == 302


@pytest.mark.django_db
def test_a_success_before_the_limit_starts_the_count_again(client):
    UserFactory(username="ann", password="right-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "ann", "wrong")
    assert login(client, "ann", "right-password-1").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "ann", "wrong")
    assert login(client, "ann", "right-password-1").status_code == 302


@pytest.mark.django_db
def test_the_lock_ends_after_the_cool_off(client):
    import datetime as dt

    from axes.models import AccessAttempt

    UserFactory(username="ann", password="right-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "ann", "wrong")
    AccessAttempt.objects.update(attempt_time=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    assert login(client, "ann", "right-password-1").status_code == 302


def test_a_client_cannot_choose_its_address_with_x_forwarded_for():
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7",
                                   HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "203.0.113.7"


@override_settings(ONEFOLD_TRUSTED_PROXIES=1)
def test_behind_one_proxy_the_address_it_saw_is_the_client():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2",
                                   HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    assert client_ip(request) == "203.0.113.7"  # 1.2.3.4 was written by the client


PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "x7Qp2L9vZ4mN8rT1wB6yK3cF5hJ0dS-aE_uG!iO@lP#nR$tV%zX^qW&",
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "DJANGO_SECURE_COOKIES": "true",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_HSTS_PRELOAD": "true",
    "DJANGO_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "CACHE_URL": "redis://127.0.0.1:6379/3",
}


def check_deploy(extra: dict[str, str]) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("DJANGO_", "ONEFOLD_", "CACHE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**environment, **extra}, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_settings_set():
    result = check_deploy(PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_https_settings_come_from_the_environment():
    result = check_deploy({key: value for key, value in PRODUCTION.items()
                           if key in ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS",
                                      "CACHE_URL")})
    report = result.stdout + result.stderr
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in report
