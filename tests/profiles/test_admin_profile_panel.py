"""The profile panel on the person page: what profiling learned, as a table of sentences,
read tolerantly (a malformed stored value shows as a dash, never a 500)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.admin.profile_panel import READS, profile_rows
from profiles.models import Person
from profiles.services import track
from profiles.services.profiling import PROFILING_KEYS
from tests.factories import PersonFactory
from tests.profiles.admin_helpers import change_url

pytestmark = pytest.mark.django_db


def rows_of(person) -> dict[str, str]:
    return {row.key: str(row.value) for row in profile_rows(person)}


def test_every_profiling_key_is_shown_by_a_row():
    shown = {key for keys in READS.values() for key in keys}
    missing = sorted(PROFILING_KEYS - shown)
    assert missing == [], f"the profile panel shows no row for: {', '.join(missing)}"
    assert set(READS) == {row.key for row in profile_rows(PersonFactory.build())}


def test_the_panel_arms_a_salesperson_from_tracked_events():
    day = timedelta(days=1)
    start = timezone.now() - 30 * day
    device = {"anonymous_id": "dev-panel"}
    track(**device, kind="page_view", occurred_at=start, properties={
        "url": "https://shop.example.com/?utm_source=newsletter&utm_medium=email"
               "&utm_campaign=spring-sale",
        "referrer": "https://www.google.com/search?q=running+shoes"})
    for n in range(1, 8):
        track(**device, kind="page_view", occurred_at=start + n * 4 * day, properties={
            "url": f"https://shop.example.com/shoes/{n}", "category": "Shoes",
            "product": "Runner 2" if n % 2 else "Tote", "referrer": "https://bing.com/"})
    track(**device, kind="purchase", occurred_at=start + 29 * day,
          properties={"amount": 129.5, "currency": "EUR"})
    for kind in ("email_sent", "email_sent", "email_opened"):
        track(**device, kind=kind, properties={"campaign": "spring"})
    person = Person.objects.get(identities__value="dev-panel")

    rows = rows_of(person)

    assert "www.google.com" in rows["first_source"]
    assert "searched “running shoes”" in rows["first_source"]
    assert "campaign “spring-sale” (newsletter / email)" in rows["first_source"]
    assert "bing.com" in rows["latest_source"]
    assert 'href="https://shop.example.com/?utm_source' in rows["landing_page"]
    assert "latest visit" in rows["landing_page"]
    assert "shop.example.com/shoes/7" in rows["exit_page"]
    assert rows["visits"].startswith("10 visits and 8 page views since ")  # + purchase, emails
    assert "a week" in rows["visits"]
    assert rows["categories"] == "Shoes (7)"
    assert rows["products"] == "Runner 2 (4), Tote (3)"
    assert rows["purchases"].startswith("1 purchase, 129.50 in total; last on ")
    assert rows["email"] == "2 sent · 1 opened (50%) · 0 clicked (0%)"


def test_a_person_without_profiling_reads_as_nothing_yet():
    rows = rows_of(PersonFactory(attributes={"plan": "pro"}))

    assert rows["first_source"] == "—" and rows["exit_page"] == "—"
    assert rows["purchases"] == "None yet" and rows["email"] == "No email offers yet"
    assert rows["visits"] == "None recorded"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
STORED = st.dictionaries(st.sampled_from(sorted(PROFILING_KEYS)), JSON) | JSON


@settings(max_examples=300, deadline=None)
@given(stored=STORED)
def test_any_stored_value_gives_a_panel(stored):
    person = PersonFactory.build(pk=1, attributes=stored, visits=3, page_views=5,
                                 first_seen=timezone.now() - timedelta(days=40),
                                 last_seen=timezone.now())

    rows = rows_of(person)

    assert all("{'" not in value and "['" not in value for value in rows.values())


@pytest.mark.parametrize("stored", [
    [1, 2], "a string", 7,
    {"purchases": "n/a", "email_offers": 7, "products_viewed": ["a"], "first_touch": "x",
     "latest_touch": {"at": "not a date", "referrer": 5}, "exit_page": {"a": 1},
     "categories_viewed": {"Shoes": "many", "Bags": 2}},
])
def test_malformed_stored_profiling_shows_the_page_with_dashes(admin_client, stored):
    person = PersonFactory()
    Person.objects.filter(pk=person.pk).update(attributes=stored)

    response = admin_client.get(change_url(person))

    assert response.status_code == 200
    html = response.content.decode()
    panel = html[html.index('id="profile-panel"'):html.index('id="profile-panel"') + 4000]
    assert "Top categories viewed" in panel


def test_the_person_page_shows_the_panel_as_a_table(admin_client):
    person = PersonFactory(attributes={
        "plan": "pro", "purchases": {"count": 3, "revenue": 310, "last_at": "2026-11-02T10:00:00"},
        "products_viewed": {"hat": 2, "scarf": 1}})

    html = admin_client.get(change_url(person)).content.decode()

    panel = html[html.index('id="profile-panel"'):]
    panel = panel[:panel.index("</table>")]
    assert "3 purchases, 310.00 in total; last on 2 Nov 2026" in panel
    assert "hat (2), scarf (1)" in panel
    assert "{" not in panel.split("<table>", 1)[1]
