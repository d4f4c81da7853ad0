"""The "20 segments" phase of bench/ingest_bench.py: the same page views sent with no segment
defined and with 20 realistic ones (docs/segments.md, Real time), in one run.

Realistic means a mix a shop's staff would define: property segments that a page view does
not touch (city, country, status, tags, os), attribute segments it does touch (profiling's
purchases, first touch, products viewed), counters and dates it moves (page_views, visits,
last_seen), and behaviour segments counting page views, named events and purchases in
windows — about two thirds of them read something a page view changes, so each tracked
event re-evaluates about a dozen segments.
"""

from __future__ import annotations

from typing import Any

SEGMENTS: list[tuple[str, dict[str, Any]]] = [
    ("Parisians", {"field": "city", "op": "eq", "value": "Paris"}),
    ("Germany", {"field": "country", "op": "in", "value": ["DE", "Germany"]}),
    ("Customers", {"field": "status", "op": "eq", "value": "user"}),
    ("VIP", {"field": "tags", "op": "contains", "value": "vip"}),
    ("Mobile", {"field": "os", "op": "in", "value": ["iOS", "Android"]}),
    ("Buyers", {"field": "attributes.purchases.count", "op": "gte", "value": 1}),
    ("Big spenders", {"field": "attributes.purchases.revenue", "op": "gte", "value": 500}),
    ("From Google", {"field": "attributes.first_touch.referrer", "op": "contains",
                     "value": "google"}),
    ("Saw sku-7", {"field": "attributes.products_viewed", "op": "contains", "value": "sku-7"}),
    ("Engaged", {"field": "page_views", "op": "gte", "value": 20}),
    ("Returning", {"field": "visits", "op": "gte", "value": 3}),
    ("Active this week", {"field": "last_seen", "op": "within_days", "value": 7}),
    ("Lapsed", {"field": "last_seen", "op": "older_than_days", "value": 30}),
    ("Sale browsers", {"kind": "page_view", "where": {"category": "sale"},
                       "count": {"op": "gte", "value": 3}, "within_days": 30}),
    ("Heavy browsers today", {"kind": "page_view", "count": {"op": "gte", "value": 10},
                              "within_days": 1}),
    ("Cart abandoners", {"all": [
        {"kind": "event", "where": {"name": "Added to cart"}, "within_days": 7},
        {"kind": "purchase", "count": {"op": "eq", "value": 0}, "within_days": 7}]}),
    ("Newsletter readers", {"kind": "email_opened", "count": {"op": "gte", "value": 2},
                            "within_days": 90}),
    ("Leads at companies", {"all": [{"field": "company", "op": "exists"},
                                    {"field": "page_views", "op": "gte", "value": 5}]}),
    ("Paris regulars", {"all": [
        {"field": "city", "op": "eq", "value": "Paris"},
        {"any": [{"kind": "page_view", "count": {"op": "gte", "value": 5}, "within_days": 7},
                 {"field": "tags", "op": "contains", "value": "vip"}]}]}),
    ("Browsed, never bought", {"all": [
        {"kind": "page_view", "count": {"op": "gte", "value": 3}},
        {"not": {"field": "attributes.purchases.count", "op": "gte", "value": 1}}]}),
]


def define() -> None:
    """Create the 20 segments (each computes its members, as staff saving one would)."""
    from segments.services import create_segment

    for name, definition in SEGMENTS:
        create_segment(name=f"Bench: {name}", definition=definition)


def remove() -> None:
    from segments.models import Segment
    from segments.services import delete_segment

    for segment in Segment.objects.filter(name__startswith="Bench: "):
        delete_segment(segment=segment)


def measure(meter: Any, port: int, key: str, devices: list[str], clients: int,
            singles: int, batches: int, rounds: int) -> dict[str, dict[str, Any]]:
    """Single events and 100-event batches without segments and with the 20, in `rounds`
    rounds of without, with, with, without (ABBA: a machine speeding up or slowing down
    during a round weighs on both alike; each round gives a ratio, and the median of them is
    the figure, so a burst of other work spoils one round, not the result). Returns kind ->
    {"without", "with"} Phases. Fresh message IDs: a resent event would be recognised and
    cost less."""
    import json

    from django.db import connection

    from bench.ingest_bench import Phase, post_all, track_body

    remove()
    single = [json.dumps(track_body(devices[n % len(devices)], n)).encode()
              for n in range(singles)]
    batch = [json.dumps({"batch": [
        {"type": "track", **track_body(devices[(b * 20 + n % 20) % len(devices)], n)}
        for n in range(100)]}).encode() for b in range(batches)]
    phases = {kind: {"without": Phase(), "with": Phase()} for kind in ("single", "batch")}
    part_s, part_b = -(-singles // (4 * rounds)), -(-batches // (4 * rounds))
    for index, setup in enumerate(["without", "with", "with", "without"] * rounds):
        if index % 4 == 1:  # the segments appear, then go: every server process notices
            define()
            # Statistics of the tables as they now are, as autovacuum keeps them on a server
            # (it is off on the development machine). Without any, PostgreSQL takes a
            # person's capped counts for a handful of rows and reads the whole history inside
            # the window (a cost growing round after round); with the memberships analyzed
            # while there were none, it scans every membership. Not measured.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        elif index % 4 == 3:
            remove()
        # Not measured: each server connection meets the new setup (and prepares its
        # statements) first.
        warm = [json.dumps(track_body(devices[n % len(devices)], n)).encode()
                for n in range(8 * clients)]
        post_all(port, "/api/v1/track", warm, key, clients)
        warm = [json.dumps({"batch": [
            {"type": "track", **track_body(devices[(b * 20 + n) % len(devices)], n)}
            for n in range(20)]}).encode() for b in range(4 * clients)]
        post_all(port, "/api/v1/batch", warm, key, clients)
        phases["single"][setup].add(meter, port, "/api/v1/track",
                                    single[index * part_s:(index + 1) * part_s],
                                    key, clients, index // 4)
        phases["batch"][setup].add(meter, port, "/api/v1/batch",
                                   batch[index * part_b:(index + 1) * part_b],
                                   key, clients, index // 4)
    return phases


def report(phases: dict[str, dict[str, Any]], *, front: str) -> None:
    from bench.ingest_bench import cpu_line, median_ratio

    print(f"20 segments defined (bench/ingest_segments.py), page views through {front}:")
    for kind, per_request in (("single", 1), ("batch", 100)):
        rates = {}
        for setup in ("without", "with"):
            phase = phases[kind][setup]
            events = phase.items * per_request
            rates[setup] = events / phase.seconds
            print(f"  {kind:<6} {setup:<7} segments: {events:>6} events in "
                  f"{phase.seconds:6.2f} s = {rates[setup]:8.0f} events/s (errors "
                  f"{phase.errors})")
            print("  " + cpu_line(tuple(0.0 for _ in phase.cpu), tuple(phase.cpu), events))
        ratio = median_ratio(phases[kind]["with"], phases[kind]["without"])
        print(f"  {kind}: with / without = {ratio}   target ≥ 0.85")
