"""Scenario replay at scale: a year of daily flushes for 1,000 customers (365,000 deltas sent as
3,650 batch calls of 100) with an all-customer checkpoint at every month-end, generated from a
five-line `generate` step and replayed by the runner against an embedded server over loopback HTTP.

Baselines measured in the same run:
  * generation alone: the same 365,000 deltas built in memory (names from Faker, amounts from the
    keyed draws), no HTTP: the runner's own share of the work;
  * the per-request floor: GET /api/v1/balance/limits over the same loopback connection.

Prints deltas/s, total time, the time per batch call against the floor, and the month-end
checkpoint times. Never asserts on time.

    python bench/bench_replay.py [--customers 1000] [--days 365] [--memory] [--serve]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mockserver.scenarios.client import ScenarioClient
from mockserver.scenarios.generate import plan_usage
from mockserver.scenarios.loader import load_scenario
from mockserver.scenarios.runner import Runner, Target

SCENARIO = """
name: bench-year
start: "2026-01-01T00:00:00Z"
seed: 2026
golden: false
vars: {last: "@LAST@"}
steps:
  - name: year
    generate:
      customers: @CUSTOMERS@
      names: faker
      from: "2026-01-01"
      days: @DAYS@
      usage: {distribution: lognormal, median: 350, sigma: 0.6}
      weekends: 0.35
      spread: 0.9
      checkpoint: month-end
    expect: {data: {failed: 0}}
  - title: the last month-end checkpoints verify
    clock: {advance: 1m}
  - title: one customer's invoice for the last full month agrees with the generator
    invoice-proof: {customerId: "${year.customerIds[0]}", period: "${vars.last}", limit: 1}
    expect: {data: {finalBalance: "${year.byPeriod.@LAST@.@FIRST@}", status: VERIFIED}}
  - customers-summary: {}
    expect: {data: {totalCustomers: @CUSTOMERS@, totalDeltas: "${year.deltas}"}}
