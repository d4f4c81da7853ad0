"""identify (docs/rules.md, Identify) case by case, with its audit trail: history reasons,
the merge journal, exact undo, idempotent repeats, and user IDs changed by staff.

Python API (profiles.services.identify) and HTTP API (/api/v1/identify); the basic cases
are in test_identify.py.
"""

from __future__ import annotations

import pytest

from profiles.models import (
    Activity,
    ActivityKind,
    Identity,
    IdentityKind,
    MergeRecord,
    Person,
    PersonStatus,
)
from profiles.services import chat_message, identify, merge_people, track, undo_merge
from profiles.services.merging import (
    conservation_problems,
    invariant_problems,
    rows_by_relation,
)
from profiles.services.people import apply_staff_edit
from tests.api import conftest as api_fixtures
from tests.api.conftest import row_counts
from tests.factories import PersonFactory, PersonTagFactory, TagFactory

pytestmark = pytest.mark.django_db

# The HTTP API's fixtures (a site with a write key, a JSON poster, fresh rate limits).
site = api_fixtures.site
post = api_fixtures.post
_fresh_rate_limits = api_fixtures._fresh_rate_limits


def views(anonymous_id: str, count: int = 2) -> Person:
    for n in range(count):
        track(anonymous_id=anonymous_id, kind="page_view", properties={"path": f"/p{n}"})
    return Person.objects.get(identities__value=anonymous_id)


def live() -> list[Person]:
    return list(Person.objects.filter(merged_into__isnull=True).order_by("pk"))


def reasons(person: Person) -> list[str | None]:
    return list(
        Person.history.filter(id=person.pk).order_by("history_id")
        .values_list("history_change_reason", flat=True)
    )


def snapshot_of_everything() -> dict:
    people = {
        p["id"]: p for p in Person.objects.values(
            "id", "user_id", "status", "name", "email", "phone", "company", "attributes",
            "page_views", "visits", "merged_into_id", "first_seen", "last_seen", "updated_at",
        )
    }
    return {"people": people, "rows": row_counts(), "relations": rows_by_relation()}


# --- the main cases ----------------------------------------------------------------------------


def test_new_user_gets_one_identified_profile_with_history():
    person = identify(anonymous_id="d-new", user_id="u-new", email=" New@Example.COM ",
                      traits={"name": "Nia", "plan": "pro"})

    person.refresh_from_db()
    assert person.user_id == "u-new" and person.status == PersonStatus.USER
    assert person.email == "New@Example.COM"  # trimmed, case kept; identity lower-cased
    assert set(person.identities.values_list("kind", "value")) == {
        (IdentityKind.USER_ID, "u-new"), (IdentityKind.ANONYMOUS_ID, "d-new"),
        (IdentityKind.EMAIL, "new@example.com"),
    }
    assert person.attributes["plan"] == "pro" and person.name == "Nia"
    history = reasons(person)
    assert history[0].startswith("first contact from the website")
    assert all(reason for reason in history), history
    assert invariant_problems() == []


def test_existing_user_absorbs_device_and_undo_restores_exactly():
    user = identify(user_id="u-1", email="ann@example.com", traits={"name": "Ann"})
    device = views("dev-b", count=3)
    chat_message(anonymous_id="dev-b", text="hello there")
    tag = TagFactory(name="vip")
    PersonTagFactory(person=device, tag=tag)
    before = snapshot_of_everything()

    person = identify(anonymous_id="dev-b", user_id="u-1")

    assert person.pk == user.pk
    record = MergeRecord.objects.get()
    assert record.reason == "identify" and record.actor is None
    assert record.merged_ids == [device.pk]
    assert conservation_problems(before["relations"]) == []
    assert invariant_problems() == []
    person.refresh_from_db()
    assert person.page_views == 3 and list(person.tags.all()) == [tag]
    assert Identity.objects.get(value="dev-b").person_id == user.pk
    device.refresh_from_db()
    assert device.merged_into_id == user.pk
    assert any("identify" in (r or "") for r in reasons(device))
    assert any("identify" in (r or "") for r in reasons(user))

    undo_merge(record=record)

    after = snapshot_of_everything()
    for pk in (user.pk, device.pk):
        old, new = before["people"][pk], after["people"][pk]
        for key in ("user_id", "status", "name", "email", "page_views", "merged_into_id",
                    "first_seen"):
            assert old[key] == new[key], (pk, key, old[key], new[key])
    # Every row that existed before is back on its original person.
    for label, rows in before["relations"].items():
        for row_id, person_id in rows.items():
            assert after["relations"][label][row_id] == person_id, (label, row_id)
    assert list(Person.objects.get(pk=device.pk).tags.all()) == [tag]
    assert invariant_problems() == []


