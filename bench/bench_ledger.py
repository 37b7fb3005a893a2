"""Big-ledger reads and commits: one customer with 100,000 VERIFIED deltas inside one month.

Measured through the in-process HTTP client (median of several runs) next to baselines taken in
the same run: GET /limits (the per-request floor) and, for the checkpoint, the raw Merkle build
of the same leaves (mockserver.proofs.merkle.build_levels).

    python bench/bench_ledger.py [--deltas 100000] [--runs 7] [--memory]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from decimal import Decimal

from _util import KEY, client, median_seconds, ms, ok

from mockserver.app import create_app
from mockserver.ledger import deltas
from mockserver.ledger.context import Ctx
from mockserver.proofs import merkle
from mockserver.proofs.primitives import from_hex, parse_rfc3339
from mockserver.runtime import Runtime, ServerConfig

B = "/api/v1/balance"
CUSTOMER = "cust_big"
PERIOD = "2026-05"
MONTH_START = "2026-05-01T00:00:00.000Z"
AFTER_VERIFY = "2026-05-20T00:00:00.000Z"
BATCH = 100
STEP_MS = 30_000  # one batch every 30 s: 1,000 batches span ~8 h of 2026-05-01, well inside the month
TARGETS = {"derive": 0.050, "checkpoint": 2.0, "invoice": 0.050}


def insert(rt: Runtime, count: int) -> None:
    """Record `count` deltas through the ledger (plan_items + record_new), one transaction per batch
    of 100 as emit_batch would, minus HTTP and validation, which this benchmark is not about."""
    start = parse_rfc3339(MONTH_START)
    for b in range(count // BATCH):
        items = [{"customerId": CUSTOMER, "delta": Decimal(5) if i % 10 == 0 else Decimal(f"-{1 + i % 9}.25"),
                  "reason": "usage", "referenceId": f"r{b}-{i}", "metadata": None, "adjusts": None}
                 for i in range(BATCH)]
        with rt.store.transaction() as conn:
            ctx = Ctx(rt, conn, rt.resolve_workspace(conn, KEY), start + b * STEP_MS, "http://bench")
            deltas.record_new(ctx, deltas.plan_items(ctx, items))
    with rt.store.transaction() as conn:  # the frozen clock must not read earlier than the last delta
        rt.set_clock(conn, rt.resolve_workspace(conn, KEY), start + (count // BATCH) * STEP_MS, freeze=True)


def leaves(rt: Runtime) -> list[bytes]:
    rows = rt.store.conn.execute(
        "SELECT fingerprint FROM deltas WHERE customer_id = ? AND status = 'VERIFIED' ORDER BY recorded_ms, sequence",
        (CUSTOMER,),
    ).fetchall()
    return [from_hex(r[0]) for r in rows]


def report(rows: list[tuple[str, float, float | None, str, float | None]]) -> None:
    print(f"\n{'measurement':<44}{'median':>12}{'target':>12}{'':>7}  x baseline")
    for name, seconds, target, base_name, base in rows:
        verdict = "" if target is None else ("OK" if seconds < target else "ABOVE")
        target_text = "" if target is None else f"< {target * 1000:.0f} ms"
        ratio = "" if base is None else f"{seconds / base:8.1f}x {base_name}"
        print(f"{name:<44}{ms(seconds):>12}{target_text:>12}{verdict:>7}  {ratio}")


async def main(count: int, runs: int, memory: bool) -> None:
    tmp = tempfile.TemporaryDirectory()
    rt = Runtime(ServerConfig(seed=1), db_path=":memory:" if memory else os.path.join(tmp.name, "ledger.db"))
    http = client(create_app(rt))
    await ok(http.post("/_mock/clock/freeze", json={"at": MONTH_START}))

    t0 = time.perf_counter()
    insert(rt, count)
    t1 = time.perf_counter()
    await ok(http.post("/_mock/clock/set", json={"now": AFTER_VERIFY}))
    t2 = time.perf_counter()
    # from here on a new delta is VERIFIED by the next request, so each checkpoint run can add one
    await ok(http.patch("/_mock/settings", json={"processingDelaySeconds": 0, "verifyDelaySeconds": 0}))
    derived = await ok(http.get(f"{B}/derive/{CUSTOMER}", params={"period": PERIOD}))
    assert derived["deltasCount"] == count, derived["deltasCount"]
    size = "" if memory else f", db {os.path.getsize(os.path.join(tmp.name, 'ledger.db')) / 1e6:.0f} MB"
    print(f"setup: {count:,} deltas in {count // BATCH:,} batches of {BATCH} ({':memory:' if memory else 'SQLite file'})")
    print(f"  insert via the ledger  {t1 - t0:7.2f} s  ({(t1 - t0) / count * 1e6:.0f} µs/delta)")
    print(f"  clock/set -> VERIFIED  {t2 - t1:7.2f} s  ({(t2 - t1) / count * 1e6:.0f} µs/delta){size}")

    deep = count * 9 // 10

    def get(path: str, **params):
        return lambda: ok(http.get(path, params=params))

    floor = await median_seconds(get(f"{B}/limits"), runs * 5, warmup=5)
    derive = await median_seconds(get(f"{B}/derive/{CUSTOMER}", period=PERIOD), runs)
    derive_deep = await median_seconds(get(f"{B}/derive/{CUSTOMER}", period=PERIOD, limit=100, offset=deep), runs)

    fps = leaves(rt)
    build = statistics.median(_timed(lambda: merkle.build_levels(fps)) for _ in range(3))
    commits, sizes = [], []
    for i in range(max(3, runs - 2)):  # each commit is ~1 s: fewer runs than the reads
        # one more VERIFIED delta per run, so every POST /checkpoint builds and stores a new tree
        await ok(http.post(f"{B}/delta", json={"customerId": CUSTOMER, "delta": 1, "reason": "usage",
                                               "referenceId": f"extra-{i}"}))
        await ok(http.get(f"{B}/limits"))  # applies the due verification outside the timed request
        t = time.perf_counter()
        chk = await ok(http.post(f"{B}/checkpoint", json={"customerId": CUSTOMER, "period": PERIOD}))
        commits.append(time.perf_counter() - t)
        assert chk["idempotent"] is False, chk
        sizes.append(chk["treeSize"])
    commit = statistics.median(commits)

    await ok(http.get(f"{B}/invoice-proof/{CUSTOMER}", params={"period": PERIOD, "limit": 1}))  # receipt.generated, once
    proof = await median_seconds(get(f"{B}/invoice-proof/{CUSTOMER}", period=PERIOD, limit=100), runs)
    proof_deep = await median_seconds(get(f"{B}/invoice-proof/{CUSTOMER}", period=PERIOD, limit=100, offset=deep), runs)
    await http.aclose()
    tmp.cleanup()

    print(f"  leaves {len(fps):,}; checkpoint tree sizes {sizes[0]:,}..{sizes[-1]:,} "
          f"(per commit: {', '.join(f'{c:.2f} s' for c in commits)})")
    report([
        ("GET /limits (per-request floor)", floor, None, "", None),
        ("build_levels, raw Merkle build", build, None, "", None),
        ("derive, period, default page (100)", derive, TARGETS["derive"], "floor", floor),
        (f"derive, limit=100 offset={deep:,}", derive_deep, TARGETS["derive"], "floor", floor),
        ("POST /checkpoint, new tree", commit, TARGETS["checkpoint"], "build_levels", build),
        ("invoice-proof, limit=100 offset=0", proof, TARGETS["invoice"], "floor", floor),
        (f"invoice-proof, limit=100 offset={deep:,}", proof_deep, TARGETS["invoice"], "floor", floor),
    ])


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=100_000, help="deltas of the one customer (multiple of 100)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per read measurement")
    parser.add_argument("--memory", action="store_true", help="SQLite :memory: instead of a file in a temp dir")
    args = parser.parse_args()
    asyncio.run(main(args.deltas, args.runs, args.memory))
