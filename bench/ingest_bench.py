"""Ingestion benchmark: the website API through the production HTTP stack on PostgreSQL.

    .venv/bin/python bench/ingest_bench.py [--http-server granian|gunicorn] [--workers 2]
                                           [--threads 4] [--clients 8]

What it does (about a minute on 2 cores):
1. Recreates its own database (default `onefold_bench_api`) and migrates it.
2. Starts the production setup on `crm.wsgi` with DEBUG off, as README's Operations section
   serves it: granian behind Debian's nginx (deploy/nginx/onefold.conf, deploy/stack.py). Or,
   with `--http-server gunicorn`, gunicorn's gthread workers bare, to compare servers.
3. Single-event `POST /api/v1/track` from concurrent keep-alive clients (a raw-socket client,
   so the load generator takes ~0.1 ms of CPU per request), then `POST /api/v1/batch` with 100
   events per request; prints events/s next to a `bulk_create` floor: the same number of
   Activity rows written by one bulk_create in the same run. Each phase runs both through
   nginx and on granian bare, in `--rounds` rounds (5) of bare, nginx, nginx, bare (a part of
   the events each time, so a machine speeding up or slowing down during a round weighs on
   both alike), and prints nginx/bare as the median of the rounds' ratios, with each round's:
   the front proxy's target is ≥ 0.90 of the bare server. Each phase also prints the CPU it
   cost per event (web server, of which nginx, database backends, load generator, from
   /proc), which other load on a shared machine does not change much, and the rate that
   implies on 2 idle cores.
4. The Segment tracking API (`POST /v1/batch`, api/segment/) next to the native `/api/v1/batch`
   in the same run, on the server clients use (nginx): 100 page views per request built by
   `segment-analytics-python` itself (its messages as its consumer sends them: Basic auth,
   `writeKey` and `sentAt` in the body) against the same page views as native track events,
   in rounds of native, Segment, Segment, native; prints events/s and CPU per event of each
   and Segment/native as the median of the rounds' ratios (target ≥ 0.90: a translation, not
   a second recording path).
5. The 20-segments phase (bench/ingest_segments.py, issue 15): single events and batches
   with no segment defined and with 20 realistic ones, in rounds of without, with, with,
   without; prints events/s of each and with/without as the median of the rounds' ratios
   (target ≥ 0.85 for both).
   `--segments-only` runs this phase alone.
6. identify that merges a 50-activity anonymous profile into an existing user: p50/p95 over
   HTTP and in-process, next to a naive baseline (the same merge done with a per-row save()).
   Each database connection first identifies a few times unmeasured: PostgreSQL plans a
   prepared statement afresh on its first five runs per connection, and a running server's
   connections are long past that.

Targets (docs/rules.md, Scale, issue 4): ≥ 1,000 events/s single, ≥ 10,000 events/s batched,
identify p95 ≤ 10 ms; the Segment API's batch ≥ 0.90 of the native batch (issue 16).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import ingest_segments  # noqa: E402
from deploy.stack import free_port, server_environment, start_stack  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="onefold_bench_api")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--http-server", choices=["granian", "gunicorn"], default="granian")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--single-events", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--identifies", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds of each compared pair; the median ratio counts")
    parser.add_argument("--segment-singles", type=int, default=16000,
                        help="single events of the 20-segments phase (a phase of a round "
                             "lasts ~1 s at 16,000: shorter ones swung 0.6-1.2 on a busy "
                             "machine)")
    parser.add_argument("--segment-batches", type=int, default=2000,
                        help="100-event batches of the 20-segments phase")
    parser.add_argument("--segments-only", action="store_true",
                        help="run the 20-segments phase alone (bench/ingest_segments.py)")
    return parser.parse_args()


def recreate_database(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_gunicorn(args: argparse.Namespace, database_url: str) -> subprocess.Popen:
    """gunicorn bare, to compare HTTP servers (the production setup is deploy/stack.py)."""
    # A port of our own: answering on a port someone else's server holds would measure theirs.
    args.port = args.port or free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "600",  # persistent connections, as in production
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    bin_dir = Path(sys.executable).parent
    command = [
        str(bin_dir / "gunicorn"), "crm.wsgi:application",
        "--bind", f"127.0.0.1:{args.port}", "--workers", str(args.workers),
        "--worker-class", "gthread", "--threads", str(args.threads),
        "--keep-alive", "30", "--log-level", "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            conn = HTTPConnection("127.0.0.1", args.port, timeout=1)
            conn.request("GET", "/onefold.js")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


class Client:
    """A minimal HTTP/1.1 keep-alive client on a raw socket.

    The load generator shares the 2 cores with the server: http.client spends ~0.3 ms of CPU
    per request parsing headers in Python, a third of the budget being measured, so requests are
    pre-encoded and responses read by Content-Length only.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def exchange(self, request: bytes) -> int:
        """Send one request, read the whole response; returns the status code."""
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return status

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def encode_request(port: int, path: str, body: bytes | None, key: str) -> bytes:
    if body is None:  # the no-database baseline: GET the snippet
        return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    # The Segment tracking API's paths (/v1/…) as Segment's libraries send: Basic auth.
    auth = (f"Basic {base64.b64encode(f'{key}:'.encode()).decode()}" if path.startswith("/v1/")
            else f"Bearer {key}")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def post_all(port: int, path: str, bodies: list[bytes | None], key: str, clients: int) -> tuple[
    float, list[float], int
]:
    """Send every body from `clients` keep-alive connections; (seconds, latencies, errors)."""
    requests = [encode_request(port, path, body, key) for body in bodies]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(share: list[bytes]) -> None:
        conn = Client(port)
        mine = []
        failed = 0
        for request in share:
            started = time.perf_counter()
            status = conn.exchange(request)
            mine.append(time.perf_counter() - started)
            failed += status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(requests[i::clients],)) for i in
               range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, errors[0]


