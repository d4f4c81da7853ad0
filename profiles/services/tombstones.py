"""The one tombstone follower: from a merged person to the live person it resolves to.

A merge leaves its merged people as tombstones (`merged_into` = the base) and never rewrites
older chains: A merged into B, then B into C, leaves A → B → C. Everything that needs the live
person behind an id follows the chain here, with one limit (a longer chain is corrupted data):

- `resolve_live(person)`: one person, read or locked hop by hop (`lock=True`);
- `live_ids(ids)`: many at once, one statement, nothing locked;
- `tombstones_of(ids)`: the other way, every person merged into each live one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, transaction

from profiles.models import Person
from profiles.services.schema import table

MAX_CHAIN = 100  # hops. Merges point at a live base, so chains stay short; longer means corruption


class BrokenChain(RuntimeError):
    """A tombstone chain longer than MAX_CHAIN (or a cycle): the data needs repair."""

    def __init__(self, person_id: int) -> None:
        super().__init__(f"Tombstone chain from person #{person_id} is longer than {MAX_CHAIN}.")


def resolve_live(person: Person | int, *, lock: bool = False, shared: bool = False) -> Person:
    """The live person `person` (a Person or an id) resolves to by following `merged_into`.

    Raises Person.DoesNotExist for an unknown id. Without `lock`, a live Person passed in is
    returned as it is. With `lock` (inside `transaction.atomic()`), every hop is locked `FOR
    NO KEY UPDATE` (`FOR SHARE` with `shared`, PostgreSQL) in a savepoint that is rolled back
    before the next hop, so a tombstone is never held while waiting for its base (a merge
    locking both in id order could deadlock with that); the live person comes back locked.
    Record rows for it with `original_person` = it: undoing an earlier merge then leaves them
    on it. If a merge holds the lock, this waits, then follows the tombstone it left.
    """
    person_id = person if isinstance(person, int) else person.pk
    if lock:
        return _lock_live(person_id, shared=shared)
    current = person if isinstance(person, Person) else Person.objects.get(pk=person_id)
    for _ in range(MAX_CHAIN + 1):  # the person, then at most MAX_CHAIN hops
        if current.merged_into_id is None:
            return current
        current = Person.objects.get(pk=current.merged_into_id)
    raise BrokenChain(person_id)


def _lock_live(person_id: int, *, shared: bool) -> Person:
    if not connection.in_atomic_block:
        raise transaction.TransactionManagementError(
            "resolve_live(lock=True) must run inside transaction.atomic()."
        )
    current = person_id
    for _ in range(MAX_CHAIN + 1):
        savepoint = transaction.savepoint()
        try:
            person = _lock_one(current, shared=shared)
        except Exception:
            transaction.savepoint_rollback(savepoint)
            raise
        if person.merged_into_id is None:
            transaction.savepoint_commit(savepoint)
            return person
        transaction.savepoint_rollback(savepoint)  # releases the tombstone's lock
        current = person.merged_into_id
    raise BrokenChain(person_id)


def _lock_one(person_id: int, *, shared: bool) -> Person:
    if shared and connection.vendor == "postgresql":
        found = list(Person.objects.raw(f"SELECT * FROM {table(Person)} WHERE id = %s FOR SHARE",
                                        [person_id]))
        if not found:
            raise Person.DoesNotExist(f"No person #{person_id}.")
        return found[0]
    # FOR NO KEY UPDATE: conflicts with a merge's FOR UPDATE, lets the caller then UPDATE the
    # person (counters, last_seen) without a lock upgrade, and does not block foreign keys.
    return Person.objects.select_for_update(no_key=True).get(pk=person_id)


def live_ids(ids: Sequence[int]) -> dict[int, int]:
    """person id -> id of the live person it resolves to, for many people in one statement
    (a recursive walk), without locking. Unknown ids, and chains longer than MAX_CHAIN, are
    left out."""
    if not ids:
        return {}
    from profiles.services.sql import execute  # imports the merge package, which imports this

    wanted = sorted(set(ids))
    if connection.vendor == "postgresql":
        condition, params = "id = ANY(%s)", [wanted]
    else:
        condition, params = f"id IN ({', '.join(['%s'] * len(wanted))})", list(wanted)
    person = table(Person)
    sql = (
        f"WITH RECURSIVE walk(start, id, next, hops) AS ("
        f"SELECT id, id, merged_into_id, 0 FROM {person} WHERE {condition} "
        f"UNION ALL SELECT w.start, p.id, p.merged_into_id, w.hops + 1 FROM walk w "
        f"JOIN {person} p ON p.id = w.next WHERE w.hops < %s) "
        f"SELECT start, id FROM walk WHERE next IS NULL"
    )
    return dict(execute(sql, [*params, MAX_CHAIN]))


def tombstones_of(ids: Iterable[int]) -> dict[int, list[Person]]:
    """Every person merged into each of these people, recursively: nearest first, deepest
    last (one query per level, at most MAX_CHAIN levels)."""
    result: dict[int, list[Person]] = {pk: [] for pk in ids}
    root_of = {pk: pk for pk in result}
    frontier = list(result)
    for _ in range(MAX_CHAIN):
        if not frontier:
            return result
        level = list(Person.objects.filter(merged_into__in=frontier).order_by("id"))
        for tomb in level:
            root_of[tomb.pk] = root_of[tomb.merged_into_id]
            result[root_of[tomb.pk]].append(tomb)
        frontier = [tomb.pk for tomb in level]
    raise BrokenChain(frontier[0])
