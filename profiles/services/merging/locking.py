"""Row locks on people: how merges, undos and event recording serialize.

Merges lock every participant `FOR UPDATE` in id order (so two merges never deadlock and the
second one sees the first one's tombstones). A writer that records a row for a person (an
activity, an identity, a tag) must lock that person first with
`tombstones.resolve_live(person_id, lock=True)`: the lock waits for a merge in progress, then
follows the tombstone to the base, so the row lands on the base instead of on a tombstone.
Inserting with a bare `person_id` is not enough: Django's foreign keys are checked at COMMIT,
after the merge has already moved the rows it could see.
"""

from __future__ import annotations

from collections.abc import Iterable

from profiles.models import Person


def lock_people(ids: Iterable[int]) -> dict[int, Person]:
    """Lock the people `FOR UPDATE` in id order and return their fresh rows by id."""
    people = Person.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    return {person.pk: person for person in people}
