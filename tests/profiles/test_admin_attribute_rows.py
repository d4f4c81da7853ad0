"""Custom attributes edited as rows (name, kind, value), checked by the one attributes
validation; the profiling keys are not among them and stay as recorded."""

from __future__ import annotations

import pytest

from profiles.admin.attribute_rows import Rows, parse, rows_to_object, shown
from profiles.models import Person
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import change_url, form_data

pytestmark = pytest.mark.django_db

PROFILING = {"purchases": {"count": 2, "revenue": 20}, "exit_page": "/cart"}


def opened(client, person) -> dict:
    return form_data(client.get(change_url(person)), "person_form")


def rows(*triples) -> dict:
    """The row inputs a browser posts for these (name, kind, value) rows."""
    return {"attributes-name": [t[0] for t in triples], "attributes-kind": [t[1] for t in triples],
            "attributes-value": [t[2] for t in triples]}


def test_the_form_shows_one_row_per_custom_attribute_and_no_profiling(admin_client):
    person = PersonFactory(attributes={"plan": "pro", "seats": 3, "beta": True,
                                       "tags": ["a", "b"], **PROFILING})

    form = opened(admin_client, person)

    assert "attributes" not in form  # no raw JSON box
    assert form["attributes-name"] == ["beta", "plan", "seats", "tags", ""]  # by name
    assert form["attributes-kind"] == ["yes_no", "text", "number", "json", "text"]
    assert form["attributes-value"] == ["yes", "pro", "3", '["a", "b"]', ""]


def test_an_untouched_page_saves_no_attribute_change(admin_client):
    values = {"plan": "pro", "ratio": 0.25, "big": 2**53 - 1, "off": False, "none": None,
              "nested": {"a": [1, {"b": "c"}]}, "spaced": " x ", "multi": "one\ntwo"}
    person = PersonFactory(attributes={**values, **PROFILING})
    rows_before = person.history.count()

    response = admin_client.post(change_url(person), opened(admin_client, person))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Person.objects.get(pk=person.pk).attributes == {**values, **PROFILING}
    assert person.history.count() == rows_before


def test_rows_are_added_changed_and_removed(admin_client):
    person = PersonFactory(attributes={"plan": "pro", "old": "x", **PROFILING})
    form = opened(admin_client, person)

    response = admin_client.post(change_url(person), {
        **form, **rows(("plan", "text", "team"), ("seats", "number", "12"),
                       ("vip", "yes_no", "Yes"), ("langs", "json", '["fr", "en"]'),
                       ("", "text", ""))})

    assert response.status_code == 302
    assert Person.objects.get(pk=person.pk).attributes == {
        "plan": "team", "seats": 12, "vip": True, "langs": ["fr", "en"], **PROFILING}


@pytest.mark.parametrize(("row", "message"), [
    (("seats", "number", "twelve"), "seats: “twelve” is not a number."),
    (("vip", "yes_no", "maybe"), "vip: “maybe” is not yes or no."),
    (("langs", "json", "[fr"), "langs: “[fr” is not a list or object written as JSON"),
    (("", "text", "orphan"), "The value “orphan” has no name."),
])
def test_a_row_that_cannot_be_read_is_a_form_error(admin_client, row, message):
    person = PersonFactory(attributes={"plan": "pro"})
    form = opened(admin_client, person)

    response = admin_client.post(change_url(person), {**form, **rows(row)})

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["attributes"])
    assert Person.objects.get(pk=person.pk).attributes == {"plan": "pro"}
    # The rows come back as typed, to be corrected.
    assert row[2] in response.content.decode()


@pytest.mark.parametrize(("row", "message"), [
    (("purchases", "number", "3"), "kept by Onefold's profiling"),
    (("x" * 101, "text", "v"), "longer than 100 characters"),
    (("note", "text", "x" * 17_000), "16 KB"),
])
def test_rows_go_through_the_one_attributes_validation(admin_client, row, message):
    person = PersonFactory(attributes={"plan": "pro", **PROFILING})
    form = opened(admin_client, person)

    response = admin_client.post(change_url(person), {**form, **rows(row)})

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["attributes"])
    assert Person.objects.get(pk=person.pk).attributes == {"plan": "pro", **PROFILING}


def test_a_name_listed_twice_is_refused():
    with pytest.raises(Exception, match="listed twice"):
        rows_to_object(Rows([("plan", "text", "a"), ("plan", "text", "b")]))


@pytest.mark.parametrize("value", ["pro", "", " x ", 0, -3, 2.5, 1e20, 10**30, True, False,
                                   None, [1, "a"], {"a": {"b": None}}, "1", "true", "[1]"])
def test_every_stored_value_comes_back_as_it_was(value):
    assert parse(*shown(value)) == value
    assert type(parse(*shown(value))) is type(value)
