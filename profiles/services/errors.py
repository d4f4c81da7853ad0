"""Domain errors of the services: a code says what kind of refusal, a field what is at fault.

Services never speak HTTP. Every surface maps the code to what it shows: the website API has
one table of code -> status (`api/errors.py`), the admin shows the message, the shell sees the
exception. A ValidationError, so forms and the admin can show one like any other.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

# The codes a service may raise, and what each means to the caller.
INVALID = "invalid"  # the input is wrong: fix it, resending the same will not help
TOO_LARGE = "too_large"  # the input is over a size limit: split or shorten it
VERIFICATION_REQUIRED = "verification_required"  # a claim needs its HMAC (user_hash/email_hash)
CONFLICT = "conflict"  # the input contradicts what is stored: resending it will not help
BUSY = "busy"  # a race was lost every time it was retried: the same call may succeed later
CODES = frozenset({INVALID, TOO_LARGE, VERIFICATION_REQUIRED, CONFLICT, BUSY})


class ServiceError(ValidationError):
    """A refusal with a `code` (one of CODES), the `field` at fault (or None) and a message."""

    def __init__(self, field: str | None, message: str, *, code: str = INVALID) -> None:
        if code not in CODES:
            raise ValueError(f"unknown service error code {code!r}")
        super().__init__({field or "__all__": [message]})
        self.field = field
        self.text = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.field}: {self.text}" if self.field else self.text

    def at(self, prefix: str) -> ServiceError:
        """The same refusal with its field named inside a larger input (`batch[3].`)."""
        field = prefix + self.field if self.field else prefix.rstrip(".")
        return ServiceError(field, self.text, code=self.code)