def test_anonymous_is_promoted_with_a_reasoned_history_row():
    visitor = views("dev-a")
    history_before = Person.history.filter(id=visitor.pk).count()

    person = identify(anonymous_id="dev-a", user_id="u-a")

    assert person.pk == visitor.pk
    person.refresh_from_db()
    assert person.user_id == "u-a" and person.status == PersonStatus.USER
    new_rows = reasons(person)[history_before:]
    assert new_rows and all(r and r.startswith("identify") for r in new_rows), new_rows
    assert Identity.objects.get(kind=IdentityKind.USER_ID, value="u-a").person_id == visitor.pk
    assert not MergeRecord.objects.exists()


def test_second_device_stitched_at_its_own_identify_only():
    phone = views("phone")
    laptop = views("laptop", count=3)
    identify(anonymous_id="phone", user_id="u-7")
    laptop.refresh_from_db()
    assert laptop.merged_into_id is None  # not yet: only at its own identify

    identify(anonymous_id="laptop", user_id="u-7")

    assert [p.pk for p in live()] == [phone.pk]
    assert Person.objects.get(pk=phone.pk).page_views == 5


def test_shared_computer_device_left_alone_and_new_user_gets_own_profile():
    shared = views("shared")
    identify(anonymous_id="shared", user_id="alice", email="alice@example.com")
    before = Person.objects.get(pk=shared.pk)

    bob = identify(anonymous_id="shared", user_id="bob", email="bob@example.com",
                   traits={"name": "Bob"})

    after = Person.objects.get(pk=shared.pk)
    assert bob.pk != shared.pk and bob.user_id == "bob"
    assert (after.email, after.name, after.user_id) == (before.email, before.name, "alice")
    assert Identity.objects.get(value="shared").person_id == shared.pk
    assert not MergeRecord.objects.exists()
    # The identify activity goes to bob, not alice.
    assert not after.activities.filter(kind=ActivityKind.IDENTIFY,
                                       properties__user_id="bob").exists()


def test_user_id_with_another_users_email_is_not_merged():
    identify(anonymous_id="d1", user_id="u-1", email="same@example.com")
    identify(anonymous_id="d2", user_id="u-2", email="SAME@example.com")
    identify(user_id="u-2", traits={"email": "same@example.com"})
    identify(anonymous_id="d1", email="same@example.com")  # email-only on u-1's device

    assert sorted(p.user_id for p in live()) == ["u-1", "u-2"]
    assert not MergeRecord.objects.exists()


def test_chat_email_equal_to_a_users_email_does_not_merge_two_users():
    identify(user_id="u-1", email="kim@example.com")
    chat_message(anonymous_id="dev-k", text="I am kim@example.com")
    device = Person.objects.get(identities__value="dev-k")
    assert device.email == "kim@example.com" and device.status == PersonStatus.VISITOR

    identify(anonymous_id="dev-k", user_id="u-2")

    assert sorted(p.user_id for p in live()) == ["u-1", "u-2"]
    assert not MergeRecord.objects.exists()


def test_email_only_identify_on_new_device_and_status():
    person = identify(anonymous_id="fresh", email="Zed@Example.com")

    person.refresh_from_db()
    assert person.user_id is None and person.status == PersonStatus.USER
    assert person.email == "Zed@Example.com"
    assert Identity.objects.filter(kind=IdentityKind.EMAIL, value="zed@example.com").count() == 1


def test_email_argument_wins_over_traits_email():
    person = identify(user_id="u-1", email="arg@example.com",
                      traits={"email": "trait@example.com"})

    person.refresh_from_db()
    assert person.email == "arg@example.com"
    assert "email" not in person.attributes
    assert not Identity.objects.filter(value="trait@example.com").exists()


def test_traits_fields_attributes_and_overwrites():
    identify(user_id="u-1", traits={"name": "Ann", "company": "Acme", "plan": "free",
                                    "seats": 3})
    person = identify(user_id="u-1", traits={"name": "Ann B", "plan": "pro", "phone": "  ",
                                             "company": None})

    person.refresh_from_db()
    assert person.name == "Ann B"  # the website's newer value overwrites
    assert person.company == "Acme"  # empty/None traits do not clear
    assert person.phone == ""
    assert person.attributes["plan"] == "pro" and person.attributes["seats"] == 3


