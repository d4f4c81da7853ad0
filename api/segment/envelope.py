"""How Segment's clients send a request: the write key, the body (maybe gzipped), the refusals.

- The key is the HTTP Basic user name (`writeKey:`, as every Segment library sends it), or
  `writeKey` in the body (the browser library puts it there too); Onefold's own Bearer and
  X-Onefold-Key headers work as well.
- The body is JSON whatever its Content-Type says: the browser library sends `text/plain`, a
  "simple" request that needs no CORS preflight. `Content-Encoding: gzip` is unpacked, within
  the same size limit as an uncompressed body (a few KB of gzip can unpack to gigabytes).
- Refusals keep the API's error body and add the spec's `code` and `message` (the Python
  library logs those); their statuses are `api.errors.SEGMENT_STATUS_BY_CODE`.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from django.http import HttpRequest, JsonResponse

from api.errors import SEGMENT_STATUS_BY_CODE, ApiError, error_response
from api.http import Payload, decode_json, read_body, too_large
from profiles.services.errors import INVALID

HOW_TO_AUTHENTICATE = "HTTP Basic auth with the write key as user name, or writeKey in the body"


def read_payload(request: HttpRequest, *, max_bytes: int) -> Payload:
    """The request's JSON object, unpacked when gzipped; at most `max_bytes` either way."""
    raw = read_body(request, max_bytes=max_bytes)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding == "gzip":
        raw = _gunzip(raw, max_bytes=max_bytes)
    elif encoding not in ("", "identity"):
        raise ApiError(INVALID, "content-encoding", "only gzip is accepted")
    return decode_json(raw)


def _gunzip(raw: bytes, *, max_bytes: int) -> bytes:
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the gzip container
    try:
        body = unpacker.decompress(raw, max_bytes + 1)
    except zlib.error as exc:
        raise ApiError(INVALID, "body", "Content-Encoding says gzip, but the body is not") from exc
    if len(body) > max_bytes:
        raise too_large(max_bytes)
    if not unpacker.eof:
        raise ApiError(INVALID, "body", "the gzip body is cut short")
    return body


def write_key(request: HttpRequest, payload: Payload) -> str | None:
    """The key the request carries: Basic auth's user name, else the body's `writeKey`; None
    to let the API's own headers speak."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApiError("unauthorized", "authorization",
                           "malformed Basic credentials") from exc
        return decoded.partition(":")[0].strip()
    key = payload.data.get("writeKey")
    return key.strip() if isinstance(key, str) else None


def refusal(error: ApiError) -> JsonResponse:
    """A refusal as Segment's clients read it (see the module docstring)."""
    if error.code == "busy" and "Retry_After" not in error.headers:
        error.headers["Retry_After"] = "1"  # 503: the clients retry it, after a second
    return error_response(error, statuses=SEGMENT_STATUS_BY_CODE,
                          extra={"success": False, "code": error.code, "message": error.message})
