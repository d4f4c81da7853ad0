"""The set-based writer's people parameters skip `get_db_prep_save` only where it would return
the value itself: the values bound are the same as with the call on every value."""

import datetime as dt

import pytest
from django.db import connection, models

from profiles.models import Person, PersonStatus
from profiles.services.merging.fields import BASE_FIELDS, TOMBSTONE_FIELDS
from profiles.services.merging.writes_sql import _passthrough, _prepared

pytestmark = pytest.mark.postgres

SAMPLES = [
    None, "", "Zoë", PersonStatus.USER, 0, 7, {"plan": "pro"}, [],
    dt.datetime(2026, 12, 1, 9, 54, 36, 120000, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 1, 9, 54, 36),  # naive: Django makes it aware (and warns)
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", BASE_FIELDS + TOMBSTONE_FIELDS)
def test_every_written_field_binds_what_get_db_prep_save_binds(name):
    if connection.vendor != "postgresql":
        pytest.skip("the set-based writer is PostgreSQL's")
    field = Person._meta.get_field(name)
    values = []
    for value in SAMPLES:  # the values this field's own preparation accepts
        try:
            expected = field.get_db_prep_save(value, connection)
        except Exception:  # noqa: BLE001 (a value of another type)
            continue
        values.append((value, expected))
    got = _prepared(field, [value for value, _ in values], connection)
    assert [repr(v) for v in got] == [repr(expected) for _, expected in values]


def test_a_field_that_prepares_values_its_own_way_is_always_called():
    class Upper(models.CharField):
        def get_prep_value(self, value):
            return None if value is None else str(value).upper()

    field = Upper(max_length=10)
    assert _passthrough(field) is None
    assert _prepared(field, ["abc"], connection) == ["ABC"]
    assert _passthrough(models.CharField(max_length=10)) is str
    assert _passthrough(models.DateTimeField()) is dt.datetime
