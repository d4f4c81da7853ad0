"""A malformed stored profiling value (a hand edit, an old import) never fails an event: the
recording path starts that section over, logs it, and records the event."""

from __future__ import annotations

import pytest

from profiles.models import Activity, Person

pytestmark = pytest.mark.django_db

MALFORMED = [
    [1, 2],
    "a string",
    7,
    {"purchases": "n/a"},
    {"purchases": {"count": "x", "revenue": "y"}},
    {"email_offers": 7},
    {"products_viewed": ["a"]},
    {"categories_viewed": {"shoes": "many"}},
    {"first_touch": "x", "latest_touch": 3},
]

EVENTS = [
    ("purchase", {"amount": 10}),
    ("page_view", {"url": "https://shop.example/p?utm_source=news", "product": "p1",
                   "category": "shoes"}),
    ("email_opened", {}),
]


def _person_with(post, stored, device: str) -> Person:
    answer = post("track", {"anonymous_id": device, "kind": "page_view",
                            "properties": {"url": "https://shop.example/"}})
    assert answer.status_code == 200, answer.content
    person = Person.objects.get(identities__value=device)
    Person.objects.filter(pk=person.pk).update(attributes=stored)
    return person


@pytest.mark.parametrize("stored", MALFORMED, ids=repr)
@pytest.mark.parametrize(("kind", "properties"), EVENTS, ids=[e[0] for e in EVENTS])
def test_an_event_over_a_malformed_stored_value_is_recorded(post, stored, kind, properties):
    person = _person_with(post, stored, "dev-malformed")

    answer = post("track", {"anonymous_id": "dev-malformed", "kind": kind,
                            "properties": properties})

    assert answer.status_code == 200, answer.content
    assert Activity.objects.filter(person=person, kind=kind).exists()
    attributes = Person.objects.get(pk=person.pk).attributes
    assert isinstance(attributes, dict)
    if kind == "purchase":
        assert attributes["purchases"]["count"] in (1, 2)  # started over, or added to
        assert attributes["purchases"]["revenue"] == 10
    if kind == "page_view":
        assert attributes["products_viewed"]["p1"] == 1
        assert isinstance(attributes["categories_viewed"]["shoes"], int)
        assert isinstance(attributes["latest_touch"], dict)
    if kind == "email_opened":
        assert attributes["email_offers"]["opened"] == 1


@pytest.mark.parametrize("stored", MALFORMED, ids=repr)
def test_an_identify_over_a_malformed_stored_value_is_recorded(post, stored):
    person = _person_with(post, stored, "dev-identify")

    answer = post("identify", {"anonymous_id": "dev-identify", "user_id": "u-malformed",
                               "traits": {"plan": "pro"}})

    assert answer.status_code == 200, answer.content
    person = Person.objects.get(pk=person.pk)
    assert person.user_id == "u-malformed"
    assert person.attributes["plan"] == "pro"
