"""The one attributes validation at the website API: traits are custom attributes, with limits,
and never the system's profiling keys; no history row when identify changes nothing."""

from __future__ import annotations

import pytest

from profiles.models import Person
from profiles.services import identify
from profiles.services.attributes import MAX_BYTES, MAX_KEYS, serialized_size
from profiles.services.validation import InvalidInput
from tests.api.conftest import post, row_counts, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

IDENTIFY = {"anonymous_id": "dev-1", "user_id": "u-1"}


@pytest.mark.parametrize(("traits", "field"), [
    ({f"k{i}": i for i in range(MAX_KEYS + 1)}, "traits"),
    ({"note": "x" * (MAX_BYTES + 1)}, "traits"),
    ({"purchases": "n/a"}, "traits.purchases"),
    ({"email_offers": 7}, "traits.email_offers"),
    ({"products_viewed": ["a"]}, "traits.products_viewed"),
    ({"first_touch": "x"}, "traits.first_touch"),
    ({"k" * 101: 1}, None),
])
def test_traits_past_the_limits_or_owned_by_profiling_are_a_400_naming_the_field(
        post, traits, field):  # noqa: F811
    before = row_counts()

    response = post("identify", {**IDENTIFY, "traits": traits})

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"].startswith("traits") and error["message"]
    if field:
        assert error["field"] == field
    assert row_counts() == before


def test_identify_cannot_grow_a_person_past_the_limits_call_after_call():
    chunk = 6 * 1024
    for call in range(40):
        try:
            identify(anonymous_id="dev-1", user_id="u-1",
                     traits={f"t{call}-{i}": "x" * 100 for i in range(chunk // 110)})
        except InvalidInput as refused:
            assert refused.field == "traits"
    person = Person.objects.get(user_id="u-1")
    assert len(person.attributes) <= MAX_KEYS
    assert serialized_size(person.attributes) <= MAX_BYTES


def test_an_identify_that_changes_nothing_writes_no_history_row():
    identify(anonymous_id="dev-1", user_id="u-1", traits={"plan": "pro", "name": "Bea"})
    person = Person.objects.get(user_id="u-1")
    rows = person.history.count()

    identify(anonymous_id="dev-1", user_id="u-1", traits={"plan": "pro", "name": "Bea"})

    assert person.history.count() == rows


def test_a_trait_over_an_existing_key_is_allowed_at_the_limit():
    identify(anonymous_id="dev-1", user_id="u-1",
             traits={f"k{i}": i for i in range(MAX_KEYS)})

    identify(anonymous_id="dev-1", user_id="u-1", traits={"k0": "changed"})

    assert Person.objects.get(user_id="u-1").attributes["k0"] == "changed"
