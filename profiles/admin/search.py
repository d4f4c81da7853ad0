"""Person search that stays on indexes at a million people: exact and prefix matches only."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from profiles.admin.params import parse_id
from profiles.models import Identity, Person
from profiles.services.normalize import normalize_email


def person_search_q(term: str) -> Q:
    """Match a name or email prefix, an exact user ID, ID number or any identity value."""
    term = term.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if not term:
        return Q()
    lowered = normalize_email(term)
    # The identity matches are fetched first, as a literal list: a subquery inside the OR would
    # make PostgreSQL filter every person row instead of OR-ing index scans.
    identity_owners = list(
        Identity.objects.filter(value__in={term, lowered}).values_list("person_id", flat=True)[:100]
    )
    query = (
        Q(name__istartswith=term)
        | Q(email_normalized__startswith=lowered)
        | Q(user_id=term)
        | Q(pk__in=identity_owners)
    )
    pk = parse_id(term)
    if pk is not None:
        query |= Q(pk=pk)
    return query


def search_people(queryset: QuerySet[Person], term: str) -> QuerySet[Person]:
    return queryset.filter(person_search_q(term))
