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


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(
        {"error": {"field": error.field, "message": error.message}}, status=error.status
    )
    for name, value in error.headers.items():
        response[name.replace("_", "-")] = value
    # Refusals are the answers of a public API to its callers, not the server's trouble:
    # Django would log a WARNING line for each, so junk traffic would flood the logs. What
    # is the server's (a database refusing a value, an outage) is logged where it is caught.
    response._has_been_logged = True
    return response
