"""Journal, history and lists in plain words: the journal's title and everyone's old values,
an "Undone: yes / no" filter, "system" for unsigned changes, the merged profiles' "Merged
into" column, the activities list newest first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from profiles.models import MergeRecord
from profiles.services import merge_people, undo_merge
from tests.factories import ActivityFactory, PersonFactory
from tests.profiles.admin_helpers import change_url

pytestmark = pytest.mark.django_db

JOURNAL = reverse("admin:profiles_mergerecord_changelist")


@pytest.fixture
def three(admin_user) -> MergeRecord:
    ann = PersonFactory(name="Ann Lee", user_id="u-3", city="")
    a_lee = PersonFactory(name="A. Lee", city="Paris", phone="+33 6")
    ann_4 = PersonFactory(name="Ann", city="Lyon")
    return merge_people(base=ann, others=[a_lee, ann_4], actor=admin_user)


def test_the_journal_entry_is_titled_by_who_was_merged_into_whom(admin_client, three):
    html = admin_client.get(reverse("admin:profiles_mergerecord_change",
                                    args=[three.pk])).content.decode()

    base, *merged = [three.base_id, *three.merged_ids]
    names = {three.base_id: "Ann Lee"}
    for pk in merged:
        names[pk] = three.snapshot[str(pk)]["name"]
    title = f"Ann Lee (#{base}) ← " + ", ".join(f"{names[pk]} (#{pk})" for pk in merged)
    assert f"<h1>Merge #{three.pk}: {title}</h1>" in html


def test_the_journal_entry_shows_everyones_old_values_next_to_the_result(admin_client, three):
    html = admin_client.get(reverse("admin:profiles_mergerecord_change",
                                    args=[three.pk])).content.decode()

    table = html[html.index('class="merge-journal"'):]
    city = table[table.index(">City<"):]
    city = city[:city.index("</tr>")]
    # The result, then the base's, A. Lee's and Ann's values before: Paris and Lyon both shown.
    assert "Paris" in city and "Lyon" in city
    assert city.count("<td") == 5  # result + three people + rule
    for pk in [three.base_id, *three.merged_ids]:
        assert f"(#{pk}) before</th>" in table


def test_the_journal_filters_undone_yes_and_no(admin_client, three):
    other = merge_people(base=PersonFactory(name="Bo"), others=[PersonFactory(name="B.")])
    undo_merge(record=other)

    undone = admin_client.get(JOURNAL, {"undone": "yes"})
    standing = admin_client.get(JOURNAL, {"undone": "no"})

    assert [r.pk for r in undone.context["cl"].result_list] == [other.pk]
    assert [r.pk for r in standing.context["cl"].result_list] == [three.pk]
    html = admin_client.get(JOURNAL).content.decode()
    assert "By undone" in html and ">Yes</a>" in html and ">No</a>" in html


def test_the_journal_says_system_for_merges_nobody_signed_in_made(admin_client):
    merge_people(base=PersonFactory(name="Bo"), others=[PersonFactory(name="B.")],
                 reason="dedup")

    html = admin_client.get(JOURNAL).content.decode()

    assert "<td class=\"field-actor_display\">system</td>" in html


def test_history_says_system_and_shows_readable_changes(admin_client):
    person = PersonFactory(name="Bea", city="")
    person.history.all().update(history_user=None)
    person.city = "Lyon"
    person.last_seen = dt.datetime(2026, 3, 4, 9, 30, tzinfo=dt.UTC)
    person.save()

    html = admin_client.get(reverse("admin:profiles_person_history",
                                    args=[person.pk])).content.decode()

    assert "system" in html.split('class="history-user"')[1].split("</td>")[0]
    assert ">None<" not in html.replace(" ", "").replace("\n", "")
    assert "City:</strong>\n                    —" in html
    assert "4 Mar 2026, 09:30 UTC" in html
    assert "+00:00" not in html


def test_merged_profiles_list_has_a_merged_into_column(admin_client):
    base = PersonFactory(name="Ann Lee")
    merge_people(base=base, others=[PersonFactory(name="A. Lee")])

    html = admin_client.get(reverse("admin:profiles_person_changelist"),
                            {"merged": "merged"}).content.decode()
    live = admin_client.get(reverse("admin:profiles_person_changelist")).content.decode()

    assert "Merged into" in html and f'href="{change_url(base)}">Ann Lee (#{base.pk})' in html
    assert "Merged into" not in live


def test_the_activities_list_is_newest_first(admin_client):
    person = PersonFactory()
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    old = ActivityFactory(person=person, occurred_at=now - dt.timedelta(days=30))
    new = ActivityFactory(person=person, occurred_at=now)
    middle = ActivityFactory(person=person, occurred_at=now - dt.timedelta(days=1))

    response = admin_client.get(reverse("admin:profiles_activity_changelist"))

    assert [a.pk for a in response.context["cl"].result_list] == [new.pk, middle.pk, old.pk]
    assert "Viewed <span class=\"url\">/</span>" in response.content.decode()  # in words