"""
GENERATE = {"customers": 0, "names": "faker", "from": "2026-01-01", "days": 0,
            "usage": {"distribution": "lognormal", "median": 350, "sigma": 0.6}, "weekends": 0.35, "spread": 0.9,
            "checkpoint": "month-end"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--memory", action="store_true", help="in-memory SQLite instead of a temp file")
    parser.add_argument("--serve", action="store_true",
                        help="replay against a `pacspace-mock serve` process (as `pacspace-mock replay --base-url`"
                             " does), not an embedded server sharing the runner's process and its GIL")
    args = parser.parse_args()

    # Baseline 1: generation alone (the same plan the step will make: same seed, same stream)
    spec = {**GENERATE, "customers": args.customers, "days": args.days}
    t = time.perf_counter()
    plan = plan_usage(spec, 2026, "bench-year|year")
    flushes = list(plan.flushes())
    generated = sum(len(f.items) for f in flushes)
    gen_seconds = time.perf_counter() - t
    print(f"generation alone: {generated:,} deltas for {len(plan.customers):,} customers x {plan.days} days "
          f"in {gen_seconds:.2f} s ({generated / gen_seconds:,.0f} deltas/s)")
    ends = [f.month_end[0] for f in flushes if f.month_end]
    if not ends:
        raise SystemExit("give at least one full month of days")
    text = (SCENARIO.replace("@CUSTOMERS@", str(args.customers)).replace("@DAYS@", str(args.days))
            .replace("@LAST@", ends[-1]).replace("@FIRST@", plan.customers[0]))
    del flushes

    with tempfile.TemporaryDirectory(prefix="pacspace-bench-") as tmp:
        path = Path(tmp) / "bench-year.yaml"
        path.write_text(text, encoding="utf-8")
        scenario = load_scenario(path)
        db = ":memory:" if args.memory else str(Path(tmp) / "bench.sqlite")
        target = _serve(db) if args.serve else Target.embedded(db)
        try:
            floor = _request_floor(target)
            print(f"request floor (GET /limits over loopback): {floor * 1000:.2f} ms")
            marks: list[tuple[int, float]] = []
            units = [0]

            def progress(n: int) -> None:
                units[0] += n
                marks.append((units[0], time.perf_counter()))

            spent = _timed_sends()
            t = time.perf_counter()
            result = Runner(target, progress=progress, use_golden=False).run(scenario)
            total = time.perf_counter() - t
            size = os.path.getsize(db) / 2**20 if db != ":memory:" else None
        finally:
            target.close()

    if not result.ok:
        for s in result.steps:
            if not s.ok:
                print(f"step {s.step.index} {s.outcome}: {s.messages}", file=sys.stderr)
        raise SystemExit("the replay failed; its timings would mean nothing")
    year = result.steps[0]
    value = year.value
    batches = value["batches"]
    print(f"replayed: {value['deltas']:,} deltas in {batches:,} batch calls, "
          f"{value['checkpoints']['created']:,} checkpoints in {value['checkpoints']['calls']} month-end calls"
          + (f"; database {size:,.0f} MiB" if size else ""))
    print(f"generate step: {year.seconds:.1f} s -> {value['deltas'] / year.seconds:,.0f} deltas/s; "
          f"{year.seconds / batches * 1000:.1f} ms per batch of 100 with its share of clock moves and checkpoints "
          f"({year.seconds / batches / floor:.0f}x the request floor)")
    print(f"generation share of the step: {gen_seconds / year.seconds:.1%}")
    for kind, samples in spent.items():
        if samples:
            print(f"  {kind:<22} {len(samples):6,} x {statistics.mean(samples) * 1000:8.1f} ms = {sum(samples):7.1f} s "
                  f"({sum(samples) / year.seconds:.0%} of the step; median {statistics.median(samples) * 1000:.1f} ms)")
    _months(marks, plan)
    print(f"whole scenario (setup and {len(result.steps)} steps): {total:.1f} s")


KINDS = {"/api/v1/balance/delta/batch": "batch calls", "/_mock/clock/set": "clock moves",
         "/api/v1/balance/checkpoint": "month-end checkpoints"}


def _timed_sends() -> dict[str, list[float]]:
    """Wrap the runner's HTTP send to time each kind of request (the server's share of the replay)."""
    spent: dict[str, list[float]] = {kind: [] for kind in KINDS.values()}
    send = ScenarioClient.send

    def timed(self, method, path, **kwargs):
        started = time.perf_counter()
        try:
            return send(self, method, path, **kwargs)
        finally:
            kind = KINDS.get(path)
            if kind:
                spent[kind].append(time.perf_counter() - started)

    ScenarioClient.send = timed
    return spent


def _serve(db: str) -> Target:
    """`pacspace-mock serve --db DB` on a free port, stopped with the target."""
    import socket
    import subprocess

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--db", db,
                                "--no-access-log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/_mock/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("serve did not start")
        time.sleep(0.05)
    target = Target.remote(url, "mock")
    close = target.close

    def stop() -> None:
        close()
        process.terminate()
        process.wait(30)

    target.close = stop
    return target


def _request_floor(target: Target, runs: int = 200) -> float:
    headers = {"X-Api-Key": "pk_test_bench_floor"}
    for _ in range(20):
        target.http.get(target.base_url + "/api/v1/balance/limits", headers=headers)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        target.http.get(target.base_url + "/api/v1/balance/limits", headers=headers)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def _months(marks: list[tuple[int, float]], plan) -> None:
    """Per-month durations from the progress marks (one unit per day, one per month-end checkpoint)."""
    if not marks:
        return
    flushes = list(plan.flushes(items=False))
    unit, month_start = 0, marks[0][1]
    times = dict(marks)
    lines = []
    for flush in flushes:
        unit += 1
        if flush.month_end:
            unit += 1
            end = times.get(unit)
            ck_start = times.get(unit - 1)
            if end and ck_start:
                lines.append(f"  {flush.month_end[0]}: {end - month_start:6.1f} s (month-end: clock to the 1st and "
                             f"a checkpoint of every customer {(end - ck_start) * 1000:6.0f} ms)")
                month_start = end
    if lines:
        print("per month:")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
