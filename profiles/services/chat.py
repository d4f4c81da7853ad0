"""chat_message(): a visitor's chat message, in the conversation that follows the person.

The conversation belongs to the person, not the device: once two devices are stitched (identify)
the merge moves both conversations to one profile and the next message, from either device,
continues the most recent one. An email address written in the chat becomes the profile's email
when it has none (status stays as the rules say: chat is not identify) and triggers enrichment.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from profiles.models import (
    Activity,
    ActivityKind,
    ActivitySource,
    Conversation,
    IdentityKind,
    IdentityTrust,
    Person,
    Site,
)
from profiles.services import enrichment
from profiles.services.events import Event, message_digest, notify_changed, record_events
from profiles.services.normalize import normalize_email
from profiles.services.recording_sql import activity_by_digest
from profiles.services.resolution import (
    add_identity,
    atomic_with_retry,
    is_retry,
    person_for_event,
)
from profiles.services.trust import NO_PROOF, STAFF, Proof
from profiles.services.validation import (
    EMAIL_RE,
    InvalidInput,
    clean_id,
    clean_message_id,
    clean_text,
    clean_timestamp,
)

# Loose on purpose: candidates are then checked with the strict EMAIL_RE. Matched around each
# "@" within bounded windows: one pattern over the whole text backtracks on every position of
# a long word (a 10,000-character message took 0.3 s of CPU inside the request's transaction).
LOCAL_CHARS = r"[\w.!#$%&'*+/=?^`{|}~-]"
LOCAL_PART_BEFORE_AT = re.compile(LOCAL_CHARS + r"{1,64}\Z")
LOCAL_CHAR = re.compile(LOCAL_CHARS)
DOMAIN_AFTER_AT = re.compile(r"[\w-]+(?:\.[\w-]+)+")
MAX_EMAIL_CANDIDATES = 20


def email_in_text(text: str) -> str | None:
    """The first valid email address written in a message, if any (not a URL's user:password@
    part, whose password would look like an address)."""
    at = -1
    for _ in range(MAX_EMAIL_CANDIDATES):
        at = text.find("@", at + 1)
        if at < 0:
            return None
        local = LOCAL_PART_BEFORE_AT.search(text, max(0, at - 64), at)
        domain = DOMAIN_AFTER_AT.match(text, at + 1, at + 256)
        before = text[local.start() - 1: local.start()] if local else ""
        # After ":" it is a URL's password; after another local character, a local part
        # longer than the window (64, the most an address may have) cut short.
        if local is None or domain is None or before == ":" or LOCAL_CHAR.match(before):
            continue
        candidate = f"{local.group()}@{domain.group()}".rstrip(".")
        if EMAIL_RE.match(candidate) and len(candidate) <= 254:
            return candidate
    return None


def chat_message(
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    text: str,
    occurred_at: dt.datetime | str | None = None,
    message_id: str | None = None,
    site: Site | None = None,
) -> Activity:
    """Record a visitor's message in their conversation (started on their first message)."""
    cleaned = clean_chat(
        anonymous_id=anonymous_id,
        user_id=user_id,
        text=text,
        occurred_at=occurred_at,
        message_id=message_id,
    )
    cleaned["proof"] = STAFF  # the Python API is staff's
    return atomic_with_retry(lambda: chat_in_transaction(**cleaned, site=site))[0]


def clean_chat(
    *,
    anonymous_id: Any = None,
    user_id: Any = None,
    text: Any,
    occurred_at: Any = None,
    message_id: Any = None,
) -> dict[str, Any]:
    cleaned = {
        "anonymous_id": clean_id("anonymous_id", anonymous_id),
        "user_id": clean_id("user_id", user_id),
        "text": clean_text("text", text),
        "occurred_at": clean_timestamp("occurred_at", occurred_at),
        "message_id": clean_message_id(message_id),
    }
    if not cleaned["anonymous_id"] and not cleaned["user_id"]:
        raise InvalidInput("anonymous_id", "an anonymous_id or a user_id is required")
    cleaned["message_digest"] = message_digest(
        cleaned["message_id"], "chat", cleaned["user_id"], cleaned["anonymous_id"],
        cleaned["text"], cleaned["occurred_at"].isoformat() if occurred_at is not None else None,
    )
    cleaned["proof"] = NO_PROOF  # until the caller says what vouches for the IDs
    return cleaned


def chat_in_transaction(
    *,
    anonymous_id: str | None,
    user_id: str | None,
    text: str,
    occurred_at: dt.datetime,
    message_id: str | None,
    message_digest: str | None,
    proof: Proof,
    site: Site | None,
) -> tuple[Activity, bool]:
    """Record the message in the caller's transaction: (activity, was it a resend)."""
    # Only when a race was lost: a resend fails the unique message digest, and the retry
    # finds the first copy here (no query on every message).
    if message_digest and is_retry():
        existing = activity_by_digest(message_digest, site_id=site.pk if site else None)
        if existing is not None:
            return existing, True  # a retried message: recorded once
    person = person_for_event(anonymous_id=anonymous_id, user_id=user_id, proof=proof)
    conversation = _conversation_for(person, site=site, at=occurred_at)
    [activity] = record_events(
        person=person,
        events=[
            Event(
                kind=ActivityKind.CHAT_MESSAGE,
                occurred_at=occurred_at,
                properties={"text": text, "author": "visitor"},
                source=ActivitySource.CHAT,
                message_id=message_id,
                message_digest=message_digest,
                conversation=conversation,
            )
        ],
        site=site,
    )
    email = email_in_text(text)
    if email:
        _learn_email(person, email)
    return activity, False


def _conversation_for(person: Person, *, site: Site | None, at: dt.datetime) -> Conversation:
    """The person's latest conversation (any device, any site), or a new one."""
    conversation = person.conversations.order_by("-last_message_at", "-id").first()
    if conversation is None:
        return Conversation.objects.create(
            person=person, original_person=person, site=site, started_at=at, last_message_at=at
        )
    if at > conversation.last_message_at:
        conversation.last_message_at = at
        conversation.save(update_fields=["last_message_at"])
    return conversation


REASON_EMAIL_LEARNED = "email left in chat"  # the profile's and the identity's history reason


def _learn_email(person: Person, email: str) -> None:
    """Keep the address as an identity (`typed`: the visitor's word, no site's); make it the
    profile's email when it has none."""
    add_identity(person, kind=IdentityKind.EMAIL, value=normalize_email(email),
                 reason=REASON_EMAIL_LEARNED, trust=IdentityTrust.TYPED)
    if person.email:
        return
    person.email = email
    person.updated_at = timezone.now()
    person._change_reason = REASON_EMAIL_LEARNED
    person.save(update_fields=["email", "updated_at"])
    notify_changed([(person, {"email", "updated_at"}, [])])  # segments reading the email
    person_id = person.pk
    transaction.on_commit(lambda: enrichment.enrich_person(person_id=person_id))
