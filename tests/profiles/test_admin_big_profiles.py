"""A person with huge attributes (stored before the limits, or grown by merges) still gets small
admin pages: values are cut and long attribute lists counted for display, never in the data."""

from __future__ import annotations

import pytest
from django.urls import reverse

from profiles.models import MergeRecord, Person
from profiles.services import merge_people
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import PREVIEW, change_url

pytestmark = pytest.mark.django_db

# Far past the limits: 3,000 keys of 1 KB each (3 MB), as 40 big identifies left one person.
HUGE = {f"key{i:05d}": "v" * 1000 for i in range(3000)}
SMALL_PAGE = 400_000  # bytes: the admin page around a huge profile stays this small


@pytest.fixture
def huge_pair():
    big = PersonFactory(name="Big", user_id="u-big", attributes=HUGE)
    other = PersonFactory(name="Other", email=big.email.upper(),
                          attributes={"key00000": "w" * 5000, "extra": "x" * 100_000})
    return big, other


def test_the_merge_preview_stays_small(admin_client, huge_pair):
    big, other = huge_pair

    response = admin_client.get(PREVIEW, [("ids", big.pk), ("ids", other.pk)])

    assert response.status_code == 200
    assert len(response.content) < SMALL_PAGE, len(response.content)
    assert "more custom attributes" in response.content.decode()


def test_confirming_a_preview_of_a_huge_profile_keeps_every_attribute(admin_client, huge_pair):
    big, other = huge_pair
    form = {"ids": [big.pk, other.pk], "base": big.pk, "post": "yes"}

    admin_client.post(PREVIEW, form)

    merged = Person.objects.get(pk=big.pk).attributes
    assert {key: merged[key] for key in HUGE} == HUGE  # nothing cut in the data
    assert merged["extra"] == "x" * 100_000


def test_the_journal_entry_stays_small(admin_client, huge_pair):
    big, other = huge_pair
    merge_people(base=big, others=[other], reason="manual")
    record = MergeRecord.objects.get()

    response = admin_client.get(reverse("admin:profiles_mergerecord_change", args=[record.pk]))

    assert response.status_code == 200
    assert len(response.content) < SMALL_PAGE, len(response.content)


def test_the_history_list_stays_small(admin_client, huge_pair):
    big, _ = huge_pair
    Person.objects.filter(pk=big.pk).update(attributes={**HUGE, "key00001": "changed"})
    big.refresh_from_db()
    big.name = "Bigger"
    big.save()

    response = admin_client.get(reverse("admin:profiles_person_history", args=[big.pk]))

    assert response.status_code == 200
    assert len(response.content) < SMALL_PAGE, len(response.content)


def test_the_person_page_stays_readable(admin_client, huge_pair):
    big, _ = huge_pair
    response = admin_client.get(change_url(big))
    assert response.status_code == 200
