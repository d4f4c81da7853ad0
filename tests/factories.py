"""factory_boy factories for the domain models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from profiles.models import (
    Activity,
    Conversation,
    Deal,
    Identity,
    IdentityKind,
    Person,
    PersonStatus,
    PersonTag,
    Site,
    Tag,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    password = factory.django.Password("pw-onefold-123")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    status = PersonStatus.USER
    avatar_seed = factory.Sequence(lambda n: f"seed{n}")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class AnonymousPersonFactory(PersonFactory):
    name = factory.Sequence(lambda n: f"Anonymous Otter {n}")
    email = ""
    status = PersonStatus.VISITOR


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    person = factory.SubFactory(PersonFactory)
    original_person = factory.SelfAttribute("person")
    kind = IdentityKind.ANONYMOUS_ID
    value = factory.Sequence(lambda n: f"anon-{n:08d}")


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    person = factory.SubFactory(PersonFactory)
    original_person = factory.SelfAttribute("person")
    kind = "page_view"
    occurred_at = factory.LazyFunction(timezone.now)
    properties = factory.LazyFunction(lambda: {"url": "/"})


class PersonTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PersonTag

    person = factory.SubFactory(PersonFactory)
    original_person = factory.SelfAttribute("person")
    tag = factory.SubFactory(TagFactory)


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    person = factory.SubFactory(PersonFactory)
    original_person = factory.SelfAttribute("person")


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    person = factory.SubFactory(PersonFactory)
    original_person = factory.SelfAttribute("person")
    title = factory.Sequence(lambda n: f"Deal {n}")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    name = factory.Sequence(lambda n: f"Site {n}")
