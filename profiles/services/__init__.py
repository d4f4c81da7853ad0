"""The profiles Python API. Every surface (admin, HTTP, tasks, commands, shell) calls these.

Names are re-exported lazily so that importing one service does not import them all.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "normalize_email": "profiles.services.normalize",
    "normalize_identity_value": "profiles.services.normalize",
    "create_person": "profiles.services.people",
    "resolve_live": "profiles.services.tombstones",
    "apply_staff_edit": "profiles.services.people",
    # Merging engine (profiles/services/merging/)
    "MergeRefused": "profiles.services.merging",
    "MergePreview": "profiles.services.merging",
    "choose_base": "profiles.services.merging",
    "merge_preview": "profiles.services.merging",
    "merge_people": "profiles.services.merging",
    "undo_merge": "profiles.services.merging",
    # Website events (identify, tracking, chat)
    "identify": "profiles.services.identification",
    "track": "profiles.services.tracking",
    "chat_message": "profiles.services.chat",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'profiles.services' has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = sorted(_EXPORTS)
