from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from profiles.demo.reference import build_reference_set, email_variant, plan_groups
from profiles.models import Activity, Conversation, Deal, Identity, Person, PersonTag

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def showcase_ids(output: str, case: str) -> list[int]:
    line = next(line for line in output.splitlines() if line.strip().startswith(case + ":"))
    return [int(token.strip(" #,")) for token in line.split(":", 1)[1].split()]


def test_seed_demo_shows_every_case_it_promises():
    output = seed("--people", "0")

    visitor = Person.objects.get(pk=showcase_ids(output, "anonymous_with_chat")[0])
    assert visitor.is_anonymous and visitor.status == "visitor" and visitor.name
    assert Conversation.objects.filter(person=visitor).exists()
    assert Activity.objects.filter(person=visitor, kind="page_view").count() == 3

    two_devices = Person.objects.get(pk=showcase_ids(output, "one_person_two_devices")[0])
    assert two_devices.identities.filter(kind="anonymous_id").count() == 2

    variants = Person.objects.filter(pk__in=showcase_ids(output, "same_email_case_and_whitespace"))
    assert len({p.email for p in variants}) == 3
    assert len({p.email_normalized for p in variants}) == 1

    conflict = Person.objects.filter(pk__in=showcase_ids(output, "same_email_different_user_ids"))
    assert len({p.email_normalized for p in conflict}) == 1
    assert len({p.user_id for p in conflict}) == 2

    rules = Person.objects.filter(pk__in=showcase_ids(output, "visitor_vs_user_last_updated"))
    assert {p.status for p in rules} == {"visitor", "user"}
    assert len({p.updated_at for p in rules}) == 3

    buyer = Person.objects.get(pk=showcase_ids(output, "purchases_and_email_offers")[0])
    kinds = set(Activity.objects.filter(person=buyer).values_list("kind", flat=True))
    assert {"purchase", "email_sent", "email_opened", "email_clicked"} <= kinds
    assert Activity.objects.filter(person=buyer, kind="purchase", source="import").exists()
    assert Deal.objects.filter(person=buyer).exists()
    assert PersonTag.objects.filter(person=buyer).exists()


def test_bulk_people_have_duplicate_groups_activities_and_identities():
    stats = build_reference_set(people=1000, seed=7, chunk_size=300)
    assert Person.objects.count() == 1000
    assert Activity.objects.count() == stats.activities
    assert Activity.objects.exclude(kind="chat_message").count() == 10_000  # and a few chats
    assert 1.3 <= Identity.objects.count() / 1000 <= 1.8
    groups = (
        Person.objects.exclude(email_normalized="")
        .values("email_normalized").annotate(n=Count("id")).filter(n__gt=1)
    )
    in_groups = sum(group["n"] for group in groups)
    assert groups.count() == stats.duplicate_groups
    assert 90 <= in_groups <= 110
    assert all(2 <= group["n"] <= 5 for group in groups)
    assert Activity.objects.filter(person_id=F("original_person_id")).count() == stats.activities
    assert Person.history.count() == 1000
    assert set(Person.history.values_list("history_type", "history_change_reason")) == {
        ("+", "seeded (reference set)")}


def test_bulk_ids_continue_after_existing_rows_and_new_rows_still_save():
    seed("--people", "50")
    build_reference_set(people=50, seed=8)
    assert Person.objects.count() >= 100
    Person.objects.create(name="after seeding")  # the id sequence moved past the COPY'd rows


def test_if_empty_does_nothing_when_people_exist():
    seed("--people", "10")
    count = Person.objects.count()
    assert "nothing seeded" in seed("--people", "10", "--if-empty")
    assert Person.objects.count() == count


def test_negative_people_is_a_command_error():
    with pytest.raises(CommandError):
        seed("--people", "-1")


def test_plan_groups_and_variants():
    import random

    sizes = plan_groups(random.Random(1), 1000, 0.1)
    assert all(2 <= size <= 5 for size in sizes) and 100 <= sum(sizes) <= 105
    variants = {email_variant("a@b.co", i) for i in range(5)}
    assert len(variants) == 5 and {v.strip().lower() for v in variants} == {"a@b.co"}


