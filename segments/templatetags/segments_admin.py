"""The person page's "Segments" sidebar box (templates/admin/profiles/person/includes)."""

from __future__ import annotations

from django import template

from profiles.models import Person
from segments.models import Segment
from segments.services import segments_of

register = template.Library()


@register.simple_tag
def person_segments(person: Person) -> list[Segment]:
    """The live person's segments by name, each with `entered_at`."""
    if person is None or person.merged_into_id is not None:
        return []
    return segments_of(person=person)
