"""The relation registry: every foreign key to Person is moved by merges or excluded on purpose."""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.test.utils import isolate_apps

from dedup.models import KeptApartEnd
from profiles.models import Activity, Conversation, Deal, Identity, Person, PersonTag
from profiles.services import merge_people, undo_merge
from profiles.services.merging import relations
from profiles.services.merging.relations import (
    discover_relations,
    person_relations,
    unhandled_relations,
)
from segments.models import SegmentMembership
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_every_relation_to_person_is_handled_or_excluded():
    # A new model with a foreign key or many-to-many to Person makes this fail until it gets
    # an `original_<field>` column (then merges move it) or an entry in EXCLUDED.
    assert unhandled_relations() == []


def test_the_registry_holds_every_table_of_the_timeline():
    models_ = {relation.model for relation in person_relations()}
    assert models_ == {Activity, Conversation, Deal, Identity, PersonTag, KeptApartEnd,
                       SegmentMembership}


def test_unique_rules_with_the_person_are_known_for_clash_resolution():
    keys = {relation.model: relation.unique_keys for relation in person_relations()}
    assert [key.fields for key in keys[PersonTag]] == [("tag",)]
    assert [key.fields for key in keys[Identity]] == [("kind", "value")]
    assert keys[Activity] == ()
    assert [key.fields for key in keys[SegmentMembership]] == [("segment",)]


@isolate_apps("profiles")
def test_a_new_foreign_key_without_original_owner_is_reported():
    class Invoice(models.Model):  # noqa: DJ008 (a throwaway model)
        person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "profiles"

    assert unhandled_relations([Invoice]) == ["profiles.invoice.person"]
    assert discover_relations([Invoice]) == []


@isolate_apps("profiles")
def test_a_new_many_to_many_to_person_is_reported_through_its_table():
    class Segment(models.Model):  # noqa: DJ008 (a throwaway model)
        people = models.ManyToManyField(Person, related_name="+")

        class Meta:
            app_label = "profiles"

    through = Segment._meta.get_field("people").remote_field.through
    assert unhandled_relations([Segment, through]) == ["profiles.segment_people.person"]


@isolate_apps("profiles")
def test_a_new_foreign_key_with_original_owner_is_handled():
    class Note(models.Model):  # noqa: DJ008 (a throwaway model)
        person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
        original_person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "profiles"

    assert unhandled_relations([Note]) == []
    assert [(r.model, r.field, r.origin_field) for r in discover_relations([Note])] == [
        (Note, "person", "original_person")
    ]


@isolate_apps("profiles")
def test_explicitly_excluded_relations_are_not_reported(monkeypatch):
    class AuditTrail(models.Model):  # noqa: DJ008 (a throwaway model)
        subject = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "profiles"

    monkeypatch.setitem(relations.EXCLUDED, ("profiles.audittrail", "subject"), "an audit")
    assert unhandled_relations([AuditTrail]) == []


def test_history_tables_are_excluded():
    history = Person.history.model
    assert unhandled_relations([history, Identity.history.model]) == []
    assert discover_relations([history, Identity.history.model]) == []


@pytest.mark.postgres
@isolate_apps("profiles")
def test_a_model_added_later_is_moved_and_moved_back(monkeypatch):
    class Voucher(models.Model):  # noqa: DJ008 (a throwaway model)
        person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
        original_person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "profiles"

    with connection.schema_editor() as editor:
        editor.create_model(Voucher)
    registry = (*person_relations(), *discover_relations([Voucher]))
    monkeypatch.setattr("profiles.services.merging.moves.person_relations", lambda: registry)
    monkeypatch.setattr("profiles.services.merging.merge.person_relations", lambda: registry)
    base, other = PersonFactory(), PersonFactory()
    voucher = Voucher.objects.create(person=other, original_person=other)

    record = merge_people(base=base, others=[other])
    voucher.refresh_from_db()
    assert voucher.person_id == base.pk
    assert record.moved["counts"]["profiles.voucher"] == {str(other.pk): 1}

    undo_merge(record=record)
    voucher.refresh_from_db()
    assert voucher.person_id == other.pk
