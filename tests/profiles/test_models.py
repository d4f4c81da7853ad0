import pytest
from django.db import IntegrityError, transaction

from profiles.models import Identity, IdentityKind, Person
from profiles.services.people import create_person
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_email_normalized_is_computed_by_the_database():
    person = PersonFactory(email="  Ann.Lee@Example.COM ")
    person.refresh_from_db()
    assert person.email_normalized == "ann.lee@example.com"


def test_second_live_owner_of_a_user_id_is_refused_by_the_database():
    PersonFactory(user_id="u-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonFactory(user_id="u-1")


def test_a_tombstone_may_keep_a_user_id_a_live_person_holds():
    base = PersonFactory(user_id="u-2")
    PersonFactory(user_id="u-2", merged_into=base)
    assert Person.objects.filter(user_id="u-2").count() == 2


def test_an_anonymous_id_has_exactly_one_owner():
    IdentityFactory(kind=IdentityKind.ANONYMOUS_ID, value="dev-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        IdentityFactory(kind=IdentityKind.ANONYMOUS_ID, value="dev-1")


def test_the_same_email_identity_may_sit_on_two_people():
    IdentityFactory(kind=IdentityKind.EMAIL, value="a@example.com")
    IdentityFactory(kind=IdentityKind.EMAIL, value="a@example.com")
    assert Identity.objects.filter(value="a@example.com").count() == 2


def test_status_is_checked_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonFactory(status="vip")


def test_an_anonymous_person_gets_a_friendly_name_and_an_avatar():
    person = create_person()
    adjective, animal = person.name.split(" ")
    assert adjective.istitle() and animal.istitle()
    assert person.is_anonymous and person.status == "visitor"
    assert person.avatar_url.startswith("data:image/svg+xml;base64,")


def test_avatars_are_deterministic_per_person_and_differ_between_people():
    a, b = create_person(), create_person()
    assert a.avatar_url == Person.objects.get(pk=a.pk).avatar_url
    assert a.avatar_url != b.avatar_url


def test_a_person_created_with_an_email_is_a_user_and_keeps_no_random_name():
    person = create_person(email="zoe@example.com")
    assert person.status == "user" and person.name == ""