VISIT_GAP_SECONDS = 30 * 60


def _visits(times) -> int:
    times = sorted(times)
    return sum(1 for before, at in zip([None, *times], times, strict=False)
               if before is None or (at - before).total_seconds() > VISIT_GAP_SECONDS)


def assert_counters_agree_with_the_timeline(people) -> None:
    for person in people:
        timeline = Activity.objects.filter(person=person).exclude(source="system")
        # Support's chat replies are us reaching them, not them being seen.
        theirs = timeline.exclude(kind="chat_message", properties__author="agent")
        times = list(theirs.values_list("occurred_at", flat=True))
        name = f"{person.display_name} (#{person.pk})"
        assert person.page_views == timeline.filter(kind="page_view").count(), name
        assert person.visits == _visits(times), name
        assert person.first_seen == (min(times) if times else None), name
        assert person.last_seen == (max(times) if times else None), name
        said = theirs.filter(kind="chat_message").values_list("occurred_at", flat=True)
        assert person.last_heard_from == (max(said) if said else None), name
        replies = timeline.filter(kind="chat_message", properties__author="agent")
        replied = replies.values_list("occurred_at", flat=True)
        assert person.last_contacted == (max(replied) if replied else None), name


def test_showcase_counters_agree_with_the_timeline():
    seed("--people", "0")

    assert_counters_agree_with_the_timeline(Person.objects.filter(merged_into__isnull=True))


def test_bulk_counters_agree_with_the_timeline_chats_included():
    stats = build_reference_set(people=400, seed=3, chunk_size=150)

    assert stats.conversations and Conversation.objects.count() == stats.conversations
    assert Person.objects.exclude(last_heard_from=None).count() == stats.conversations
    assert_counters_agree_with_the_timeline(Person.objects.all())
    # The profiling the recording path derives from the same events is there too.
    assert Person.objects.filter(attributes__has_key="first_touch").count() == 400


@pytest.mark.parametrize("people", ["0", "300"])  # the showcase's chats, then bulk ones
def test_seeded_chats_have_the_live_message_shape(people):
    from profiles.services.chat import chat_message

    live = chat_message(anonymous_id="dev-live", text="Hello")
    seed("--people", people)

    messages = Activity.objects.filter(kind="chat_message").exclude(pk=live.pk)
    assert messages.exists()
    for message in messages:
        assert set(message.properties) == set(live.properties), message.properties
        assert message.properties["author"] in ("visitor", "agent")
        assert message.conversation_id is not None and message.source == live.source
    visitor_lines = messages.filter(properties__author="visitor")
    assert visitor_lines.exists() and messages.filter(properties__author="agent").exists()


def test_showcase_profiling_is_what_its_events_taught():
    output = seed("--people", "0")

    buyer = Person.objects.get(pk=showcase_ids(output, "purchases_and_email_offers")[0])
    assert buyer.attributes["purchases"]["count"] == 2
    assert buyer.attributes["purchases"]["revenue"] == 188
    assert buyer.attributes["email_offers"] == {"sent": 1, "opened": 1, "clicked": 1}
    assert buyer.attributes["first_touch"]["search_keywords"] == "running shoes"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_bulk_writer_analyzes_what_it_wrote():
    from django.db import connection

    build_reference_set(people=50, seed=9)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL "
            "AND relname = ANY(%s)",
            [["profiles_person", "profiles_activity", "profiles_identity",
              "profiles_persontag", "profiles_conversation", "profiles_historicalperson"]])
        assert len(cursor.fetchall()) == 6


@pytest.mark.django_db
def test_the_bulk_writer_writes_every_field_of_the_model_defaults_included():
    from django.db import connection

    from profiles.demo.writer import TableWriter, constructor
    from profiles.models import Tag

    writer = TableWriter(connection)
    [first] = writer.next_ids([Tag]).values()
    writer.write(Tag, [constructor(Tag)(id=first, name="written")])
    tag = Tag.objects.get(pk=first)
    assert tag.color == Tag._meta.get_field("color").default  # not named: its default
    with pytest.raises(TypeError, match="Tag has no field colour"):
        constructor(Tag)(colour="#fff")
