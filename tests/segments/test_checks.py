"""What a person's row alone decides of a definition (checks.decider): three-valued, so real
time reads behaviour and tags only for segments the row leaves open."""

from __future__ import annotations

import pytest
from django.utils import timezone

from profiles.models import Person
from segments.services.checks import decider
from segments.services.definition import parse_definition

PARIS = {"field": "city", "op": "eq", "value": "Paris"}
VIEWS = {"kind": "page_view", "count": {"op": "gte", "value": 5}, "within_days": 7}
VIP = {"field": "tags", "op": "contains", "value": "vip"}


@pytest.mark.parametrize(("definition", "in_paris", "elsewhere"), [
    (PARIS, True, False),
    (VIEWS, None, None),
    (VIP, None, None),
    ({"all": [PARIS, VIEWS]}, None, False),
    ({"any": [PARIS, VIEWS]}, True, None),
    ({"not": {"all": [PARIS, VIEWS]}}, None, True),
    ({"all": [PARIS, {"any": [VIEWS, VIP]}]}, None, False),
    ({"any": [{"not": PARIS}, VIP]}, None, True),
    ({"all": [{"any": [PARIS, VIEWS]}, {"not": VIP}]}, None, None),
])
def test_the_row_decides_what_it_can(definition, in_paris, elsewhere):
    decide = decider(parse_definition(definition))
    now = timezone.now()
    assert decide(Person(city="Paris"), now) is in_paris
    assert decide(Person(city="Berlin"), now) is elsewhere