def _proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except OSError:
        pass
    return found


class CpuMeter:
    """CPU seconds spent by the web server, its database backends and the load generator.

    Other work on a shared machine slows the wall clock but not these counts: CPU per event,
    with 2 cores, says what throughput this stack can reach on a quiet machine.
    """

    def __init__(self, servers: list[subprocess.Popen], database: str) -> None:
        self.servers, self.database = servers, database

    def _backends(self) -> list[int]:
        import psycopg

        with psycopg.connect(f"{self.database}", autocommit=True) as conn:
            return [pid for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )]

    def read(self) -> tuple[float, float, float, float]:
        """(web seconds: the server and nginx, database seconds, this process's seconds,
        nginx's part of the web seconds: the servers after the first, the front proxy)."""
        web = [sum(_proc_cpu(pid) for pid in (server.pid, *_children(server.pid)))
               for server in self.servers]
        database = sum(_proc_cpu(pid) for pid in self._backends())
        return sum(web), database, time.process_time(), sum(web[1:])


def cpu_line(before: tuple[float, ...], after: tuple[float, ...], events: int) -> str:
    server, database, client, proxy = (1000 * (b - a) / events for a, b in zip(before, after,
                                                                                 strict=True))
    total = server + database + client
    return (f"  CPU per event: web {server:.3f} ms (of which nginx {proxy:.3f}) + database "
            f"{database:.3f} ms + load generator {client:.3f} ms = {total:.3f} ms -> "
            f"{2000 / total:,.0f} events/s on 2 idle cores")


def track_body(device: str, n: int) -> dict:
    page = n % 50
    return {"anonymous_id": device, "kind": "page_view", "message_id": uuid.uuid4().hex,
            "properties": {"url": f"https://shop.example/p/{page}", "path": f"/p/{page}",
                           "referrer": "https://www.google.com/?q=otter", "product": f"sku-{page}"}}


def batch_bodies(devices: list[str], batches: int, key: str) -> tuple[list[bytes], list[bytes]]:
    """The same page views as native batches and as Segment batches: 20 people, 5 events each
    per request. The Segment ones are built by segment-analytics-python itself (`send=False`
    returns each message as its consumer would queue it), in the body its consumer posts."""
    from segment.analytics.client import Client
    from segment.analytics.request import DatetimeSerializer

    library = Client(key, send=False, sync_mode=True)
    native, segment = [], []
    for b in range(batches):
        group = devices[(b * 20) % len(devices):][:20]
        events = [track_body(group[n % len(group)], n) for n in range(100)]
        native.append(json.dumps({"batch": [{"type": "track", **event} for event in events]})
                      .encode())
        messages = [library.page(anonymous_id=event["anonymous_id"],
                                 properties=event["properties"])[1] for event in events]
        sent_at = dt.datetime.now(dt.UTC).isoformat()
        segment.append(json.dumps({"batch": messages, "sentAt": sent_at, "writeKey": key},
                                  cls=DatetimeSerializer).encode())
    return native, segment


