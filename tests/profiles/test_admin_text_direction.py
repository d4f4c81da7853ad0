"""Bidi overrides in user-supplied text are shown as markers on every admin page staff read."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from dedup.services import run_dedup
from profiles.admin.text_direction import reveal_in_html
from profiles.models import MergeRecord
from profiles.services import merge_people
from tests.factories import ActivityFactory, PersonFactory
from tests.profiles.admin_helpers import PREVIEW, change_url

pytestmark = pytest.mark.django_db

SPOOF = "John \u202egnp.exe"
CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


class _ShownText(HTMLParser):
    """The text a browser displays: text nodes and the title, not scripts, styles or form
    values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shown: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "textarea"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.shown.append(data)


def shown_controls(response) -> list[str]:
    parser = _ShownText()
    parser.feed(response.content.decode())
    return [text for text in parser.shown if any(c in text for c in CONTROLS)]


@pytest.fixture
def spoofed():
    base = PersonFactory(name=SPOOF, email="john@example.com", user_id="u-\u202e1",
                         city="Par\u2067is", attributes={"note": "a\u202eb"})
    other = PersonFactory(name="Other \u202dX", email="JOHN@example.com")
    ActivityFactory(person=base, properties={"text": "hi \u202e there"})
    return base, other


def test_person_list_and_page_show_markers(admin_client, spoofed):
    base, _ = spoofed
    for response in (admin_client.get(reverse("admin:profiles_person_changelist")),
                     admin_client.get(change_url(base)),
                     admin_client.get(reverse("admin:profiles_person_history", args=[base.pk]))):
        assert response.status_code == 200
        assert shown_controls(response) == []
        assert "[RLO]" in response.content.decode()


def test_the_form_keeps_the_stored_value(admin_client, spoofed):
    base, _ = spoofed
    page = admin_client.get(change_url(base)).content.decode()
    assert f'value="{SPOOF}"' in page  # what a save sends back is the value as stored


def test_merge_preview_and_journal_show_markers(admin_client, spoofed):
    base, other = spoofed
    preview = admin_client.get(PREVIEW, [("ids", base.pk), ("ids", other.pk)])
    assert preview.status_code == 200 and shown_controls(preview) == []
    merge_people(base=base, others=[other], reason="manual")
    record = MergeRecord.objects.get()
    journal = admin_client.get(reverse("admin:profiles_mergerecord_change", args=[record.pk]))
    listing = admin_client.get(reverse("admin:profiles_mergerecord_changelist"))
    assert shown_controls(journal) == [] and shown_controls(listing) == []
    assert "[LRO]" in journal.content.decode()


def test_duplicates_dedup_report_and_autocomplete_show_markers(admin_client, spoofed):
    duplicates = admin_client.get(reverse("admin:profiles_person_duplicates"))
    assert shown_controls(duplicates) == []
    run = run_dedup(dry_run=True)
    report = admin_client.get(reverse("admin:dedup_deduprun_report", args=[run.pk]))
    assert shown_controls(report) == []
    found = admin_client.get(reverse("admin:autocomplete"), {
        "term": "John", "app_label": "profiles", "model_name": "person",
        "field_name": "merged_into"})
    assert found.status_code == 200
    assert not any(c in found.content.decode("unicode_escape") for c in CONTROLS)
    assert any("[RLO]" in result["text"] for result in found.json()["results"])


def test_the_page_title_gets_plain_text():
    page = "<html><head><title>\u202eX | Onefold</title></head><body>\u202eY</body></html>"
    revealed = reveal_in_html(page)
    assert "<title>[RLO]X | Onefold</title>" in revealed
    assert 'class="direction-control"' in revealed.split("<body>")[1]
