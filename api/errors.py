"""The API's one table from error code to HTTP status, and the JSON error body.

Services raise domain errors with a code (`profiles.services.errors`); the envelope refuses
with its own codes (a missing key, a wrong method…). Both become
`{"error": {"field": …, "message": …}}` with the status this table gives, and nothing else
in the API decides a status.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import JsonResponse

from profiles.services import errors

STATUS_BY_CODE = {
    # Refusals of a service (profiles.services.errors.CODES).
    errors.INVALID: 400,
    errors.VERIFICATION_REQUIRED: 403,
    errors.CONFLICT: 409,
    errors.BUSY: 409,
    errors.TOO_LARGE: 413,
    # Refusals of the envelope (api/http.py, api/ratelimit.py).
    "unauthorized": 401,
    "origin_not_allowed": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "rate_limited": 429,
    "unavailable": 503,
}

# The Segment tracking API (api/segment/) answers with its spec's statuses: an oversized message
# or batch is a 400, and a race lost every time a 503 with Retry-After, since Segment's clients
# drop every 4xx but 408, 410, 429 and 460 and retry 5xx.
SEGMENT_STATUS_BY_CODE = {**STATUS_BY_CODE, errors.TOO_LARGE: 400, errors.BUSY: 503}


class ApiError(Exception):
    """A refusal of the envelope: a code of STATUS_BY_CODE, the field at fault, a message,
    and headers to send with it (`Retry_After="3"` becomes `Retry-After: 3`)."""

    def __init__(self, code: str, field: str | None, message: str, **headers: str) -> None:
        if code not in STATUS_BY_CODE:
            raise ValueError(f"no status for API error code {code!r}")
        super().__init__(message)
        self.code, self.field, self.message, self.headers = code, field, message, headers

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]


def api_error_of(exc: ValidationError) -> ApiError:
    """A service's refusal as an ApiError. A ValidationError without a service code (a merge
    the rules refuse, say) conflicts with what is stored: 409, resending will not help."""
    if isinstance(exc, errors.ServiceError):
        return ApiError(exc.code, exc.field, exc.text)
    return ApiError(errors.CONFLICT, None, "; ".join(exc.messages))


def error_response(
    error: ApiError,
    *,
    statuses: dict[str, int] = STATUS_BY_CODE,
    extra: dict[str, object] | None = None,
) -> JsonResponse:
    """`{"error": {"field", "message"}}` (and `extra`'s keys) with the status `statuses`
    gives the error's code."""
    response = JsonResponse(
        {"error": {"field": error.field, "message": error.message}, **(extra or {})},
        status=statuses[error.code],
    )
    for name, value in error.headers.items():
        response[name.replace("_", "-")] = value
    # Refusals are the answers of a public API to its callers, not the server's trouble:
    # Django would log a WARNING line for each, so junk traffic would flood the logs. What
    # is the server's (a database refusing a value, an outage) is logged where it is caught.
    response._has_been_logged = True
    return response
