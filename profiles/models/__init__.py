"""Profiles domain models: one Person per real person, and everything that points at one."""

from profiles.models.activity import Activity, ActivityKind, ActivitySource, Conversation, Deal
from profiles.models.identity import TRUST_RANK, Identity, IdentityKind, IdentityTrust
from profiles.models.merge import MergeReason, MergeRecord
from profiles.models.person import Person, PersonStatus, PersonTag, Tag
from profiles.models.site import Site

__all__ = [
    "Activity",
    "ActivityKind",
    "ActivitySource",
    "Conversation",
    "Deal",
    "Identity",
    "IdentityKind",
    "IdentityTrust",
    "TRUST_RANK",
    "MergeReason",
    "MergeRecord",
    "Person",
    "PersonStatus",
    "PersonTag",
    "Site",
    "Tag",
]
