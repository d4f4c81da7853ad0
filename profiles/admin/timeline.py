"""The person page's timeline: each activity as a sentence with its key facts.

One renderer per activity kind, in `RENDERERS` (keyed by `ActivityKind`; a test fails, naming
the kind, when one is missing). A kind without a renderer — recorded by an older or newer
version — falls back to `render_other`: its label and its properties as words.

Properties come from websites and scripts: every value is escaped (`format_html`), read
without trusting its type, and a URL is a link only when it is http(s)
(`plain.safe_url`: never `javascript:` or `data:`). Long values wrap on the page; none is cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from profiles.admin.merge.display import person_link
from profiles.admin.plain import DASH, facts, labelled, link, money, plain, safe_url, when
from profiles.models import Activity, ActivityKind, Person


@dataclass
class TimelineContext:
    """What renderers need beyond the activity: the people its properties name (one query
    for a page of activities) and the person whose timeline it is."""

    person: Person | None = None
    people: dict[int, Person] = field(default_factory=dict)

    @classmethod
    def for_activities(cls, activities: Iterable[Activity], person: Person | None = None
                       ) -> TimelineContext:
        wanted = {pk for activity in activities for pk in _named_ids(activity)}
        people = Person.objects.only("id", "name", "email", "user_id").in_bulk(wanted)
        return cls(person=person, people=people)

    def person_link(self, pk: Any) -> SafeString:
        """"Ann L. (#4)" linking their page; "#4 (deleted)" for someone gone since."""
        if not isinstance(pk, int) or isinstance(pk, bool):
            return format_html("#{}", plain(pk))
        return person_link(pk, self.people.get(pk))


def _props(activity: Activity) -> Mapping[str, Any]:
    return activity.properties if isinstance(activity.properties, Mapping) else {}


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    return [pk for pk in value if isinstance(pk, int) and not isinstance(pk, bool)]


def _named_ids(activity: Activity) -> list[int]:
    props = _props(activity)
    return _ids(props.get("merged_ids")) + _ids(props.get("restored_ids"))


def _text(value: Any) -> str | None:
    """A non-empty text property, or None."""
    if isinstance(value, str) and value.strip():
        return value
    return None


def _joined(*parts: Any) -> SafeString:
    """The non-empty parts, joined as facts are."""
    return format_html_join(" · ", "{}", ((part,) for part in parts if part))


def _linked_fact(label: str, url: str | None) -> SafeString | str:
    """"from <a>…</a>" (a link only when safe), or nothing without a URL."""
    return format_html('<span class="fact">{} {}</span>', label, link(url)) if url else ""


def _rest(props: Mapping[str, Any], shown: Iterable[str]) -> SafeString:
    """The properties a sentence did not use, as "label: value" facts."""
    skip = set(shown)
    return facts((labelled(key), value) for key, value in props.items() if key not in skip)


@dataclass
class Entry:
    """One timeline row as the template draws it."""

    activity: Activity
    kind_label: str
    when: str
    sentence: SafeString
    details: SafeString = field(default_factory=lambda: SafeString(""))

    @property
    def source_note(self) -> str:
        """Where the row came from, when the sentence does not say it (an import, staff)."""
        return SOURCE_NOTES.get(self.activity.source, "")


SOURCE_NOTES = {"import": "recorded by an import", "admin": "recorded by staff"}

Renderer = Callable[[Activity, TimelineContext], tuple[SafeString, SafeString]]
RENDERERS: dict[str, Renderer] = {}


def renders(*kinds: str) -> Callable[[Renderer], Renderer]:
    def register(renderer: Renderer) -> Renderer:
        for kind in kinds:
            RENDERERS[kind] = renderer
        return renderer
    return register


@renders(ActivityKind.PAGE_VIEW)
def render_page_view(activity, context):
    props = _props(activity)
    page = _text(props.get("url")) or _text(props.get("path"))
    title = _text(props.get("title"))
    if page and safe_url(page):
        sentence = format_html("Viewed {}", link(page, title or page))
    elif page:  # a path on the website, or a URL that is no link: shown as text
        sentence = (format_html("Viewed “{}” ({})", title, link(page)) if title
                    else format_html("Viewed {}", link(page)))
    else:
        sentence = format_html("Viewed “{}”", title) if title else SafeString("Viewed a page")
    referrer = _text(props.get("referrer"))
    rest = _rest(props, {"url", "path", "title", "referrer"})
    return sentence, _joined(_linked_fact("from", referrer), rest)


@renders(ActivityKind.EVENT)
def render_event(activity, context):
    props = _props(activity)
    name = _text(props.get("name"))
    sentence = format_html("Did “{}”", name) if name else SafeString("An event")
    return sentence, _rest(props, {"name"})


VISITOR_AUTHORS = (None, "visitor", "person", "customer")


def _author(props: Mapping[str, Any], context: TimelineContext) -> tuple[str, str]:
    """(side, who wrote it): the visitor, by the profile's name, or our side. Messages
    seeded before the live shape said "from" instead of "author"."""
    author = props.get("author", props.get("from"))
    if author in VISITOR_AUTHORS:
        who = context.person.display_name if context.person is not None else "The visitor"
        return "visitor", who
    named = _text(author) if author != "agent" else None
    return "agent", _text(props.get("agent")) or named or "Support"


@renders(ActivityKind.CHAT_MESSAGE)
def render_chat_message(activity, context):
    props = _props(activity)
    side, who = _author(props, context)
    text = props.get("text")
    bubble = format_html(
        '<div class="chat-bubble chat-{}"><span class="chat-author">{} wrote:</span> '
        '<span class="chat-text">{}</span></div>',
        side, who, text if isinstance(text, str) and text else plain(text))
    return bubble, _rest(props, {"text", "author", "from", "agent"})


_EMAIL_VERBS = {
    ActivityKind.EMAIL_SENT: "Was sent an email",
    ActivityKind.EMAIL_OPENED: "Opened an email",
    ActivityKind.EMAIL_CLICKED: "Clicked a link in an email",
}


@renders(*_EMAIL_VERBS)
def render_email(activity, context):
    props = _props(activity)
    subject = _text(props.get("subject"))
    campaign = _text(props.get("campaign"))
    verb = _EMAIL_VERBS[activity.kind]
    if subject:
        sentence = format_html("{}: “{}”", verb, subject)
    elif campaign:
        sentence = format_html("{} of the campaign “{}”", verb, campaign)
    else:
        sentence = SafeString(verb)
    clicked = _text(props.get("url")) or _text(props.get("link"))
    used = {"subject", "url", "link"} | (set() if subject else {"campaign"})
    return sentence, _joined(_linked_fact("link:", clicked), _rest(props, used))


def _products(value: Any) -> str | None:
    """Products as words: a list of names, of {"name"/"title"/"sku", "quantity"} objects, or
    one name."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return plain(value)
    if not isinstance(value, list) or not value:
        return None
    names = []
    for item in value:
        if isinstance(item, Mapping):
            name = item.get("name") or item.get("title") or item.get("sku") or item.get("id")
            quantity = item.get("quantity")
            shown = plain(name)
            names.append(f"{quantity} × {shown}" if isinstance(quantity, int) and
                         not isinstance(quantity, bool) and quantity > 1 else shown)
        else:
            names.append(plain(item))
    return ", ".join(names)