# --- idempotency -----------------------------------------------------------------------------


@pytest.mark.parametrize("message_id", [None, "msg-1"])
def test_repeated_identify_changes_nothing_and_writes_no_history(message_id):
    views("dev-r")
    identify(anonymous_id="dev-r", user_id="u-r", email="r@example.com",
             traits={"name": "R", "plan": "x"}, message_id=message_id)
    person = Person.objects.get(user_id="u-r")
    counts = {
        "person_history": Person.history.count(),
        "identity_history": Identity.history.count(),
        "identities": Identity.objects.count(),
        "people": Person.objects.count(),
        "merges": MergeRecord.objects.count(),
    }

    again = identify(anonymous_id="dev-r", user_id="u-r", email="r@example.com",
                     traits={"name": "R", "plan": "x"}, message_id=message_id)

    assert again.pk == person.pk
    assert {
        "person_history": Person.history.count(),
        "identity_history": Identity.history.count(),
        "identities": Identity.objects.count(),
        "people": Person.objects.count(),
        "merges": MergeRecord.objects.count(),
    } == counts
    assert Person.objects.get(pk=person.pk).updated_at == person.updated_at
    identifies = Activity.objects.filter(kind=ActivityKind.IDENTIFY).count()
    assert identifies == (1 if message_id else 2)


def test_resent_identify_over_http_is_a_no_op(post):
    body = {"anonymous_id": "h-d", "user_id": "h-u", "email": "h@example.com",
            "traits": {"name": "H"}, "message_id": "m-h"}
    first = post("identify", body)
    assert first.status_code == 200, first.content
    counts = row_counts()

    second = post("identify", body)

    assert second.status_code == 200 and second.json() == first.json()
    assert row_counts() == counts


# --- error paths: refused without a partial write ----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "u-1", "email": "bad"},
        {"user_id": "u-1", "traits": {"name": 5}},
        {"user_id": "u-1", "traits": {"user_id": "u-2"}},
        {"user_id": "u-1", "traits": {"anonymous_id": "x"}},
        {"anonymous_id": "d", "traits": {"email": "d@example.com"}, "user_id": "null"},
        {"email": "a@example.com"},
        {"anonymous_id": "d-only"},
    ],
)
def test_bad_identify_over_http_writes_nothing(post, body):
    identify(anonymous_id="d", user_id="u-1")
    counts = row_counts()

    response = post("identify", body)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"]
    assert row_counts() == counts



def test_person_field_names_in_traits_are_custom_attributes_not_the_fields():
    person = identify(user_id="u-1", traits={"visits": 99, "status": "visitor", "id": 5})

    person.refresh_from_db()
    assert person.visits == 1 and person.status == PersonStatus.USER and person.pk != 5
    assert person.attributes["visits"] == 99


def test_message_id_of_another_event_kind_is_another_event(post):
    post("track", {"anonymous_id": "d-m", "kind": "page_view", "message_id": "m-x"})

    response = post("identify", {"anonymous_id": "d-m", "user_id": "u-m", "message_id": "m-x"})

    assert response.status_code == 200
    assert Person.objects.get().user_id == "u-m"
    assert sorted(Activity.objects.values_list("kind", flat=True)) == ["identify", "page_view"]


# --- audit trail --------------------------------------------------------------------------------


def test_identities_added_by_identify_have_a_history_reason():
    views("dev-p")
    identify(anonymous_id="dev-p", user_id="u-p", email="p@example.com")  # promotion
    identify(anonymous_id="dev-q", user_id="u-p")  # a new device attached to the user
    identify(user_id="u-p", email="p2@example.com")  # another email

    rows = list(Identity.history.values_list("value", "history_change_reason"))
    assert {value for value, _ in rows} == {"dev-p", "u-p", "p@example.com", "dev-q",
                                           "p2@example.com"}
    assert all(reason for _, reason in rows), rows


def test_promotion_is_one_history_row_naming_the_promotion():
    visitor = views("dev-1", count=1)
    before = Person.history.filter(id=visitor.pk).count()

    identify(anonymous_id="dev-1", user_id="u-1", traits={"name": "Una"})

    new_rows = reasons(visitor)[before:]
    assert len(new_rows) == 1, new_rows
    assert "promoted" in new_rows[0]
    row = Person.history.filter(id=visitor.pk).latest("history_id")
    assert (row.user_id, row.status, row.name) == ("u-1", PersonStatus.USER, "Una")


