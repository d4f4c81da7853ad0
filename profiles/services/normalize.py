"""Normalization of emails and identity values: one definition for every write path."""

from __future__ import annotations

from profiles.models import IdentityKind


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased, as the database's `email_normalized` column computes it."""
    return value.strip().lower()


def normalize_identity_value(*, kind: str, value: str) -> str:
    if kind == IdentityKind.EMAIL:
        return normalize_email(value)
    if kind == IdentityKind.PHONE:
        return "".join(ch for ch in value if ch.isdigit() or ch == "+")
    return value.strip()
