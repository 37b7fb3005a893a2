"""`pacspace-mock serve --workers 2` against `--workers 1`: per-request latency over loopback.

Two serve processes (a SQLite file each, in a temp dir), one keep-alive httpx client each,
sequential requests: GET /api/v1/balance/limits (the pipeline around a trivial handler) and a
single emit. Rounds are interleaved, so a noisy moment slows both servers alike. Target: with
2 workers, each request within 1.5x of one worker (a sequential client gains nothing from a
second worker; it must lose little). The 40 ms delayed-ACK stall on keep-alive connections in
the worker processes (TCP_NODELAY unset on sockets uvicorn hands to its workers) showed here
as ~44 ms against ~0.8 ms.

    python bench/bench_workers.py [--requests 200] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile

import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _procs import Server, free_port, median, p95, pacspace_serve, timed

TARGET = 1.5
KEY = {"X-Api-Key": "pk_test_bench_workers"}


def main(requests: int, rounds: int) -> None:
    refs = itertools.count()
    samples: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = {}
        try:
            for workers in (1, 2):
                port = free_port()
                servers[workers] = Server(f"serve --workers {workers}", pacspace_serve(
                    port, "--db", os.path.join(tmp, f"w{workers}.sqlite"), "--workers", str(workers),
                    "--no-access-log"), port)
            clients = {w: httpx.Client(base_url=s.url, headers=KEY, timeout=30) for w, s in servers.items()}

            def limits(client):
                def call():
                    r = client.get("/api/v1/balance/limits")
                    if r.status_code != 200:
                        raise SystemExit(f"GET /limits -> {r.status_code}: {r.text[:300]}")
                return call

            def emit(client):
                def call():
                    n = next(refs)
                    r = client.post("/api/v1/balance/delta", json={
                        "customerId": f"c{n % 4}", "delta": -1.5, "reason": "api_calls", "referenceId": f"r{n}"})
                    if r.status_code != 201:
                        raise SystemExit(f"emit -> {r.status_code}: {r.text[:300]}")
                return call

            calls = {(w, name): make(c) for w, c in clients.items() for name, make in (("limits", limits), ("emit", emit))}
            for key, call in calls.items():  # warm-up: imports, first workspace, every worker's connection
                timed(call, max(20, requests // 5), [])
                samples[key] = []
            for _ in range(rounds):
                for key, call in calls.items():
                    timed(call, requests, samples[key])
            for client in clients.values():
                client.close()
        finally:
            for server in servers.values():
                server.stop()

    print(f"serve over loopback, one keep-alive httpx client, sequential; {rounds} interleaved rounds x "
          f"{requests} requests (Python {sys.version.split()[0]})\n")
    print(f"{'request':<28}{'workers':>8}{'median':>10}{'p95':>10}{'min':>10}{'vs 1 worker':>14}")
    worst = 0.0
    for name, label in (("limits", "GET /limits"), ("emit", "POST /delta (emit)")):
        one = median(samples[(1, name)])
        for workers in (1, 2):
            s = samples[(workers, name)]
            ratio = median(s) / one
            if workers == 2:
                worst = max(worst, ratio)
            print(f"{label:<28}{workers:>8}{median(s) * 1000:>8.2f} ms{p95(s) * 1000:>7.2f} ms"
                  f"{min(s) * 1000:>7.2f} ms{ratio:>13.2f}x")
    print(f"\n2 workers vs 1, worst row: {worst:.2f}x   target <= {TARGET}x  {'OK' if worst <= TARGET else 'ABOVE'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per subject per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 30 requests x 2 rounds")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds = 30, 2
    main(args.requests, args.rounds)
