"""Row locks on people: how merges, undos and event recording serialize.

Merges lock every participant `FOR UPDATE` in id order (so two merges never deadlock and the
second one sees the first one's tombstones). A writer that records a row for a person (an
activity, an identity, a tag) must lock that person first with `lock_live_person`: the lock
waits for a merge in progress, then follows the tombstone to the base, so the row lands on the
base instead of on a tombstone. Inserting with a bare `person_id` is not enough: Django's
foreign keys are checked at COMMIT, after the merge has already moved the rows it could see.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from profiles.models import Person

MAX_CHAIN = 100  # tombstone chains are short; a longer one means corrupted data


def lock_people(ids: Iterable[int]) -> dict[int, Person]:
    """Lock the people `FOR UPDATE` in id order and return their fresh rows by id."""
    people = Person.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    return {person.pk: person for person in people}


def _lock_one(person_id: int, *, shared: bool) -> Person:
    if shared and connection.vendor == "postgresql":
        table = connection.ops.quote_name(Person._meta.db_table)
        found = list(Person.objects.raw(f"SELECT * FROM {table} WHERE id = %s FOR SHARE",
                                        [person_id]))
        if not found:
            raise Person.DoesNotExist(f"No person #{person_id}.")
        return found[0]
    # FOR NO KEY UPDATE: conflicts with a merge's FOR UPDATE, lets the caller then UPDATE the
    # person (counters, last_seen) without a lock upgrade, and does not block foreign keys.
    return Person.objects.select_for_update(no_key=True).get(pk=person_id)


def lock_live_person(person_id: int, *, shared: bool = False) -> Person:
    """Lock the person, follow tombstones to the live person, and return it locked.

    Call inside `transaction.atomic()`, before inserting rows for the person, and record them
    on the returned person with `original_person` = that same (live) person, so that undoing
    an earlier merge leaves them where they were recorded. `shared=True` takes FOR SHARE
    (several inserters at once) for callers that will not update the person row itself.
    """
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError(
            "lock_live_person() must run inside transaction.atomic()."
        )
    current = person_id
    for _ in range(MAX_CHAIN):
        # Each hop locks inside a savepoint: a tombstone's lock is released (savepoint
        # rollback) before the next hop, so we never hold a tombstone while waiting for its
        # base, which a merge locking both in id order could otherwise deadlock with.
        savepoint = transaction.savepoint()
        try:
            person = _lock_one(current, shared=shared)
        except Exception:
            transaction.savepoint_rollback(savepoint)
            raise
        if person.merged_into_id is None:
            transaction.savepoint_commit(savepoint)
            return person
        transaction.savepoint_rollback(savepoint)
        current = person.merged_into_id
    raise RuntimeError(f"Tombstone chain from person #{person_id} is longer than {MAX_CHAIN}.")
