"""Which person survives a merge (docs/rules.md); each field's rule is in fields.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from profiles.models import Person, PersonStatus
from profiles.services.merging.errors import MergeRefused

RULE_ORDER = "user ID > user over visitor > older Last Updated > lower ID"


def rank_key(person: Person) -> tuple:
    """Sort key: the first person in this order wins (docs/rules.md)."""
    return (
        person.user_id is None,
        person.status != PersonStatus.USER,
        person.updated_at,
        person.pk,
    )


def choose_base(people: Iterable[Person]) -> Person:
    """The person that survives a merge of `people`."""
    people = list(people)
    if not people:
        raise MergeRefused("Choose at least one person to merge.", code="empty")
    return min(people, key=rank_key)


def rule_order(base: Person, others: Sequence[Person]) -> list[Person]:
    """The base first (its values are kept), then the others in rule order."""
    return [base, *sorted(others, key=rank_key)]
