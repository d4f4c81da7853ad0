"""The merge rules (docs/rules.md): base selection, field winners, overrides, and the preview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from profiles.models import Person, PersonStatus
from profiles.services import MergePreview, MergeRefused, choose_base, merge_people, merge_preview
from profiles.services.merging import read_decisions
from tests.factories import ActivityFactory, AnonymousPersonFactory, PersonFactory

pytestmark = pytest.mark.django_db

OLD = timezone.now() - timedelta(days=30)
NEW = timezone.now() - timedelta(days=1)


def test_base_is_the_person_with_a_user_id():
    with_user_id = PersonFactory(user_id="u1", status=PersonStatus.VISITOR, updated_at=NEW)
    user = PersonFactory(status=PersonStatus.USER, updated_at=OLD)
    assert choose_base([user, with_user_id]) == with_user_id


def test_without_user_ids_a_user_wins_over_a_visitor():
    visitor = AnonymousPersonFactory(updated_at=OLD)
    user = PersonFactory(status=PersonStatus.USER, updated_at=NEW)
    assert choose_base([visitor, user]) == user


def test_then_the_older_last_updated_wins():
    newer, older = PersonFactory(updated_at=NEW), PersonFactory(updated_at=OLD)
    assert choose_base([newer, older]) == older


def test_then_the_lower_id_wins():
    first, second = PersonFactory(updated_at=OLD), PersonFactory(updated_at=OLD)
    assert choose_base([second, first]) == first


def test_choose_base_of_nobody_is_refused():
    with pytest.raises(MergeRefused) as refused:
        choose_base([])
    assert refused.value.code == "empty"


def test_different_user_ids_are_never_merged():
    base, other = PersonFactory(user_id="alice"), PersonFactory(user_id="bob")

    with pytest.raises(MergeRefused) as refused:
        merge_people(base=base, others=[other])

    assert refused.value.code == "different_user_ids"
    assert "alice" in str(refused.value) and "bob" in str(refused.value)


def test_different_user_ids_among_the_others_are_refused_too():
    base = AnonymousPersonFactory()
    with pytest.raises(MergeRefused):
        merge_people(base=base, others=[PersonFactory(user_id="a"), PersonFactory(user_id="b")])


def test_base_values_are_kept_and_empty_ones_filled_in_rule_order():
    base = AnonymousPersonFactory(name="Base", city="", company="")
    visitor = AnonymousPersonFactory(city="Lyon", company="Visitor Co", updated_at=OLD)
    user = PersonFactory(name="User", city="Paris", company="", updated_at=NEW)

    merge_people(base=base, others=[visitor, user])

    base.refresh_from_db()
    assert base.name == "Base"  # the base's own value is kept
    assert base.city == "Paris"  # user over visitor, although the visitor is older
    assert base.company == "Visitor Co"  # the first non-empty in rule order


def test_custom_attributes_are_filled_key_by_key():
    base = PersonFactory(attributes={"plan": "pro"})
    first = PersonFactory(attributes={"plan": "free", "size": 10}, updated_at=OLD)
    second = PersonFactory(attributes={"size": 20, "color": "red"}, updated_at=NEW)

    merge_people(base=base, others=[second, first])

    base.refresh_from_db()
    assert base.attributes == {"plan": "pro", "size": 10, "color": "red"}


def test_status_becomes_user_when_anyone_is_a_user():
    base = AnonymousPersonFactory()
    merge_people(base=base, others=[PersonFactory(status=PersonStatus.USER)])
    base.refresh_from_db()
    assert base.status == PersonStatus.USER


def test_override_picks_a_field_value_from_another_person():
    base = PersonFactory(name="Base Name", attributes={"plan": "pro"})
    other = PersonFactory(name="Other Name", attributes={"plan": "free"})

    record = merge_people(
        base=base, others=[other], overrides={"name": other, "attributes.plan": other.pk}
    )

    base.refresh_from_db()
    assert base.name == "Other Name" and base.attributes == {"plan": "free"}
    assert record.decisions["name"] == {"rule": "staff", "winner": other.pk}
    assert read_decisions(record)["name"] == {"value": "Other Name", "winner": other.pk,
                                              "rule": "staff"}


def test_override_of_a_computed_field_is_refused():
    base, other = PersonFactory(), PersonFactory()
    with pytest.raises(MergeRefused) as refused:
        merge_people(base=base, others=[other], overrides={"page_views": other})
    assert refused.value.code == "invalid_override"


def test_override_naming_someone_outside_the_merge_is_refused():
    base, other, outsider = PersonFactory(), PersonFactory(), PersonFactory()
    with pytest.raises(MergeRefused) as refused:
        merge_people(base=base, others=[other], overrides={"name": outsider})
    assert refused.value.code == "invalid_override"
    assert Person.objects.get(pk=other.pk).merged_into_id is None


def test_preview_shows_each_value_the_survivor_and_the_rule():
    base = AnonymousPersonFactory(name="Amber Otter", email="", city="")
    other = PersonFactory(name="Ann", email="ann@example.com", city="Oslo", page_views=4)
    ActivityFactory.create_batch(2, person=other)

    preview = merge_preview(base=base, others=[other])

    assert isinstance(preview, MergePreview)
    assert [person.pk for person in preview.people] == [base.pk, other.pk]
    email = preview.row("email")
    assert [value.value for value in email.values] == ["", "ann@example.com"]
    assert email.winner_id == other.pk and email.value == "ann@example.com"
    assert "rule order" in email.rule and email.overridable
    assert preview.row("name").winner_id == base.pk
    assert preview.row("page_views").winner_id is None
    assert preview.row("email").verbose_name == "email"
    assert preview.moves["activities"] == 2


def test_preview_matches_what_the_merge_does():
    base = AnonymousPersonFactory(city="", attributes={"a": 1})
    other = PersonFactory(city="Rome", attributes={"b": 2}, page_views=5)
    preview = merge_preview(base=base, others=[other], overrides={"name": other})

    merge_people(base=base, others=[other], overrides={"name": other})

    base.refresh_from_db()
    for name in ("name", "city", "email", "page_views", "status"):
        assert getattr(base, name) == preview.row(name).value
    assert base.attributes == {"a": 1, "b": 2}


def test_preview_refuses_what_the_merge_refuses():
    with pytest.raises(MergeRefused) as refused:
        merge_preview(base=PersonFactory(user_id="x"), others=[PersonFactory(user_id="y")])
    assert refused.value.code == "different_user_ids"


def test_preview_writes_nothing():
    base, other = PersonFactory(), PersonFactory()
    merge_preview(base=base, others=[other])
    other.refresh_from_db()
    assert other.merged_into_id is None