@renders(ActivityKind.PURCHASE)
def render_purchase(activity, context):
    props = _props(activity)
    amount = props.get("amount", props.get("revenue"))
    shown = money(amount, props.get("currency"))
    products = _products(props.get("products", props.get("product")))
    sentence = (format_html("Bought for {}", shown) if shown != DASH
                else SafeString("Made a purchase"))
    if products:
        sentence = format_html("{}: {}", sentence, products)
    return sentence, _rest(props, {"amount", "revenue", "currency", "products", "product"})


@renders(ActivityKind.DEAL)
def render_deal(activity, context):
    props = _props(activity)
    title = _text(props.get("title")) or _text(props.get("name"))
    sentence = format_html("Deal “{}”", title) if title else SafeString("A deal")
    amount = money(props.get("amount"), props.get("currency"))
    if amount != DASH:
        sentence = format_html("{} worth {}", sentence, amount)
    return sentence, _rest(props, {"title", "name", "amount", "currency"})


def _journal_link(record_id: Any) -> SafeString:
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        return SafeString("")
    url = reverse("admin:profiles_mergerecord_change", args=[record_id])
    return format_html('<a href="{}">journal #{}</a>', url, record_id)


def _people(context: TimelineContext, ids: list[int]) -> SafeString:
    return format_html_join(", ", "{}", ((context.person_link(pk),) for pk in ids))