def bulk_create_floor(rows: int) -> float:
    """Seconds for bulk_create of `rows` activities (the cheapest way to write the same rows)."""
    from django.db import transaction
    from django.utils import timezone

    from profiles.models import Activity, Person

    people = list(Person.objects.values_list("pk", flat=True)[:500])
    now = timezone.now()
    objects = [
        Activity(person_id=people[i % len(people)], original_person_id=people[i % len(people)],
                 kind="page_view", occurred_at=now, recorded_at=now,
                 message_id=uuid.uuid4().hex, properties=track_body("x", i)["properties"])
        for i in range(rows)
    ]
    started = time.perf_counter()
    with transaction.atomic():
        Activity.objects.bulk_create(objects, batch_size=1000)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def make_merge_pairs(count: int, tag: str) -> list[tuple[str, str]]:
    """`count` (device, user) pairs: an anonymous profile with 50 activities, an existing user."""
    from django.utils import timezone

    from profiles.models import Activity, Identity
    from profiles.services.people import create_person

    pairs = []
    now = timezone.now()
    for i in range(count):
        device, user_id = f"{tag}-dev-{i}", f"{tag}-user-{i}"
        create_person(user_id=user_id, email=f"{user_id}@example.com")  # with its identity
        anon = create_person(page_views=50, visits=3, first_seen=now, last_seen=now)
        Identity.objects.create(person=anon, original_person=anon, kind="anonymous_id",
                                value=device)
        Activity.objects.bulk_create(
            Activity(person=anon, original_person=anon, kind="page_view", occurred_at=now,
                     properties={"path": f"/p/{n}"}) for n in range(50)
        )
        pairs.append((device, user_id))
    return pairs


def naive_identify(device: str, user_id: str) -> None:
    """Baseline: the same stitch done the generic way, one save() per moved row."""
    from django.db import transaction
    from django.utils import timezone

    from profiles.models import Person

    with transaction.atomic():
        user = Person.objects.select_for_update().get(user_id=user_id)
        anon = Person.objects.select_for_update().get(identities__value=device)
        for activity in anon.activities.all():
            activity.person = user
            activity.save()
        for identity in anon.identities.all():
            identity.person = user
            identity.save()
        user.page_views += anon.page_views
        user.save()
        anon.merged_into, anon.merged_at = user, timezone.now()
        anon.save()


