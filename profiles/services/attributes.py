"""The one validation of a person's `attributes` (docs/rules.md, "Custom attributes").

`attributes` is a JSON object holding two kinds of keys:
- the profiling keys (`profiling.PROFILING_KEYS`: first touch, products viewed, purchases…),
  written only by the recording path and combined by merges: read-only for staff and traits;
- custom attributes, set by staff (admin, shell), by a website's identify traits and by
  import: at most MAX_KEYS keys and MAX_BYTES of compact JSON, so one profile cannot grow
  without limit (and its history, preview and journal stay small).

Every writer of custom attributes checks them here: the admin form, `create_person` and
`apply_staff_edit` (the shell), and identify's traits. Errors are `InvalidInput`
naming the field (the API answers them with 400; the admin shows them on the field).
"""

from __future__ import annotations

import json
from typing import Any

from profiles.services.profiling import PROFILING_KEYS
from profiles.services.validation import InvalidInput, clean_object

MAX_KEYS = 200
MAX_BYTES = 16 * 1024
MAX_KEY_LENGTH = 100


def custom_part(attributes: Any) -> dict[str, Any]:
    """The custom attributes of a stored value (a malformed stored value counts as empty)."""
    if not isinstance(attributes, dict):
        return {}
    return {key: value for key, value in attributes.items() if key not in PROFILING_KEYS}


def profiling_part(attributes: Any) -> dict[str, Any]:
    """The system's profiling attributes of a stored value (malformed: empty)."""
    if not isinstance(attributes, dict):
        return {}
    return {key: value for key, value in attributes.items() if key in PROFILING_KEYS}


def serialized_size(value: Any) -> int:
    """Bytes of `value` as compact JSON (UTF-8), the way the limits measure it."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def clean_custom_attributes(
    value: Any, *, field: str = "attributes", stored: Any = None
) -> dict[str, Any]:
    """Custom attributes as given by staff or traits: an object of JSON values with
    string keys, no profiling key, within the limits. Returns the object.

    `stored`: the person's current attributes when `value` replaces their custom part (a
    staff edit). A person past the limits (two merged profiles may hold more than either)
    can still be edited as long as the edit does not make it bigger."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object of attributes, like {\"plan\": \"pro\"}")
    for key in value:
        _check_key(field, key)
    clean_object(field, value)
    check_limits(value, field=field, before=custom_part(stored))
    return value


def check_limits(custom: dict[str, Any], *, field: str, before: dict[str, Any] | None = None
                 ) -> None:
    """At most MAX_KEYS custom attributes and MAX_BYTES of compact JSON — unless `custom`
    is no bigger than `before` (what the person holds already) on the measure it passes."""
    before = before or {}
    if len(custom) > MAX_KEYS and len(custom) > len(before):
        raise InvalidInput(field, f"must have at most {MAX_KEYS} custom attributes "
                                  f"(has {len(custom)})")
    size = serialized_size(custom)
    if size > MAX_BYTES and size > serialized_size(before):
        raise InvalidInput(field, f"must be at most {MAX_BYTES // 1024} KB as JSON "
                                  f"(is {(size + 1023) // 1024} KB)")


def _check_key(field: str, key: Any) -> None:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(field, "keys must be non-empty text")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{field}.{key[:40]}…",
                           f"is longer than {MAX_KEY_LENGTH} characters (an attribute name)")
    if key in PROFILING_KEYS:
        raise InvalidInput(f"{field}.{key}",
                           "is kept by Onefold's profiling (read-only), not a custom attribute")


def with_custom(*, stored: Any, custom: dict[str, Any]) -> dict[str, Any]:
    """The stored value with its custom attributes replaced by `custom` (a staff edit):
    the profiling keys are kept as the system recorded them."""
    return {**profiling_part(stored), **custom}


def with_traits(*, stored: Any, traits: dict[str, Any], field: str = "traits") -> dict[str, Any]:
    """The stored value with identify's traits laid over it (cleaned by
    clean_custom_attributes); refuses when the person's custom attributes would then pass
    the limits (a website sending new keys on every identify)."""
    base = stored if isinstance(stored, dict) else {}
    custom = custom_part(base)
    check_limits({**custom, **traits}, field=field, before=custom)
    return {**base, **traits}