@renders(ActivityKind.NOTE)
def render_note(activity, context):
    props = _props(activity)
    undone = props.get("undone_merge")
    restored = _ids(props.get("restored_ids"))
    if isinstance(undone, int) and not isinstance(undone, bool):
        sentence = format_html("Merge undone — {} separate again ({})",
                               _people(context, restored) if restored else "the merged people",
                               _journal_link(undone))
        return sentence, SafeString("")
    text = props.get("text")
    sentence = format_html("Note: {}", text if isinstance(text, str) else plain(text))
    return sentence, _rest(props, {"text"})


def _named(props: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = props.get(key)
        if isinstance(value, Mapping):
            value = value.get("name")
        if _text(value) or (isinstance(value, int) and not isinstance(value, bool)):
            return plain(value)
    return None


@renders(ActivityKind.TAG_ADDED)
def render_tag_added(activity, context):
    props = _props(activity)
    tag = _named(props, "tag", "name")
    return (format_html("Tagged “{}”", tag) if tag else SafeString("Tagged"),
            _rest(props, {"tag", "name"}))


@renders(ActivityKind.SEGMENT_ENTERED, ActivityKind.SEGMENT_LEFT)
def render_segment(activity, context):
    props = _props(activity)
    verb = "Segment entered" if activity.kind == ActivityKind.SEGMENT_ENTERED else "Segment left"
    segment = _named(props, "segment", "name")
    sentence = format_html("{}: “{}”", verb, segment) if segment else SafeString(verb)
    merge = props.get("merge")  # left because a merge combined the profiles (undo puts it back)
    if isinstance(merge, int) and not isinstance(merge, bool):
        sentence = format_html("{} after a merge ({})", sentence, _journal_link(merge))
    return sentence, _rest(props, {"segment", "name", "segment_id", "merge", "row"})


@renders(ActivityKind.IDENTIFY)
def render_identify(activity, context):
    props = _props(activity)
    user_id = _text(props.get("user_id"))
    sentence = (format_html("Identified as {}", user_id) if user_id
                else SafeString("Identified"))
    return sentence, facts([("email", props.get("email")),
                            ("device", props.get("anonymous_id"))])


_MERGE_REASONS = {"manual": "by staff", "dedup": "by the scheduled dedup",
                  "identify": "when they identified", "api": "through the API"}


@renders(ActivityKind.MERGED)
def render_merged(activity, context):
    props = _props(activity)
    merged = _ids(props.get("merged_ids"))
    sentence = format_html("Merged with {}", _people(context, merged) if merged
                           else SafeString("another profile"))
    journal = _journal_link(props.get("merge_record"))
    if journal:
        sentence = format_html("{} — {}", sentence, journal)
    reason = _MERGE_REASONS.get(props.get("reason"), "")
    actor = _text(props.get("actor"))
    details = format_html("{}{}", reason, format_html(" ({})", actor) if actor else "")
    return sentence, details


def render_other(activity: Activity, context: TimelineContext
                 ) -> tuple[SafeString, SafeString]:
    """A kind without a renderer: its label, and every property as words."""
    return format_html("{}", kind_label(activity)), _rest(_props(activity), ())


def kind_label(activity: Activity) -> str:
    return dict(ActivityKind.choices).get(activity.kind) or labelled(str(activity.kind))


def entries(activities: Iterable[Activity], person: Person | None = None) -> list[Entry]:
    """The activities as timeline rows (one query for the people their properties name)."""
    activities = list(activities)
    context = TimelineContext.for_activities(activities, person)
    rows = []
    for activity in activities:
        renderer = RENDERERS.get(activity.kind, render_other)
        sentence, details = renderer(activity, context)
        rows.append(Entry(activity, kind_label(activity), when(activity.occurred_at),
                          sentence, details))
    return rows
