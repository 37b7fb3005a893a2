"""The dev server at work, over loopback: a real `pacspace-mock serve` process (SQLite file in a
temp dir) driven by one keep-alive HTTP connection.

1. Ingest: batch calls of 100 deltas (1,000 customers, distinct referenceIds, frozen clock), in
   deltas/s. Baseline in the same run: `GET /api/v1/balance/limits` on the same connection (what
   any request costs before its handler; a batch is one request).
2. A clock move that verifies a day's 1,000 deltas and delivers their 1,000 captured
   `delta.verified` events (capture mode, webhookDelivery auto), median over the days.
   Baseline: the same move with nothing due.
3. `--soak SECONDS` (600 for the issue's 10 minutes): a steady mix of batches, single emits,
   derives, clock moves, outbox reads and checkpoints for that long; the server's RSS (from
   /proc) sampled every 10 % of the time, start and end printed with their ratio.

    python bench/bench_serve.py [--days 10] [--soak 0]

Never asserts on time; a failed request stops the script (its timings would mean nothing).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

KEY = "pk_test_benchserve"
B = "/api/v1/balance"
CUSTOMERS = 1000
BATCH = 100
TARGETS = {"ingest": 5000.0, "move": 0.050}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), "--db", db, "--no-access-log"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/_mock/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("serve did not start")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Client:
    def __init__(self, url: str):
        self.http = httpx.Client(base_url=url, headers={"X-Api-Key": KEY}, timeout=120)

    def ok(self, method: str, path: str, **kwargs) -> dict:
        reply = self.http.request(method, path, **kwargs)
        if reply.status_code >= 300:
            raise SystemExit(f"{method} {path} -> {reply.status_code}: {reply.text[:400]}")
        return reply.json()["data"]

    def timed(self, method: str, path: str, **kwargs) -> float:
        t = time.perf_counter()
        self.ok(method, path, **kwargs)
        return time.perf_counter() - t


def day_batches(day: int) -> list[dict]:
    return [{"deltas": [
        {"customerId": f"cust_{g * BATCH + i:04d}", "delta": -(100 + (day * 7 + i) % 900) / 10,
         "reason": f"daily_usage_flush:day{day}", "referenceId": f"usage:cust_{g * BATCH + i:04d}:{day}"}
        for i in range(BATCH)]} for g in range(CUSTOMERS // BATCH)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=10, help="days of 1,000 deltas (ingest and clock moves)")
    parser.add_argument("--soak", type=float, default=0, help="seconds of mixed load after the timings (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pacspace-bench-") as tmp:
        process, url = start_server(str(Path(tmp) / "serve.sqlite"))
        try:
            run(Client(url), process, args, Path(tmp) / "serve.sqlite")
        finally:
            process.terminate()
            process.wait(10)


def run(c: Client, process: subprocess.Popen, args: argparse.Namespace, db: Path) -> None:
    c.ok("POST", "/_mock/clock/freeze", json={"at": "2026-01-01T00:00:00Z"})
    floor = [c.timed("GET", f"{B}/limits") for _ in range(200)][50:]
    batch_seconds, moves, empty_moves = [], [], []
    print(f"serve pid {process.pid}, RSS {rss_mib(process.pid):.0f} MiB after start")
    for day in range(args.days):
        for body in day_batches(day):
            batch_seconds.append(c.timed("POST", f"{B}/delta/batch", json=body))
        t = time.perf_counter()
        moved = c.ok("POST", "/_mock/clock/advance", json={"seconds": 3})  # verifies the day's deltas
        moves.append(time.perf_counter() - t)
        processed = moved["processed"]
        if processed["delivered"] != CUSTOMERS:
            raise SystemExit(f"the move delivered {processed['delivered']} events, not {CUSTOMERS}: {processed}")
        empty_moves.append(c.timed("POST", "/_mock/clock/advance", json={"seconds": 86397}))
    floor_s = statistics.median(floor)
    batch_s = statistics.median(batch_seconds[BATCH // 10:])  # after the first day's warm-up
    rate = BATCH / batch_s
    move_s = statistics.median(moves[1:] or moves)
    empty_s = statistics.median(empty_moves)
    size = db.stat().st_size + (db.with_name(db.name + "-wal").stat().st_size
                                if db.with_name(db.name + "-wal").exists() else 0)
    print(f"per-request floor (GET /limits):        {floor_s * 1000:8.2f} ms")
    print(f"batch of {BATCH}:                         {batch_s * 1000:8.2f} ms median = {rate:,.0f} deltas/s "
          f"({batch_s / floor_s:.1f}x the floor); target >= {TARGETS['ingest']:,.0f}/s: "
          f"{'OK' if rate >= TARGETS['ingest'] else 'BELOW'}")
    print(f"clock move, 1,000 verified + captured:  {move_s * 1000:8.2f} ms median "
          f"(nothing due: {empty_s * 1000:.2f} ms); target < {TARGETS['move'] * 1000:.0f} ms: "
          f"{'OK' if move_s < TARGETS['move'] else 'ABOVE'}")
    print(f"database: {size / 2**20:.1f} MiB for {args.days * CUSTOMERS:,} deltas "
          f"({size / (args.days * CUSTOMERS):,.0f} B per delta, outbox included)")
    if args.soak:
        soak(c, process, args.soak, args.days)


def soak(c: Client, process: subprocess.Popen, seconds: float, first_day: int) -> None:
    """Mixed load for `seconds`; RSS sampled at every tenth of the time."""
    samples = [(0.0, rss_mib(process.pid))]
    start = time.monotonic()
    day, requests = first_day, 0
    next_sample = seconds / 10
    while (elapsed := time.monotonic() - start) < seconds:
        for body in day_batches(day):
            c.ok("POST", f"{B}/delta/batch", json=body)
        for i in range(20):
            c.ok("POST", f"{B}/delta", json={"customerId": f"cust_{i:04d}", "delta": 1, "reason": "soak"})
            c.ok("GET", f"{B}/derive/cust_{i:04d}")
        c.ok("GET", "/_mock/webhooks/outbox", params={"limit": 100})
        c.ok("POST", "/_mock/clock/advance", json={"seconds": 86400})
        if day % 30 == 0:
            c.ok("POST", f"{B}/checkpoint", json={"customerId": "cust_0001"})
        requests += 10 + 40 + 2 + (day % 30 == 0)
        day += 1
        if elapsed >= next_sample:
            samples.append((elapsed, rss_mib(process.pid)))
            next_sample += seconds / 10
    samples.append((time.monotonic() - start, rss_mib(process.pid)))
    print(f"soak: {time.monotonic() - start:.0f} s, {requests:,} requests, {(day - first_day) * CUSTOMERS:,} more deltas")
    print("  RSS (MiB) over time: " + ", ".join(f"{t:.0f}s {m:.0f}" for t, m in samples))
    print(f"  RSS start {samples[1][1]:.0f} MiB (after the first tenth) -> end {samples[-1][1]:.0f} MiB "
          f"({samples[-1][1] / samples[1][1]:.2f}x)")


if __name__ == "__main__":
    main()
