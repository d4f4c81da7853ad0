"""The production setup, started by the test: granian (2 workers × 4 threads, debug off) behind
Debian's nginx with the shipped deploy/nginx/onefold.conf, PostgreSQL, Redis for the rate limits.

Issue 12: finding 3 (slow clients), finding 5 (rate limits shared atomically between web
processes), finding 8 (a chunked body, a bad Host, HEAD) through the real HTTP stack.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from http.client import HTTPConnection

import pytest
from django.conf import settings

from deploy.stack import nginx_missing, server_environment, start_stack
from profiles.models import Activity, Site
from profiles.services.sites import issue_site_key

REDIS_URL = os.environ.get("ONEFOLD_TEST_CACHE_URL", "redis://127.0.0.1:6379/5")
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TRACK = {"anonymous_id": "dev-1", "kind": "page_view"}


def _redis_down() -> str | None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return "Redis is not running on 127.0.0.1:6379"
    return None


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    reason = nginx_missing() or _redis_down()
    if reason and os.environ.get("CI"):
        pytest.fail(f"CI must run the production setup's tests: {reason}")
    if reason:
        pytest.skip(reason)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # this stream's own rate-limit database
    database = settings.DATABASES["default"]
    url = (f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
           f"{database['NAME']}")
    running = start_stack(env=server_environment(
        DATABASE_URL=url, CACHE_URL=REDIS_URL, ONEFOLD_SITE_CACHE_SECONDS="0",
    ))
    yield running
    running.stop()


def new_site(**limits: int) -> str:
    site = Site.objects.create(name="Production test", require_identity_verification=False,
                               **limits)
    return issue_site_key(site=site)


def send(port: int, path: str, body: object, key: str, *, method: str = "POST",
         source: str = "127.0.0.1", headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """One request on its own connection (from `source`, a loopback address); (status, JSON)."""
    conn = HTTPConnection("127.0.0.1", port, timeout=15, source_address=(source, 0))
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json",
                              "Authorization": f"Bearer {key}", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith(b"{") else {}
    finally:
        conn.close()


def in_threads(count: int, work) -> list:
    results: list = []
    lock = threading.Lock()

    def run() -> None:
        outcome = work()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- Finding 3: slow and idle clients ----------------------------------------------------------


def test_500_slow_or_idle_connections_leave_the_api_and_the_admin_answering(stack):
    key = new_site(rate_limit_per_minute=0, rate_limit_per_client_per_minute=0)
    held = []
    try:
        for n in range(500):
            conn = socket.create_connection(("127.0.0.1", stack.port), timeout=15)
            if n % 2:  # headers and half the declared body, then nothing
                conn.sendall(
                    b"POST /api/v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nAuthorization: Bearer "
                    + key.encode() + b"\r\nContent-Length: 80\r\n\r\n{\"anonymous_id\": \"sl"
                )
            held.append(conn)  # the others: connected, idle
        answers = [send(stack.port, "/api/v1/track", {**TRACK, "anonymous_id": f"d{n}"}, key)
                   for n in range(20)]
        admin = HTTPConnection("127.0.0.1", stack.port, timeout=15)
        admin.request("GET", "/admin/login/")
        login = admin.getresponse()
        login.read()

        assert [status for status, _ in answers] == [200] * 20
        assert login.status == 200
    finally:
        for conn in held:
            conn.close()
    assert Activity.objects.count() == 20


# --- Finding 5: rate limits shared by every web process, atomically ----------------------------


def test_concurrent_requests_on_two_web_processes_never_pass_the_limit(stack):
    key = new_site(rate_limit_per_minute=40, rate_limit_per_client_per_minute=0)

    statuses = in_threads(
        60, lambda: send(stack.port, "/api/v1/track", TRACK, key)[0]
    )

    assert sorted(statuses) == [200] * 40 + [429] * 20
    assert Activity.objects.count() == 40


def test_refused_requests_are_not_counted_by_the_production_server(stack):
    key = new_site(rate_limit_per_minute=10, rate_limit_per_client_per_minute=0)
    junk = {"batch": [{"type": "track", "anonymous_id": "undefined", "kind": "page_view"}] * 10}

    refused = {send(stack.port, "/api/v1/batch", junk, key)[0] for _ in range(5)}
    accepted = [send(stack.port, "/api/v1/track", TRACK, key)[0] for _ in range(11)]

    assert refused == {400}
    assert accepted == [200] * 10 + [429]


def test_one_client_behind_the_proxy_cannot_use_up_the_sites_budget(stack):
    key = new_site(rate_limit_per_minute=100, rate_limit_per_client_per_minute=3)
    forged = {"X-Forwarded-For": "203.0.113.99"}  # made up by the client: not trusted

    greedy = [send(stack.port, "/api/v1/track", TRACK, key, source="127.0.0.2",
                   headers=forged)[0] for _ in range(4)]
    other = send(stack.port, "/api/v1/track", TRACK, key, source="127.0.0.3")[0]

    assert greedy == [200, 200, 200, 429] and other == 200


# --- Finding 8: the envelope's details on the real server ---------------------------------------


@pytest.mark.parametrize("through", ["proxy", "bare"])
def test_a_chunked_body_is_read_not_taken_for_empty(stack, through):
    key = new_site(rate_limit_per_minute=0)
    port = stack.proxy_port if through == "proxy" else stack.app_port
    body = json.dumps(TRACK).encode()
    conn = socket.create_connection(("127.0.0.1", port), timeout=15)
    conn.sendall(
        b"POST /api/v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\n\r\n"
        + b"%x\r\n" % 10 + body[:10] + b"\r\n" + b"%x\r\n" % (len(body) - 10) + body[10:]
        + b"\r\n0\r\n\r\n"
    )
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    conn.close()

    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert answer.endswith(b'{"ok": true}')
    assert Activity.objects.count() == 1


def test_a_bad_host_is_a_json_400_through_the_proxy(stack):
    status, body = send(stack.port, "/api/v1/track", TRACK, "ofk_x",
                        headers={"Host": "evil.example"})

    assert status == 400 and body["error"]["field"] == "host"


@pytest.mark.parametrize("path", ["/api/v1/track", "/api/v2/track"])
def test_head_answers_with_json_headers_on_the_server(stack, path):
    conn = HTTPConnection("127.0.0.1", stack.port, timeout=15)
    conn.request("HEAD", path)
    response = conn.getresponse()
    response.read()

    assert response.status in (404, 405)
    assert response.getheader("Content-Type") == "application/json"
