"""Segment's messages as the website API's events: a translation, not a second recording path.

Each message of the Segment tracking spec (identify, track, page, screen, group, alias) becomes
the payload of a native identify or track event, which then goes through the same validation
(`ingestion.clean_event`) and the same recording (`ingestion.record_batch`) as `/api/v1/`:

- identify: traits as identify's (a `company` object gives its name, `address` its city and
  country, firstName + lastName the name when there is none);
- page and screen: a page view (`context.page` and `context.campaign` fill the URL, referrer,
  search and UTM tags the profiling reads);
- track: a named event; `Order Completed` a purchase (`revenue`, else `total`, its amount), the
  email events of the spec the email kinds, `Product Viewed` a product viewed;
- alias: identify stitching `previousId` (a device) into `userId`;
- group: identify setting the person's company (`traits.name`) and a `group_id` attribute.

A message that cannot be recorded raises `Rejected` with a reason in the client's words
(Segment's field names), which the caller counts (api/segment/rejections.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from api.segment.timestamps import occurred_at
from profiles.models import ActivityKind, Identity, IdentityKind, Person, Site
from profiles.services.errors import ServiceError
from profiles.services.events import message_digest
from profiles.services.ingestion import Command, clean_event
from profiles.services.validation import InvalidInput, clean_message_id

ORDER_COMPLETED = "Order Completed"
PRODUCT_VIEWED = "Product Viewed"
EMAIL_EVENTS = {  # the spec's email events, as Onefold's email kinds (its email profiling)
    "Email Delivered": ActivityKind.EMAIL_SENT,
    "Email Opened": ActivityKind.EMAIL_OPENED,
    "Email Link Clicked": ActivityKind.EMAIL_CLICKED,
}
PAGE_KEYS = {key: key for key in ("url", "path", "referrer", "title", "search")}
CAMPAIGN_KEYS = {"source": "utm_source", "medium": "utm_medium", "name": "utm_campaign",
                 "term": "utm_term", "content": "utm_content"}
CONTEXT_KEYS = {"userAgent": "user_agent", "locale": "locale", "ip": "ip"}
CONTEXT_SOURCES = frozenset({"page", "campaign", *CONTEXT_KEYS})
# Where identity verification's HMACs travel in a Segment call: the integration options a
# call may carry for one destination (`{integrations: {Onefold: {user_hash: "…"}}}`).
INTEGRATION = "Onefold"
HASHES = {"user_hash": ("user_hash", "userHash"), "email_hash": ("email_hash", "emailHash")}

# The native fields a refusal names, in the words of the Segment message that was sent.
FIELD_NAMES = {
    "anonymous_id": "anonymousId", "user_id": "userId", "message_id": "messageId",
    "occurred_at": "timestamp", "kind": "type", "properties.name": "event",
    "user_hash": f"integrations.{INTEGRATION}.user_hash",
    "email_hash": f"integrations.{INTEGRATION}.email_hash", "email": "traits.email",
}
FIELD_NAMES_BY_TYPE = {
    "alias": {"anonymous_id": "previousId"},
    "group": {"traits.company": "traits.name", "traits.group_id": "groupId"},
}


EMPTY: dict[str, Any] = MappingProxyType({})  # type: ignore[assignment]  # read, never written


class Rejected(Exception):
    """A message the API accepts (as Segment's does) but cannot record: `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Envelope:
    """What a request adds to each of its messages: the batch's `context` and `sentAt`, and
    when the request arrived (for clock-skew correction)."""

    received_at: dt.datetime
    context: dict[str, Any]
    sent_at: Any = None


def command_for(message: Any, *, type_: str | None, site: Site, envelope: Envelope) -> Command:
    """The native event of one Segment message, validated; raises Rejected."""
    if not isinstance(message, dict):
        raise Rejected("a message that is not a JSON object")
    type_ = type_ or message.get("type")
    translate = TRANSLATORS.get(type_) if isinstance(type_, str) else None
    if translate is None:
        raise Rejected(f"a message of unknown type {str(type_)[:40]!r}: use identify, track, "
                       "page, screen, group or alias")
    try:
        native_type, payload = translate(message, envelope)
        message_id = _add_who(message, payload)
        if native_type != "track":  # a track's message_id goes with the digest below
            if message_id is not None:
                payload["message_id"] = message_id
        else:
            message_id = clean_message_id(message_id)
        command = clean_event(native_type, payload, site=site)
    except ServiceError as exc:
        raise Rejected(reason_of(type_, exc)) from exc
    if native_type == "track":
        return _with_digest_as_sent(command, message, message_id)
    if type_ == "alias":
        _check_alias(command.data)
    return command


def reason_of(type_: str, exc: ServiceError) -> str:
    """A refusal in the client's words: "track call — userId: 'undefined' is not a real
    ID…"."""
    names = {**FIELD_NAMES, **FIELD_NAMES_BY_TYPE.get(type_, {})}
    text = exc.text
    for native in ("anonymous_id", "user_id"):
        text = text.replace(native, names[native])
    field = exc.field
    if field is not None:
        head, dot, rest = field.partition(".")
        field = names.get(field) or (names.get(head, head) + dot + rest)
    return f"{type_} call — {field}: {text}" if field else f"{type_} call — {text}"


def _add_who(message: dict[str, Any], payload: dict[str, Any]) -> Any:
    """Add the IDs and identity-verification HMACs every message may carry to the native
    `payload` (written into it: it is the translation's own dict); returns the messageId as
    sent. An ID the translation set (alias: `previousId` as the device) is kept."""
    for segment_name, native in (("anonymousId", "anonymous_id"), ("userId", "user_id")):
        value = message.get(segment_name)
        if value is not None:
            payload.setdefault(native, value)
    integrations = message.get("integrations")
    options = integrations.get(INTEGRATION) if isinstance(integrations, dict) else None
    if isinstance(options, dict):
        for native, spellings in HASHES.items():
            given = next((options[name] for name in spellings if name in options), None)
            if given is not None:
                payload[native] = given
    return message.get("messageId")


def _object(message: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of the message's object `name`, for a translation that changes it."""
    return dict(_read_object(message, name))


def _read_object(message: dict[str, Any], name: str) -> dict[str, Any]:
    """The message's object `name` itself ({} when absent), for a translation that only reads
    it (a copy per message costs more than the rest of a page view's translation)."""
    value = message.get(name)
    if value is None:
        return EMPTY
    if not isinstance(value, dict):
        raise InvalidInput(name, "must be an object")
    return value


def _context(message: dict[str, Any], envelope: Envelope) -> dict[str, Any]:
    """The message's context over the batch's (objects such as `page` merged key by key)."""
    own = _read_object(message, "context")
    if not envelope.context:  # the common case: nothing to merge
        return own
    if not own:  # the batch's own, read as it is: no copy per message
        return envelope.context
    merged = dict(envelope.context)
    for key, value in own.items():
        shared = merged.get(key)
        both = isinstance(shared, dict) and isinstance(value, dict)
        merged[key] = {**shared, **value} if both else value
    return merged


def _context_properties(context: dict[str, Any]) -> dict[str, Any]:
    """The page, campaign and client details of a context, as the properties Onefold's
    snippet sends (url, path, referrer, title, search, utm_*, user_agent, locale, ip)."""
    if CONTEXT_SOURCES.isdisjoint(context):  # e.g. a server library's: its `library` alone
        return {}
    properties: dict[str, Any] = {}
    for name, keys in (("page", PAGE_KEYS), ("campaign", CAMPAIGN_KEYS)):
        part = context.get(name)
        if isinstance(part, dict):
            properties.update(
                {native: part[key] for key, native in keys.items() if part.get(key) not in
                 (None, "")}
            )
    properties.update(
        {native: context[key] for key, native in CONTEXT_KEYS.items() if context.get(key)}
    )
    return properties


def _identify(message: dict[str, Any], envelope: Envelope) -> tuple[str, dict[str, Any]]:
    traits = _object(message, "traits")
    company = traits.get("company")
    if isinstance(company, dict):  # the spec's company object: its name is the person's company
        if isinstance(company.get("name"), str):
            traits["company"] = company["name"]
        else:
            traits.pop("company")
    address = traits.get("address")
    if isinstance(address, dict):
        for key in ("city", "country"):
            if isinstance(address.get(key), str) and not traits.get(key):
                traits[key] = address[key]
    if not traits.get("name"):
        parts = [traits.get(key) for key in ("firstName", "lastName")]
        full = " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
        if full:
            traits["name"] = full
    return "identify", {"traits": traits}


def _track(message: dict[str, Any], envelope: Envelope) -> tuple[str, dict[str, Any]]:
    event = message.get("event")
    if not isinstance(event, str) or not event.strip():
        raise InvalidInput("event", "is required: the name of what happened")
    own = _object(message, "properties")
    if "name" in own and own["name"] != event:
        own["item_name"] = own.pop("name")  # `name` is the event's name in Onefold
    kind = EMAIL_EVENTS.get(event, ActivityKind.EVENT)
    if event == ORDER_COMPLETED:
        kind = ActivityKind.PURCHASE
        amount = next((own[key] for key in ("revenue", "total") if _is_number(own.get(key))),
                      None)
        if amount is not None:
            own.setdefault("amount", amount)
    if event == PRODUCT_VIEWED and not own.get("product"):
        product = own.get("product_id") or own.get("sku")
        if product:
            own["product"] = product
    properties = {**_context_properties(_context(message, envelope)), **own, "name": event}
    return "track", _tracked(message, envelope, kind, properties)


def _page(message: dict[str, Any], envelope: Envelope) -> tuple[str, dict[str, Any]]:
    properties = {**_context_properties(_context(message, envelope)),
                  **_read_object(message, "properties")}
    for key in ("name", "category"):
        if message.get(key) is not None:
            properties.setdefault(key, message[key])
    return "track", _tracked(message, envelope, ActivityKind.PAGE_VIEW, properties)


def _screen(message: dict[str, Any], envelope: Envelope) -> tuple[str, dict[str, Any]]:
    native, payload = _page(message, envelope)
    properties = payload["properties"]
    if message.get("name") is not None:
        properties.setdefault("screen", message["name"])
        if not (properties.get("url") or properties.get("path")):
            properties["path"] = message["name"]  # the app's landing and exit "page"
    return native, payload


def _tracked(message: dict[str, Any], envelope: Envelope, kind: str,
             properties: dict[str, Any]) -> dict[str, Any]:
    payload = {"kind": kind, "properties": properties}
    moment = occurred_at(message, envelope.sent_at, envelope.received_at)
    if moment is not None:
        payload["occurred_at"] = moment
    return payload


def _group(message: dict[str, Any], envelope: Envelope) -> tuple[str, dict[str, Any]]:
    group_id = message.get("groupId")
    if group_id is None or group_id == "":
        raise InvalidInput("groupId", "is required")
    traits = _object(message, "traits")
    company = {"group_id": group_id}
    if traits.get("name") is not None:
        company["company"] = traits["name"]
    return "identify", {"traits": company}


def _alias(message: dict[str, Any], envelope: Envelope) -> tuple[str, dict[str, Any]]:
    previous = message.get("previousId")
    if previous is None:
        raise InvalidInput("previousId", "is required: the anonymousId to stitch")
    if message.get("userId") is None:
        raise InvalidInput("userId", "is required")
    if str(previous).strip() == str(message["userId"]).strip():
        raise InvalidInput("previousId", "is the userId itself: nothing to stitch")
    return "identify", {"anonymous_id": previous}


TRANSLATORS = {"identify": _identify, "track": _track, "page": _page, "screen": _screen,
               "group": _group, "alias": _alias}


def _check_alias(data: Any) -> None:
    """alias stitches a device into a user; `previousId` naming another user ID is refused, as
    identify never merges two user IDs."""
    previous = data.anonymous_id
    if (Identity.objects.filter(kind=IdentityKind.USER_ID, value=previous).exists()
            or Person.objects.filter(user_id=previous).exists()):
        raise Rejected("alias call — previousId: is another user ID, and two user IDs are "
                       "never merged")


def _with_digest_as_sent(command: Command, message: dict[str, Any],
                         message_id: str | None) -> Command:
    """The track event with its messageId and the digest that recognises a resend: what the
    client sent (its messageId, IDs, content and timestamps as sent). The corrected time moves
    with `sentAt` (a retry sends a new one), so the digest takes the client's own timestamps
    instead of it."""
    if message_id is None:
        return command
    data = command.data
    digest = message_digest(message_id, "segment", data.user_id, data.anonymous_id,
                            data.event.kind, data.event.properties, message.get("timestamp"),
                            message.get("originalTimestamp"))
    # Set in place on the Event clean_event has just made for this message, which nothing
    # else holds yet: rebuilding the frozen Event, TrackInput and Command (the way
    # dataclasses.replace does) cost more than the whole translation of a page view.
    # tests/api/segment/test_messages.py fails if Event renames these fields.
    object.__setattr__(data.event, "message_id", message_id)
    object.__setattr__(data.event, "message_digest", digest)
    return command


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
