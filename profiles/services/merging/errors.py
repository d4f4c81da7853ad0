"""Refusals of the merge engine: ValidationErrors with a code, so every surface can show them."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class MergeRefused(ValidationError):
    """The merge was not done and nothing was written. `code` says why (see docs/merging.md)."""


class UndoRefused(MergeRefused):
    """The undo was not done and nothing was written: it could not restore exactly."""
