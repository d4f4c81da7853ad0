"""The journal's decisions: the short form a merge writes (a rule code; the winner and the
value left out where the entry says them already), and the full form with the rules' sentences
that entries written before 2026-12 hold — both read the same, show the same words and undo
exactly."""

from __future__ import annotations

import pytest
from django.urls import reverse

from profiles.models import MergeRecord, Person
from profiles.services import merge_people, undo_merge
from profiles.services.merging import RULE_TEXTS, read_decisions, rule_text
from profiles.services.merging.fields import FIELD_RULES
from profiles.services.merging.state import SNAPSHOT_FIELDS, snapshot_person
from tests.factories import PersonFactory, UserFactory
from tests.profiles.test_field_rules import EXPECTED, _profiling_of, _two_shoppers

pytestmark = pytest.mark.django_db

OLD_ADDED_UP = "added up from all (identify's profiling)"  # the oldest sentence of all


def old_form(record: MergeRecord) -> dict:
    """The decisions as a merge wrote them before 2026-12: every key, the rule's sentence
    (added-up profiling with identify's own sentence, as the oldest entries hold it)."""
    return {
        field: {"value": d["value"], "winner": d["winner"],
                "rule": OLD_ADDED_UP if d["rule"] == "added" else RULE_TEXTS[d["rule"]]}
        for field, d in read_decisions(record).items()
    }


def everything(*people: Person) -> dict:
    return {p.pk: {k: v for k, v in snapshot_person(Person.objects.get(pk=p.pk)).items()
                   if k != "updated_at"} for p in people}


def test_every_rule_has_a_sentence_and_no_code_reads_as_another_rules_sentence():
    assert all(text and text != code for code, text in RULE_TEXTS.items() if code != "earliest")
    assert rule_text("kept") == "base value kept"
    assert rule_text("base value kept") == "base value kept"  # an old entry's sentence
    assert rule_text(OLD_ADDED_UP) == "added up from all"
    assert rule_text("a rule since renamed") == "a rule since renamed"  # shown as written


def test_the_short_form_leaves_out_what_the_snapshot_says_and_reads_back_whole():
    base = PersonFactory(name="", city="Paris", page_views=2, attributes={"plan": "pro"})
    other = PersonFactory(name="Ann", city="Lyon", page_views=3, attributes={"plan": "free"})

    record = MergeRecord.objects.get(pk=merge_people(base=base, others=[other]).pk)

    assert record.decisions["city"] == {"rule": "kept"}
    assert record.decisions["attributes.plan"] == {"rule": "kept"}
    assert record.decisions["name"] == {"rule": "filled", "winner": other.pk}
    assert record.decisions["page_views"] == {"rule": "sum", "winner": None, "value": 5}
    full = read_decisions(record)
    assert full["city"] == {"value": "Paris", "winner": base.pk, "rule": "kept"}
    assert full["attributes.plan"] == {"value": "pro", "winner": base.pk, "rule": "kept"}
    assert full["name"] == {"value": "Ann", "winner": other.pk, "rule": "filled"}
    assert {"value", "winner", "rule"} == {key for d in full.values() for key in d}


def test_an_old_entry_undoes_exactly_including_added_up_profiling():
    ann, laptop = _two_shoppers()
    before = everything(ann, laptop)
    record = merge_people(base=ann, others=[laptop], actor=UserFactory())
    full = read_decisions(record)
    MergeRecord.objects.filter(pk=record.pk).update(decisions=old_form(record))
    record = MergeRecord.objects.get(pk=record.pk)

    assert read_decisions(record) == full  # the same decisions, whichever form
    assert _profiling_of(Person.objects.get(pk=ann.pk)) == EXPECTED
    undo_merge(record=record)
    assert everything(ann, laptop) == before


def test_an_old_entry_gives_back_a_user_id(admin_user):
    base = PersonFactory(user_id=None, name="Ann")
    owner = PersonFactory(user_id="u-7", name="")
    record = merge_people(base=base, others=[owner])
    before_merge = {"base": ("Ann", None), "owner": ("", "u-7")}
    MergeRecord.objects.filter(pk=record.pk).update(decisions=old_form(record))

    undo_merge(record=MergeRecord.objects.get(pk=record.pk))

    base.refresh_from_db()
    owner.refresh_from_db()
    assert {"base": (base.name, base.user_id), "owner": (owner.name, owner.user_id)} == \
        before_merge


@pytest.mark.parametrize("form", ["short", "old"])
def test_the_journal_page_shows_every_rule_in_words(admin_client, form):
    base = PersonFactory(name="", city="Paris", user_id="u-1", attributes={"plan": "pro"})
    other = PersonFactory(name="Ann L.", city="Lyon", user_id=None, attributes={"plan": "x"})
    record = merge_people(base=base, others=[other], overrides={"city": other})
    if form == "old":
        MergeRecord.objects.filter(pk=record.pk).update(decisions=old_form(record))

    url = reverse("admin:profiles_mergerecord_change", args=[record.pk])
    content = admin_client.get(url).content.decode()

    cells = content.split('class="rule">')[1:]
    shown = {cell.split("<", 1)[0] for cell in cells}
    for sentence in ("base value kept", "chosen by staff", "sum of all",
                     "merge time (the base changed)", "the one user ID among them"):
        assert sentence in shown
    assert any(text.startswith("base empty: first non-empty in rule order") for text in shown)
    assert not shown & (set(RULE_TEXTS) - {"earliest"})  # no code is shown as such
    assert "Ann L." in content and "Lyon" in content and "Paris" in content


def test_every_field_rule_journals_a_code_with_a_sentence():
    people = [PersonFactory(name="", attributes={"products_viewed": {"mug": 1}}),
              PersonFactory(name="Bo", attributes={"products_viewed": {"cup": 2}})]
    record = merge_people(base=people[0], others=[people[1]])
    rules = {d["rule"] for d in record.decisions.values()}
    assert rules <= set(RULE_TEXTS)
    assert set(FIELD_RULES) >= {f.split(".")[0] for f in record.decisions}
    assert set(SNAPSHOT_FIELDS) >= {f for f in record.decisions if "." not in f}
