"""Helpers for the Segment tracking API tests: a poster speaking as Segment's libraries do."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from tests.api.conftest import _fresh_rate_limits, site  # noqa: F401  (shared fixtures)


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture
def segment(client, site):  # noqa: F811
    """POST to /v1/<path> with the site's key as Basic auth (`key=""`: none); `raw` bytes as
    they are, `gzipped` to compress the body."""

    def send(path: str, body: Any = None, *, key: str | None = None, raw: bytes | None = None,
             content_type: str = "application/json", gzipped: bool = False,
             remote_addr: str = "127.0.0.1", **headers: str):
        key = site.plain_key if key is None else key
        extra = {"HTTP_AUTHORIZATION": basic(key)} if key else {}
        extra.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
        extra["REMOTE_ADDR"] = remote_addr
        data = raw if raw is not None else json.dumps(body).encode()
        if gzipped:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        return client.generic("POST", f"/v1/{path}", data, content_type=content_type, **extra)

    return send