def timed(calls: list, run) -> list[float]:
    samples = []
    for call in calls:
        started = time.perf_counter()
        run(*call)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    args = parse_args()
    database_url = recreate_database(args.server, args.database)
    setup_django(database_url)
    from profiles.models import Activity, MergeRecord, Site
    from profiles.services import identify
    from profiles.services.sites import issue_site_key

    site = Site.objects.create(name="Bench", rate_limit_per_minute=0,
                               rate_limit_per_client_per_minute=0,
                               require_identity_verification=False)
    key = issue_site_key(site=site)
    devices = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(args.devices)]
    # The single-event phase's parts (four per round, see measure), each over its own part of
    # the devices, a fifth of which are warmed first: each part meets as many devices for the
    # first time (the dearer first contact) as the others.
    groups = [devices[k::4 * args.rounds] for k in range(4 * args.rounds)]
    part = args.single_events // len(groups)
    single = [json.dumps(track_body(group[n % len(group)], n)).encode()
              for group in groups for n in range(part)]
    warm = [json.dumps(track_body(device, n)).encode()
            for group in groups for n, device in enumerate(group[: len(group) // 5])]
    batches = []
    for b in range(args.batches):
        group = devices[(b * 20) % len(devices):][:20]  # 20 people, 5 events each
        events = [{"type": "track", **track_body(group[n % len(group)], n)} for n in range(100)]
        batches.append(json.dumps({"batch": events}).encode())
    native_batches, segment_batches = batch_bodies(devices, args.batches, key)
    merge_http = make_merge_pairs(args.identifies, "http")
    # Not measured: PostgreSQL plans a prepared statement afresh for its first five runs on a
    # connection, so every server connection identifies a few times first, as the long-lived
    # connections of a running server (CONN_MAX_AGE) have.
    merge_warm = make_merge_pairs(8 * args.workers * args.threads, "warm")
    merge_local = make_merge_pairs(args.identifies + 8, "local")
    merge_naive = make_merge_pairs(args.identifies // 2, "naive")

    load_before = os.getloadavg()
    if args.http_server == "granian":
        stack = start_stack(env=server_environment(DATABASE_URL=database_url),
                            workers=args.workers, threads=args.threads)
        servers, stop = stack.processes, stack.stop
        ports = {"bare": stack.app_port, "nginx": stack.proxy_port}
    else:
        gunicorn = start_gunicorn(args, database_url)
        servers = [gunicorn]
        ports = {"bare": args.port}

        def stop() -> None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
    front = ports.get("nginx", ports["bare"])  # where clients go in production
    if args.segments_only:
        try:
            post_all(front, "/api/v1/track", warm, key, args.clients)
            with_segments = ingest_segments.measure(
                CpuMeter(servers, database_url), front, key, devices, args.clients,
                args.segment_singles, args.segment_batches, args.rounds)
        finally:
            stop()
        ingest_segments.report(with_segments, front="nginx" if "nginx" in ports else "bare")
        return
    try:
        meter = CpuMeter(servers, database_url)
        ceiling = measure(meter, ports, "/onefold.js", [None] * 3000, key, args.clients, 1)
        for port in ports.values():  # each server connection warmed, a fifth of the devices seen
            post_all(port, "/api/v1/track", warm, key, args.clients)
        singles = measure(meter, ports, "/api/v1/track", single, key, args.clients,
                          args.rounds)
        batched = measure(meter, ports, "/api/v1/batch", batches, key, args.clients,
                          args.rounds)
        segment = measure_apis(meter, front, {"native": ("/api/v1/batch", native_batches),
                                              "segment": ("/v1/batch", segment_batches)},
                               key, args.clients, args.rounds)
        warm_identifies = [json.dumps({"anonymous_id": d, "user_id": u}).encode()
                           for d, u in merge_warm]
        post_all(front, "/api/v1/identify", warm_identifies, key, args.clients)
        identify_bodies = [json.dumps({"anonymous_id": d, "user_id": u}).encode()
                           for d, u in merge_http]
        _, http_lat, http_err = post_all(front, "/api/v1/identify", identify_bodies, key, 1)
        with_segments = ingest_segments.measure(meter, front, key, devices, args.clients,
                                                args.segment_singles, args.segment_batches,
                                                args.rounds)
    finally:
        stop()

    for device, user_id in merge_local[:8]:  # warm this process's connection the same way
        identify(anonymous_id=device, user_id=user_id)
    local_lat = timed(merge_local[8:], lambda d, u: identify(anonymous_id=d, user_id=u))
    naive_lat = timed(merge_naive, naive_identify)
    floor_single = len(single) / bulk_create_floor(len(single))
    floor_batch = len(batches) * 100 / bulk_create_floor(len(batches) * 100)

    merges = MergeRecord.objects.filter(reason="identify").count()
    setup = ("granian behind nginx (deploy/nginx/onefold.conf), and granian bare"
             if "nginx" in ports else "gunicorn bare")
    print(f"\nOnefold ingestion benchmark — {setup}, {args.workers} workers × "
          f"{args.threads} threads, {args.clients} keep-alive clients, PostgreSQL, "
          f"{os.cpu_count()} cores")
    # Other work on the machine skews every figure: show how busy it was.
    print(f"load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}; after: {os.getloadavg()[0]:.2f}")
    for name, phase in ceiling.items():
        print(f"HTTP stack ceiling  ({name:<5}): GET /onefold.js (no database) "
              f"{phase.rate:8.0f} requests/s")
    report("single-event track", singles, unit="events", target="≥ 1,000", floor=floor_single)
    report("batch (100/request)", batched, unit="events", target="≥ 10,000",
           floor=floor_batch, per_request=100)
    report_apis(segment, front="nginx" if "nginx" in ports else "bare")
    ingest_segments.report(with_segments, front="nginx" if "nginx" in ports else "bare")
    print(f"identify merging a 50-activity profile ({merges} merges journaled):")
    print(f"  over HTTP        : p50 {percentile(http_lat, 50):5.1f} ms  p95 "
          f"{percentile(http_lat, 95):5.1f} ms  (errors {http_err})   target p95 ≤ 10 ms")
    print(f"  in-process       : p50 {percentile(local_lat, 50):5.1f} ms  p95 "
          f"{percentile(local_lat, 95):5.1f} ms")
    print(f"  naive per-row    : p50 {percentile(naive_lat, 50):5.1f} ms  p95 "
          f"{percentile(naive_lat, 95):5.1f} ms   naive/identify p95 = "
          f"{percentile(naive_lat, 95) / percentile(local_lat, 95):.1f}x")
    recorded = Activity.objects.filter(site=site).count()
    print(f"activities recorded through the API: {recorded}")


@dataclass
class Phase:
    """One setup's share of a measured phase, summed over its runs."""

    items: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])
    rounds: list[tuple[int, float]] = field(default_factory=list)  # (items, seconds) each

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    def round_rates(self) -> list[float]:
        return [items / seconds for items, seconds in self.rounds]

    def add(self, meter: CpuMeter, port: int, path: str, share: list, key: str,
            clients: int, round_: int = 0) -> None:
        """Send `share` and add its time, latencies, errors and CPU to this phase."""
        before = meter.read()
        seconds, latencies, errors = post_all(port, path, share, key, clients)
        after = meter.read()
        self.items += len(share)
        self.seconds += seconds
        if len(self.rounds) <= round_:
            self.rounds.append((0, 0.0))
        items, spent = self.rounds[round_]
        self.rounds[round_] = (items + len(share), spent + seconds)
        self.latencies += latencies
        self.errors += errors
        self.cpu = [total + b - a for total, a, b in zip(self.cpu, before, after, strict=True)]


def measure(meter: CpuMeter, ports: dict[str, int], path: str, bodies: list, key: str,
            clients: int, rounds: int) -> dict[str, Phase]:
    """Send the bodies in `rounds` rounds of four parts, bare, nginx, nginx, bare (ABBA: a
    machine whose speed drifts during a round favours neither); with one setup, all to it.
    Each round gives a ratio; the median of them is the figure (a burst of other work on a
    shared machine spoils one round, not the result)."""
    order = ["bare", "nginx", "nginx", "bare"] if "nginx" in ports else ["bare"] * 4
    part = -(-len(bodies) // (4 * rounds))
    phases = {name: Phase() for name in ports}
    for index, name in enumerate(order * rounds):
        share = bodies[index * part:(index + 1) * part]
        phases[name].add(meter, ports[name], path, share, key, clients, index // 4)
    return phases


def measure_apis(meter: CpuMeter, port: int, apis: dict[str, tuple[str, list]], key: str,
                 clients: int, rounds: int) -> dict[str, Phase]:
    """Each API's batches in `rounds` rounds of native, Segment, Segment, native, on one
    server (ABBA, as `measure`; the same page views in both APIs' parts of a round)."""
    first, second = list(apis)
    phases = {name: Phase() for name in apis}
    for index, name in enumerate([first, second, second, first] * rounds):
        path, bodies = apis[name]
        part = -(-len(bodies) // (2 * rounds))
        number = 2 * (index // 4) + (index % 4 > 1)  # this API's part number
        share = bodies[number * part:(number + 1) * part]
        phases[name].add(meter, port, path, share, key, clients, index // 4)
    return phases


def median_ratio(phase: Phase, baseline: Phase) -> str:
    """`phase`'s rate over `baseline`'s: the median of the rounds', and each round's."""
    ratios = [a / b for a, b in zip(phase.round_rates(), baseline.round_rates(), strict=True)]
    each = " ".join(f"{ratio:.2f}" for ratio in ratios)
    return f"{statistics.median(ratios):.2f} (median of {len(ratios)} rounds: {each})"


def report_apis(phases: dict[str, Phase], *, front: str) -> None:
    names = {"native": "/api/v1/batch", "segment": "/v1/batch (Segment)"}
    for name, phase in phases.items():
        events = phase.items * 100
        print(f"{names[name]:<20} ({front}): {events:>6} events in {phase.seconds:6.2f} s = "
              f"{events / phase.seconds:8.0f} events/s (p50 {percentile(phase.latencies, 50):.1f}"
              f" ms, p95 {percentile(phase.latencies, 95):.1f} ms per request, errors "
              f"{phase.errors})")
        print(cpu_line((0.0, 0.0, 0.0, 0.0), tuple(phase.cpu), events))
    ratio = median_ratio(phases["segment"], phases["native"])
    print(f"  Segment / native = {ratio}   target ≥ 0.90")


def report(title: str, phases: dict[str, Phase], *, unit: str, target: str, floor: float,
           per_request: int = 1) -> None:
    for name, phase in phases.items():
        events = phase.items * per_request
        rate = events / phase.seconds
        print(f"{title} ({name:<5}): {events:>6} {unit} in {phase.seconds:6.2f} s = "
              f"{rate:8.0f} {unit}/s (p50 {percentile(phase.latencies, 50):.1f} ms, p95 "
              f"{percentile(phase.latencies, 95):.1f} ms per request, errors "
              f"{phase.errors})   target {target}")
        print(cpu_line((0.0, 0.0, 0.0, 0.0), tuple(phase.cpu), events))
    front = "nginx" if "nginx" in phases else "bare"
    print(f"  bulk_create floor: {floor:8.0f} rows/s   API ({front})/floor = "
          f"{_rate(phases, per_request) / floor:.2f}")
    if "nginx" in phases:
        ratio = median_ratio(phases["nginx"], phases["bare"])
        print(f"  through nginx / bare = {ratio}   target ≥ 0.90")


def _rate(phases: dict[str, Phase], per_request: int) -> float:
    phase = phases.get("nginx") or phases["bare"]
    return phase.items * per_request / phase.seconds


if __name__ == "__main__":
    main()
