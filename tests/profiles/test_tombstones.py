"""The one tombstone follower: one person (read or locked), many at once, and the other way."""

from __future__ import annotations

import pytest
from django.db import transaction

from profiles.models import Person
from profiles.services import merge_people, resolve_live
from profiles.services.tombstones import (
    MAX_CHAIN,
    BrokenChain,
    live_ids,
    tombstones_of,
)
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    """first → second → third (two merges, the chain is not rewritten), and a bystander."""
    first, second, third, alone = PersonFactory.create_batch(4)
    merge_people(base=second, others=[first])
    merge_people(base=third, others=[second])
    return [Person.objects.get(pk=p.pk) for p in (first, second, third, alone)]


def test_a_tombstone_resolves_to_the_end_of_its_chain(chain):
    first, second, third, alone = chain
    assert first.merged_into_id == second.pk  # chains are followed, never rewritten
    assert resolve_live(first) == third
    assert resolve_live(first.pk) == third
    assert resolve_live(alone) is alone  # a live person needs no query


def test_locked_it_needs_a_transaction_and_returns_the_live_person(chain):
    first, _, third, _ = chain
    with transaction.atomic():
        assert resolve_live(first.pk, lock=True) == third
        assert resolve_live(third, lock=True, shared=True) == third


@pytest.mark.django_db(transaction=True)
def test_locking_outside_a_transaction_is_refused():
    with pytest.raises(transaction.TransactionManagementError):
        resolve_live(PersonFactory().pk, lock=True)


def test_an_unknown_id_raises_does_not_exist():
    with pytest.raises(Person.DoesNotExist):
        resolve_live(987_654)
    with transaction.atomic(), pytest.raises(Person.DoesNotExist):
        resolve_live(987_654, lock=True)


def test_many_at_once_in_one_statement(chain, django_assert_num_queries):
    first, second, third, alone = chain
    with django_assert_num_queries(1):
        ends = live_ids([first.pk, second.pk, third.pk, alone.pk, 987_654])
    assert ends == {first.pk: third.pk, second.pk: third.pk, third.pk: third.pk,
                    alone.pk: alone.pk}


def test_the_other_way_every_tombstone_of_a_live_person(chain):
    first, second, third, alone = chain
    found = tombstones_of([third.pk, alone.pk])
    assert found == {third.pk: [second, first], alone.pk: []}  # nearest first


def test_a_chain_longer_than_the_limit_is_reported_not_followed_forever():
    people = PersonFactory.create_batch(MAX_CHAIN + 2)
    for person, base in zip(people, people[1:], strict=False):  # corrupted data, by hand
        Person.objects.filter(pk=person.pk).update(merged_into=base.pk)
    with pytest.raises(BrokenChain, match=f"longer than {MAX_CHAIN}"):
        resolve_live(people[0].pk)
    with transaction.atomic(), pytest.raises(BrokenChain):
        resolve_live(people[0].pk, lock=True)
    assert people[0].pk not in live_ids([people[0].pk])
    assert live_ids([people[1].pk]) == {people[1].pk: people[-1].pk}  # MAX_CHAIN hops
    assert resolve_live(people[1].pk) == people[-1]
    with pytest.raises(BrokenChain):
        tombstones_of([people[-1].pk])
