"""Each operator and group, evaluated both ways (SQL and per person: `matched` asserts they
agree)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from profiles.models import ActivityKind
from tests.factories import PersonFactory, TagFactory
from tests.segments.helpers import activity, matched

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    now = timezone.now()
    paris = PersonFactory(city="Paris", email="Ann@Example.com", page_views=5,
                          last_seen=now - dt.timedelta(days=2),
                          attributes={"plan": "Gold", "purchases": {"count": 3},
                                      "products_viewed": {"Red Shoes": 2},
                                      "langs": ["EN", "fr"], "empty": [], "flag": True})
    berlin = PersonFactory(city="berlin", email="bob@example.org", page_views=0,
                           last_seen=now - dt.timedelta(days=40),
                           attributes={"plan": "silver", "purchases": {"count": 1},
                                       "blank": "", "nothing": None, "flag": False})
    nowhere = PersonFactory(city="", email="", page_views=12, last_seen=None, attributes={})
    paris.tags.add(TagFactory(name="VIP"))
    berlin.tags.add(TagFactory(name="newsletter"))
    merged = PersonFactory(city="Paris", merged_into=paris)  # a tombstone is never a member
    assert merged.pk
    return paris.pk, berlin.pk, nowhere.pk


def f(field, op, value=None):
    node = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return node


CASES = [
    # text (case-insensitive everywhere; email too)
    (f("city", "eq", "PARIS"), "P"), (f("city", "ne", "paris"), "BN"),
    (f("city", "in", ["Berlin", "Rome"]), "B"), (f("city", "not_in", ["berlin"]), "PN"),
    (f("city", "contains", "ERL"), "B"), (f("city", "starts_with", "pa"), "P"),
    (f("city", "exists"), "PB"), (f("city", "not_exists"), "N"),
    (f("email", "eq", "ann@example.COM"), "P"), (f("email", "contains", "EXAMPLE.org"), "B"),
    (f("user_id", "not_exists"), "PBN"),
    # numbers
    (f("page_views", "eq", 5), "P"), (f("page_views", "ne", 5), "BN"),
    (f("page_views", "gt", 5), "N"), (f("page_views", "gte", 5), "PN"),
    (f("page_views", "lt", 5), "B"), (f("page_views", "lte", 5), "PB"),
    (f("page_views", "in", [0, 12]), "BN"), (f("page_views", "not_in", [0]), "PN"),
    # dates (absent fails every comparison)
    (f("last_seen", "within_days", 7), "P"), (f("last_seen", "older_than_days", 7), "B"),
    (f("last_seen", "exists"), "PB"), (f("last_seen", "not_exists"), "N"),
    (f("last_seen", "gt", (timezone.now() - dt.timedelta(days=10)).isoformat()), "P"),
    (f("last_seen", "lte", (timezone.now() - dt.timedelta(days=10)).isoformat()), "B"),
    # tags: a list of names, compared ignoring case
    (f("tags", "contains", "vip"), "P"), (f("tags", "eq", "VIP"), "P"),
    (f("tags", "ne", "vip"), "BN"), (f("tags", "in", ["x", "NEWSLETTER"]), "B"),
    (f("tags", "not_in", ["vip", "newsletter"]), "N"), (f("tags", "starts_with", "news"), "B"),
    (f("tags", "exists"), "PB"), (f("tags", "not_exists"), "N"),
    # attributes by path
    (f("attributes.plan", "eq", "gold"), "P"), (f("attributes.plan", "ne", "gold"), "BN"),
    (f("attributes.plan", "in", ["GOLD", "silver"]), "PB"),
    (f("attributes.plan", "starts_with", "SIL"), "B"),
    (f("attributes.purchases.count", "gte", 2), "P"),
    (f("attributes.purchases.count", "lt", 2), "B"),
    (f("attributes.purchases.count", "eq", 1), "B"),
    (f("attributes.purchases.count", "not_exists"), "N"),
    (f("attributes.products_viewed", "contains", "red shoes"), "P"),
    (f("attributes.langs", "contains", "fr"), "P"), (f("attributes.langs", "contains", "f"), ""),
    (f("attributes.plan", "contains", "ol"), "P"),
    (f("attributes.empty", "exists"), ""), (f("attributes.blank", "exists"), ""),
    (f("attributes.nothing", "exists"), ""), (f("attributes.blank", "not_exists"), "PBN"),
    (f("attributes.flag", "eq", True), "P"), (f("attributes.flag", "eq", False), "B"),
    (f("attributes.flag", "ne", True), "BN"),
    (f("attributes.plan", "gt", 1), ""),  # a text is not a number
    # groups
    ({"all": [f("city", "exists"), f("page_views", "lt", 5)]}, "B"),
    ({"any": [f("city", "eq", "paris"), f("page_views", "gt", 10)]}, "PN"),
    ({"not": f("city", "eq", "paris")}, "BN"),
    ({"not": f("attributes.plan", "eq", "gold")}, "BN"),
    ({"not": {"any": [f("tags", "exists"), {"not": f("last_seen", "exists")}]}}, ""),
    ({"all": [{"not": {"not": f("city", "eq", "berlin")}}, {"any": [f("tags", "exists")]}]}, "B"),
]


@pytest.mark.parametrize(("definition", "expected"), CASES)
def test_operator(people, definition, expected):
    letters = dict(zip("PBN", people, strict=True))
    assert matched(definition) == {letters[letter] for letter in expected}


def test_behaviour_counts_where_and_windows():
    a, b, c = PersonFactory(), PersonFactory(), PersonFactory()
    for days in (1, 2, 40):
        activity(a, name="Added to cart", days_ago=days)
    activity(b, name="added to CART", days_ago=1)
    activity(b, name="Checkout", days_ago=1)
    activity(c, ActivityKind.PAGE_VIEW, category="sale", days_ago=3)
    cart = {"kind": "event", "where": {"name": "Added to cart"}}
    assert matched(cart) == {a.pk, b.pk}
    assert matched({**cart, "within_days": 30}) == {a.pk, b.pk}
    assert matched({**cart, "count": {"op": "gte", "value": 3}}) == {a.pk}
    assert matched({**cart, "count": {"op": "gte", "value": 2}, "within_days": 30}) == {a.pk}
    assert matched({**cart, "count": {"op": "eq", "value": 0}}) == {c.pk}
    assert matched({**cart, "count": {"op": "lt", "value": 2}}) == {b.pk, c.pk}
    assert matched({**cart, "count": {"op": "ne", "value": 1}}) == {a.pk, c.pk}
    assert matched({"kind": "page_view", "where": {"category": "SALE"},
                    "within_days": 2}) == set()
    assert matched({"kind": "page_view", "where": {"category": "sale"},
                    "within_days": 4}) == {c.pk}
    assert matched({"kind": "event"}) == {a.pk, b.pk}