# --- user IDs changed, deleted or parked on a tombstone ---------------------------------------


def test_identify_with_a_user_id_staff_changed_away_makes_a_new_profile():
    person = identify(anonymous_id="d-s", user_id="old-id", email="s@example.com")
    apply_staff_edit(person=person.pk, changes={"user_id": "new-id"})

    again = identify(user_id="new-id")
    fresh = identify(user_id="old-id")  # was a 409 forever: the identity was left behind

    assert again.pk == person.pk
    assert fresh.pk != person.pk and fresh.user_id == "old-id"
    assert track(user_id="old-id", kind="page_view").person_id == fresh.pk
    assert set(Identity.objects.filter(kind=IdentityKind.USER_ID)
               .values_list("value", "person_id")) == {("new-id", person.pk),
                                                       ("old-id", fresh.pk)}
    assert invariant_problems() == []


def test_user_id_set_by_staff_gets_its_identity():
    person = PersonFactory(user_id=None, email="")
    apply_staff_edit(person=person.pk, changes={"user_id": "staff-set"})

    assert Identity.objects.filter(kind=IdentityKind.USER_ID, value="staff-set",
                                   person=person).exists()
    assert identify(anonymous_id="dev-z", user_id="staff-set").pk == person.pk


def test_identify_after_the_user_was_deleted_starts_afresh():
    from profiles.services.deletion import delete_people

    user = identify(anonymous_id="d-del", user_id="u-del")
    delete_people(people=[user], reason="duplicate")

    again = identify(anonymous_id="d-del", user_id="u-del")

    assert again.pk != user.pk and again.user_id == "u-del"
    assert Identity.objects.get(value="d-del").person_id == again.pk


def test_user_id_held_by_a_manual_merge_base_and_after_undo():
    visitor = views("dev-v", count=1)
    user = identify(user_id="u-t")
    record = merge_people(base=visitor, others=[user])  # staff picked the visitor as base
    visitor.refresh_from_db()
    assert visitor.user_id == "u-t"

    assert identify(anonymous_id="dev-w", user_id="u-t").pk == visitor.pk
    undo_merge(record=record)
    assert identify(user_id="u-t").pk == user.pk
    assert invariant_problems() == []


def test_undone_identify_merge_can_be_stitched_again():
    identify(user_id="u-1")
    device = views("dev-u", count=2)
    identify(anonymous_id="dev-u", user_id="u-1")
    undo_merge(record=MergeRecord.objects.get())
    assert track(anonymous_id="dev-u", kind="page_view").person_id == device.pk

    identify(anonymous_id="dev-u", user_id="u-1")

    assert MergeRecord.objects.filter(undone_at__isnull=True).count() == 1
    assert Person.objects.get(user_id="u-1").page_views == 3
    assert invariant_problems() == []


def test_email_only_first_contact_then_promotion_history():
    person = identify(anonymous_id="d-e", email="e@example.com")
    history = reasons(person)
    assert history[0] == "first contact from the website: anonymous_id d-e"
    assert len(history) == 2 and history[1].startswith("identify: traits from the website")
    before = person.updated_at

    identify(anonymous_id="d-e", user_id="u-e")  # status was already `user`

    person.refresh_from_db()
    assert person.user_id == "u-e" and person.updated_at > before
    assert len(reasons(person)) == 3
    assert reasons(person)[2].startswith("identify: anonymous profile promoted to user")


def test_http_identify_cases(post):
    post("track", {"anonymous_id": "web-1", "kind": "page_view"})
    promoted = post("identify", {"anonymous_id": "web-1", "user_id": "w-1",
                                 "traits": {"email": "W1@example.com", "name": "W"}}).json()
    shared = post("identify", {"anonymous_id": "web-1", "user_id": "w-2"}).json()
    post("track", {"anonymous_id": "web-2", "kind": "page_view"})
    stitched = post("identify", {"anonymous_id": "web-2", "user_id": "w-1"}).json()

    assert promoted == stitched == shared == {"ok": True}
    assert sorted(p.user_id for p in live()) == ["w-1", "w-2"]
    person = Person.objects.get(user_id="w-1")
    record = MergeRecord.objects.get()
    assert record.reason == "identify" and record.base_id == person.pk
    assert person.email == "W1@example.com" and person.page_views == 2
    assert invariant_problems() == []
