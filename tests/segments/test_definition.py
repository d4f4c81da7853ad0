"""Bad definitions get a clear error naming the path of the bad node."""

from __future__ import annotations

import pytest

from segments.services import DefinitionError, parse_definition
from segments.services.definition import reads

BAD = [
    ([], "$", "expected an object"),
    ({}, "$", "expected a group"),
    ({"all": []}, "$.all", "non-empty list"),
    ({"all": [{"field": "city", "op": "eq", "value": "x"}], "any": []}, "$", "exactly one key"),
    ({"all": [{"field": "nope", "op": "eq", "value": "x"}]}, "$.all[0].field", "unknown field"),
    ({"field": "merged_into", "op": "exists"}, "$.field", "unknown field"),
    ({"field": "city", "op": "gt", "value": "x"}, "$.op", "not an operator"),
    ({"field": "city", "op": "eq"}, "$.value", "needs a value"),
    ({"field": "city", "op": "eq", "value": 3}, "$.value", "expected a text"),
    ({"field": "city", "op": "eq", "value": "  "}, "$.value", "non-empty text"),
    ({"field": "page_views", "op": "gt", "value": "3"}, "$.value", "expected a number"),
    ({"field": "page_views", "op": "in", "value": []}, "$.value", "list of 1"),
    ({"field": "page_views", "op": "in", "value": [1, "x"]}, "$.value[1]", "a number"),
    ({"field": "last_seen", "op": "within_days", "value": -1}, "$.value", "whole number"),
    ({"field": "last_seen", "op": "gt", "value": "yesterday"}, "$.value", "date and time"),
    ({"field": "last_seen", "op": "eq", "value": "2026-01-01T00:00:00Z"}, "$.op", "operator"),
    ({"field": "city", "op": "exists", "value": "x"}, "$.value", "takes no value"),
    ({"field": "attributes.a.0", "op": "exists"}, "$.field", "not a number"),
    ({"field": "attributes.", "op": "exists"}, "$.field", "non-empty name"),
    ({"field": "attributes.plan", "op": "contains", "value": 3}, "$.value", "a text"),
    ({"field": "attributes.plan", "op": "within_days", "value": "3"}, "$.value", "whole number"),
    ({"field": "city", "op": "eq", "value": "x", "extra": 1}, "$.extra", "unknown key"),
    ({"kind": "bogus"}, "$.kind", "unknown activity kind"),
    ({"kind": "event", "where": []}, "$.where", "object"),
    ({"kind": "event", "where": {"name": []}}, "$.where.name", "expected a text"),
    ({"kind": "event", "count": {"op": "gte"}}, "$.count", "\"op\""),
    ({"kind": "event", "count": {"op": "in", "value": 1}}, "$.count.op", "use one of"),
    ({"kind": "event", "count": {"op": "gte", "value": 1.5}}, "$.count.value", "whole"),
    ({"kind": "event", "within_days": 0}, "$.within_days", "from 1"),
    ({"any": [{"not": {"all": ["x"]}}]}, "$.any[0].not.all[0]", "expected an object"),
]


@pytest.mark.parametrize(("definition", "path", "words"), BAD)
def test_bad_definition_names_the_path(definition, path, words):
    with pytest.raises(DefinitionError) as caught:
        parse_definition(definition)
    assert caught.value.path == path
    assert words in caught.value.reason
    assert str(caught.value.messages[0]).startswith(f"{path}: ")


def test_nesting_is_limited_to_ten_levels():
    leaf = {"field": "city", "op": "exists"}
    node = leaf
    for _ in range(9):
        node = {"not": node}
    parse_definition(node)  # ten levels: the leaf is the tenth
    with pytest.raises(DefinitionError) as caught:
        parse_definition({"not": node})
    assert "at most 10 levels" in caught.value.reason


def test_reads_lists_fields_kinds_and_clock():
    node = parse_definition({"all": [
        {"field": "city", "op": "eq", "value": "Paris"},
        {"field": "attributes.purchases.count", "op": "gt", "value": 1},
        {"not": {"kind": "page_view", "within_days": 3}},
        {"field": "tags", "op": "contains", "value": "VIP"},
    ]})
    fields, kinds, timed = reads(node)
    assert fields == {"city", "attributes", "tags"}
    assert kinds == {"page_view"}
    assert timed
