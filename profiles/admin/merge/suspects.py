"""Suspected duplicates as the pick page and the person page offer them: a merge preview for
those the merge engine would merge, and for those it refuses (two user IDs) the reason and
what staff can do instead (open the profile, mark them as not the same person).

The engine's own check decides (`check_mergeable`), so a suggestion never leads to a preview
that refuses and sends staff back here.
"""

from __future__ import annotations

from dataclasses import dataclass

from profiles.admin.merge.views import person_url, preview_url
from profiles.models import Person
from profiles.selectors.duplicates import suspected_duplicates_of


@dataclass
class SuspectRow:
    suspect: object  # the selector's suspect: .person, .reasons
    preview_url: str | None  # None: the engine refuses this merge (see `refusal`)
    refusal: str  # why not, in a sentence; "" when mergeable
    person_url: str
    mark_url: str | None  # None without the mark permission


def refusal_words(person: Person, other: Person) -> str:
    """Why `other` cannot be merged with `person`, in a sentence; "" when it can."""
    from profiles.services.merging import MergeRefused, check_mergeable

    try:
        check_mergeable(person, [other])
    except MergeRefused as refusal:
        if refusal.code == "different_user_ids":
            return (f"Holds a different user ID ({other.user_id}): two user IDs are never "
                    "merged.")
        return " ".join(refusal.messages)
    return ""


def suspect_rows(request, person: Person) -> list[SuspectRow]:
    from dedup.admin_marks import MARK_PERMISSION, mark_url

    can_mark = request.user.has_perm(MARK_PERMISSION)
    here = request.get_full_path()
    rows = []
    for suspect in suspected_duplicates_of(person):
        other = suspect.person
        refusal = refusal_words(person, other)
        rows.append(SuspectRow(
            suspect=suspect,
            preview_url=None if refusal else preview_url([person.pk, other.pk]),
            refusal=refusal,
            person_url=person_url(other.pk),
            mark_url=mark_url([person.pk, other.pk], next_url=here) if can_mark else None,
        ))
    return rows
