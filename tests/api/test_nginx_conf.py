"""The shipped front proxy's configuration against the server behind it (no server started)."""

from __future__ import annotations

import re

from deploy.stack import NGINX_SITE, granian_command

NGINX_DEFAULT_UPSTREAM_IDLE = 60  # seconds: nginx's keepalive_timeout in an upstream block
GRANIAN_DEFAULT_HEADER_READ_TIMEOUT = 30  # seconds: it closes a connection idle that long


def _upstream_block() -> str:
    text = NGINX_SITE.read_text()
    match = re.search(r"upstream onefold_app \{(.*?)\n\}", text, re.S)
    assert match, f"{NGINX_SITE} has no upstream onefold_app block"
    return re.sub(r"#.*", "", match.group(1))


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()
    return int(number) * {"ms": 0.001, "s": 1, None: 1, "m": 60}[unit]


def test_nginx_closes_idle_upstream_connections_before_granian_does():
    """granian closes a keep-alive connection idle for 30 s; if nginx kept it longer, a request
    sent on it just as granian closes it would fail, and nginx does not resend a POST: a 502
    for an event that was never recorded."""
    block = _upstream_block()
    assert re.search(r"^\s*keepalive \d+;", block, re.M), "no reused upstream connections"
    found = re.search(r"^\s*keepalive_timeout (\S+);", block, re.M)
    idle = _seconds(found.group(1)) if found else NGINX_DEFAULT_UPSTREAM_IDLE
    command = granian_command(port=8001)
    assert "--http1-header-read-timeout" not in command  # else compare with its value
    assert idle < GRANIAN_DEFAULT_HEADER_READ_TIMEOUT


def test_requests_to_granian_reuse_http11_connections():
    site = re.sub(r"#.*", "", NGINX_SITE.read_text())
    assert "proxy_http_version 1.1;" in site
    assert 'proxy_set_header Connection "";' in site  # else nginx sends "close" on each
