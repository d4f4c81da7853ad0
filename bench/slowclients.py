"""Slow-client benchmark: normal requests' latency while hundreds of clients hold connections.

    .venv/bin/python bench/slowclients.py [--slow 500] [--requests 200] [--bare-slow 16]

What it does (under a minute):
1. Recreates its own database (default `onefold_bench_slow`), migrates it, creates a site.
2. Starts the production setup (README "Operations"): granian 2 workers × 4 threads behind
   Debian's nginx with deploy/nginx/onefold.conf (deploy/stack.py).
3. Measures `--requests` normal requests (half `POST /api/v1/track`, half `GET /admin/login/`)
   with nothing else going on: the baseline.
4. Opens `--slow` connections through nginx, half of them sending the headers and half the
   declared body of a track and then nothing, half connected and idle, and measures the same
   normal requests again while they are held.
5. For comparison, does the same against granian bare (no nginx) with `--bare-slow` slow
   clients: each holds one of its 8 threads until granian gives up on it, so normal requests
   time out (5 s client timeout) — what the front proxy is for.
Prints p50/p95/max latency and errors for each, and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_bench import recreate_database, setup_django  # noqa: E402

from deploy.stack import server_environment, start_stack  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="onefold_bench_slow")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--slow", type=int, default=500)
    parser.add_argument("--bare-slow", type=int, default=16)
    parser.add_argument("--requests", type=int, default=200)
    return parser.parse_args()


def hold(port: int, count: int, key: str) -> list[socket.socket]:
    """`count` connections: every other one sends headers and half a body, the rest idle."""
    held = []
    for n in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        if n % 2 == 0:
            conn.sendall(
                b"POST /api/v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nAuthorization: Bearer " + key.encode()
                + b"\r\nContent-Length: 80\r\n\r\n{\"anonymous_id\": \"slow"
            )
        held.append(conn)
    time.sleep(0.5)  # let the server take them all in
    return held


def normal_requests(port: int, count: int, key: str) -> tuple[list[float], int]:
    """(latencies in ms, errors) of `count` requests, each on a fresh connection."""
    latencies, errors = [], 0
    for n in range(count):
        started = time.perf_counter()
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=5)
            if n % 2:
                conn.request("GET", "/admin/login/")
            else:
                conn.request("POST", "/api/v1/track",
                             body=f'{{"anonymous_id": "normal-{n}", "kind": "page_view"}}',
                             headers={"Content-Type": "application/json",
                                      "Authorization": f"Bearer {key}"})
            response = conn.getresponse()
            response.read()
            conn.close()
            errors += response.status != 200
        except OSError:
            errors += 1
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies, errors


def line(label: str, latencies: list[float], errors: int) -> str:
    p95 = statistics.quantiles(latencies, n=100, method="inclusive")[94]
    return (f"{label:<46} p50 {statistics.median(latencies):7.1f} ms  p95 {p95:7.1f} ms  "
            f"max {max(latencies):7.1f} ms  errors {errors}/{len(latencies)}")


def main() -> None:
    args = parse_args()
    database_url = recreate_database(args.server, args.database)
    setup_django(database_url)
    from profiles.models import Site
    from profiles.services.sites import issue_site_key

    site = Site.objects.create(name="Slow clients", require_identity_verification=False,
                               rate_limit_per_minute=0, rate_limit_per_client_per_minute=0)
    key = issue_site_key(site=site)
    load_before = os.getloadavg()
    stack = start_stack(env=server_environment(DATABASE_URL=database_url,
                                               CACHE_URL=args.cache_url))
    try:
        normal_requests(stack.proxy_port, 20, key)  # warm the server's connections
        results = [line("through nginx, nothing else", *normal_requests(
            stack.proxy_port, args.requests, key))]
        held = hold(stack.proxy_port, args.slow, key)
        results.append(line(f"through nginx, {args.slow} slow/idle clients held",
                            *normal_requests(stack.proxy_port, args.requests, key)))
        open_now = sum(1 for conn in held if conn.fileno() >= 0)
        for conn in held:
            conn.close()
        held = hold(stack.app_port, args.bare_slow, key)
        results.append(line(f"granian bare, {args.bare_slow} slow/idle clients held",
                            *normal_requests(stack.app_port, min(args.requests, 10), key)))
        for conn in held:
            conn.close()
    finally:
        stack.stop()
    print("\nOnefold slow-client benchmark — granian 2 workers × 4 threads behind nginx "
          f"(deploy/nginx/onefold.conf), PostgreSQL, {os.cpu_count()} cores")
    print(f"load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}; after: {os.getloadavg()[0]:.2f}")
    print(f"normal requests: half POST /api/v1/track, half GET /admin/login/, "
          f"each on a new connection; {open_now} slow connections were open meanwhile")
    for result in results:
        print(result)


if __name__ == "__main__":
    main()
