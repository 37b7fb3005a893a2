"""Growth curves: how each operation's time changes as the workspace grows from 10^3 to 10^6 deltas.

Two shapes, each in its own SQLite file in a temp dir, built incrementally (10^3, then more deltas
to reach 10^4, ...) and measured at every size:

* one  -- one customer holds every delta (its month is one big tree);
* many -- 10,000 customers share the deltas round robin (the measured customer holds N/10,000).

Rows are recorded through the ledger (plan_items + record_new, one transaction per batch of 100,
virtual time advancing 30 s per batch), then turned VERIFIED by one clock move; every operation
is then timed through the in-process HTTP client (median of several runs). The per-request floor
(GET /limits) is measured at each size in the same run. Before timing, each size is checked
through the API: derive's count and total equal what was inserted, and the verify route says
verified for a checkpoint root and a batch root.

    python bench/bench_growth.py [--max 1000000] [--shapes one,many] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from _util import KEY, client, ok

from mockserver.app import create_app
from mockserver.ledger import deltas
from mockserver.ledger.context import Ctx
from mockserver.proofs.primitives import format_ts, parse_rfc3339
from mockserver.runtime import Runtime, ServerConfig

B = "/api/v1/balance"
PERIOD = "2026-05"
MONTH_START = parse_rfc3339("2026-05-01T00:00:00.000Z")
BATCH = 100
STEP_MS = 30_000  # one batch every 30 s: 10^6 deltas span ~3.5 days, well inside 2026-05
MANY_CUSTOMERS = 10_000
TARGETS = {"derive": 0.050, "invoice-proof": 0.050}
SHAPES = {"one": "one customer holds every delta", "many": f"{MANY_CUSTOMERS:,} customers share the deltas"}

# (key, label); "floor" first: every other row pays it
OPERATIONS = [
    ("floor", "GET /limits (floor)"),
    ("emit", "emit, one new delta"),
    ("batch", "batch of 100 deltas"),
    ("derive", "derive, period, page 1"),
    ("checkpoint", "POST /checkpoint, new"),
    ("invoice-proof", "invoice-proof, 100 rows"),
    ("invoice-deep", "invoice-proof, 100, 90%"),
    ("verify-chk", "verify checkpoint root"),
    ("verify-delta", "verify a delta's batch"),
]
# rows whose work is the customer's whole month by definition (a tree over every covered delta)
WHOLE_MONTH = {"checkpoint", "verify-chk"}


def amount(g: int) -> Decimal:
    """The amount of the g-th inserted delta (the mix of bench_ledger)."""
    return Decimal(5) if g % 10 == 0 else Decimal(f"-{1 + g % 9}.25")


class Shape:
    def __init__(self, name: str):
        self.name = name
        self.customers = 1 if name == "one" else MANY_CUSTOMERS
        self.measured = "cust_big" if name == "one" else self.customer_of(0)
        self.count, self.total = 0, Decimal(0)  # what the measured customer holds (VERIFIED once moved)

    def customer_of(self, g: int) -> str:
        return "cust_big" if self.name == "one" else f"cust_{g % MANY_CUSTOMERS:05d}"

    def added(self, customer_id: str, value: Decimal) -> None:
        if customer_id == self.measured:
            self.count += 1
            self.total += value


def insert(rt: Runtime, shape: Shape, first: int, count: int, start_ms: int) -> int:
    """Record deltas first..first+count-1 through the ledger, one transaction per batch of 100 as
    emit_batch would, minus HTTP and validation. Returns the virtual time after the last batch."""
    t = start_ms
    for b in range(count // BATCH):
        base = first + b * BATCH
        items = []
        for i in range(BATCH):
            g = base + i
            cid = shape.customer_of(g)
            items.append({"customerId": cid, "delta": amount(g), "reason": "usage", "referenceId": f"r{g}",
                          "metadata": None, "adjusts": None})
            shape.added(cid, amount(g))
        with rt.store.transaction() as conn:
            ctx = Ctx(rt, conn, rt.resolve_workspace(conn, KEY), t, "http://bench")
            deltas.record_new(ctx, deltas.plan_items(ctx, items))
        t += STEP_MS
    return t


def db_bytes(rt: Runtime, path: str) -> int:
    rt.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return os.path.getsize(path)


async def timed(call: Callable[[], Awaitable[object]], runs: int, warmup: int = 1) -> tuple[float, float]:
    """Median wall time and median process CPU time of one awaited call. On a loaded machine the
    wall time includes waiting for a core; the CPU time is what the request itself cost."""
    for _ in range(warmup):
        await call()
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        await call()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return statistics.median(walls), statistics.median(cpus)


async def measure_size(http, shape: Shape, size: int, runs: int, seq: list[int]) -> dict:
    """Every operation at the current size; `seq` numbers the writes (distinct referenceIds)."""
    cid = shape.measured

    def get(path: str, **params):
        return lambda: ok(http.get(path, params=params))

    async def settle():  # applies the due verification of the last write outside any timed request
        await ok(http.get(f"{B}/limits"))

    def next_ref() -> str:
        seq[0] += 1
        return f"w{seq[0]}"

    async def emit():
        await ok(http.post(f"{B}/delta", json={"customerId": cid, "delta": 1, "reason": "usage",
                                               "referenceId": next_ref()}))
        shape.added(cid, Decimal(1))

    batch_customers = [cid] * BATCH if shape.name == "one" else [shape.customer_of(k) for k in range(1, BATCH + 1)]

    async def batch():
        items = [{"customerId": c, "delta": 2, "reason": "usage", "referenceId": next_ref()} for c in batch_customers]
        data = await ok(http.post(f"{B}/delta/batch", json={"deltas": items}))
        assert data["totalRecorded"] == BATCH, data
        for c in batch_customers:
            shape.added(c, Decimal(2))

    out: dict = {}
    out["floor"] = await timed(get(f"{B}/limits"), runs * 5, warmup=5)

    derived = await ok(http.get(f"{B}/derive/{cid}", params={"period": PERIOD}))
    if derived["deltasCount"] != shape.count or Decimal(str(derived["computedBalance"])) != shape.total:
        raise SystemExit(f"{shape.name} at {size:,}: derive says {derived['deltasCount']} deltas totalling "
                         f"{derived['computedBalance']}, inserted {shape.count} totalling {shape.total}")
    out["derive"] = await timed(get(f"{B}/derive/{cid}", period=PERIOD), runs)

    async def commit():  # one more VERIFIED delta first, so that every POST builds and stores a new tree
        await emit()
        await settle()
        w, c = time.perf_counter(), time.process_time()
        chk = await ok(http.post(f"{B}/checkpoint", json={"customerId": cid, "period": PERIOD}))
        spent = time.perf_counter() - w, time.process_time() - c
        assert chk["idempotent"] is False and chk["treeSize"] == shape.count, (chk["treeSize"], shape.count)
        return spent

    commits = [await commit() for _ in range(3)]
    out["checkpoint"] = (statistics.median(w for w, _ in commits), statistics.median(c for _, c in commits))
    await settle()  # the last checkpoint turns VERIFIED

    # the first invoice-proof writes receipt.generated, once: untimed
    first = await ok(http.get(f"{B}/invoice-proof/{cid}", params={"period": PERIOD, "limit": BATCH}))
    tree = first["deltaCount"]
    assert tree == shape.count and first["uncoveredDeltaCount"] == 0, (tree, shape.count)
    out["invoice-proof"] = await timed(get(f"{B}/invoice-proof/{cid}", period=PERIOD, limit=BATCH), runs)
    deep = max(0, tree * 9 // 10 - BATCH)
    out["invoice-deep"] = await timed(get(f"{B}/invoice-proof/{cid}", period=PERIOD, limit=BATCH, offset=deep), runs)

    root = first["proofRoot"]
    w, c = time.perf_counter(), time.process_time()
    checked = await ok(http.get(f"/api/v1/verify/{root}"))
    spent = time.perf_counter() - w, time.process_time() - c
    if not checked["verified"] or checked["summary"]["recordCount"] != tree:
        raise SystemExit(f"verify {root}: {checked['message']}, {checked['summary']['recordCount']} records")
    # a whole-month recomputation: a million leaves take tens of seconds, so that check is the one run
    out["verify-chk"] = await timed(get(f"/api/v1/verify/{root}"), runs, warmup=0) if tree <= 100_000 else spent
    receipt_id = first["deltas"][0]["receiptId"]
    checked = await ok(http.get(f"/api/v1/verify/{receipt_id}"))
    if not checked["verified"] or checked["kind"] != "batch":
        raise SystemExit(f"verify {receipt_id}: {checked['message']}")
    out["verify-delta"] = await timed(get(f"/api/v1/verify/{receipt_id}"), runs)

    # writes last, so that the reads above see the size as built (plus the earlier sizes' writes)
    out["emit"] = await timed(emit, runs)
    out["batch"] = await timed(batch, runs)
    await settle()
    out["_tree"] = tree
    return out


async def run_shape(name: str, sizes: list[int], runs: int, memo: dict) -> None:
    shape = Shape(name)
    tmp = tempfile.TemporaryDirectory()
    path = os.path.join(tmp.name, f"growth-{name}.db")
    rt = Runtime(ServerConfig(seed=1), db_path=path)
    http = client(create_app(rt))
    await ok(http.post("/_mock/clock/freeze", json={"at": format_ts(MONTH_START)}))
    # zero delays: the clock move verifies every inserted batch, and a write is VERIFIED by the next request
    await ok(http.patch("/_mock/settings", json={"processingDelaySeconds": 0, "verifyDelaySeconds": 0}))
    print(f"\n== shape {name}: {SHAPES[name]} ({os.uname().nodename}, load {os.getloadavg()[0]:.1f})", flush=True)
    built, clock, seq = 0, MONTH_START + STEP_MS, [0]
    for size in sizes:
        t0, c0 = time.perf_counter(), time.process_time()
        end = insert(rt, shape, built, size - built, clock)
        t1, c1 = time.perf_counter(), time.process_time()
        await ok(http.post("/_mock/clock/set", json={"now": format_ts(end)}))
        t2, c2 = time.perf_counter(), time.process_time()
        added, built = size - built, size
        per_delta = db_bytes(rt, path) / built
        load = os.getloadavg()[0]
        result = await measure_size(http, shape, size, runs, seq)
        clock = end + STEP_MS  # the frozen clock stands at `end`; the next inserts come after it
        memo.setdefault(name, {})[size] = result
        print(f"  {size:>9,}: +{added:,}: insert {t1 - t0:5.1f} s wall, {(c1 - c0) / added * 1e6:3.0f} µs cpu/delta;"
              f" clock move {t2 - t1:5.1f} s wall, {(c2 - c1) / added * 1e6:3.0f} µs cpu/delta;"
              f" db {per_delta:4.0f} B/delta; measured in {time.perf_counter() - t2:4.0f} s; load {load:.1f}",
              flush=True)
    await http.aclose()
    rt.store.conn.close()
    tmp.cleanup()


def slope(a: float, b: float, na: int, nb: int) -> float:
    """Log-log slope between two points: 0 flat, 1 linear in the number of deltas."""
    return math.log(b / a) / math.log(nb / na) if a > 0 and b > 0 and nb != na else 0.0


def report(name: str, results: dict[int, dict]) -> None:
    sizes = sorted(results)
    base, top = sizes[0], sizes[-1]
    prev = sizes[-2] if len(sizes) > 1 else top
    head = "".join(f"{f'{s:,}':>10}" for s in sizes)
    ratios = "".join(f"{f'x@{s:,}':>10}" for s in sizes[1:])
    print(f"\n{name}: medians in ms at each number of deltas in the workspace; ratio to the {base:,} point")
    for part, title in ((0, "wall"), (1, "cpu")):
        print(f"{title + ' ms':<26}{head}  {ratios}  {'slope':>5}  "
              + ("target (wall, cpu)" if part == 0 else "growth (cpu slope, last decade)"))
        for key, label in OPERATIONS:
            row = [results[s][key][part] for s in sizes]
            cells = "".join(f"{v * 1000:10.2f}" for v in row)
            ratio_cells = "".join(f"{v / row[0]:10.1f}" for v in row[1:])
            last = slope(results[prev][key][part], results[top][key][part], prev, top)
            print(f"{label:<26}{cells}  {ratio_cells}  {last:5.2f}  {verdict(key, part, results, sizes)}")
        print()
    print(f"{'measured tree (leaves)':<26}" + "".join(f"{results[s]['_tree']:10,}" for s in sizes))


def verdict(key: str, part: int, results: dict[int, dict], sizes: list[int]) -> str:
    base, top = sizes[0], sizes[-1]
    prev = sizes[-2] if len(sizes) > 1 else top
    if part == 0:
        target = TARGETS.get(key, TARGETS["invoice-proof"] if key == "invoice-deep" else None)
        if target is None:
            return ""
        wall, cpu = results[top][key]
        return (f"< {target * 1000:.0f} ms at {top:,}: {'OK' if wall < target else 'ABOVE'},"
                f" {'OK' if cpu < target else 'ABOVE'}")
    if key == "floor" or len(sizes) < 2:
        return ""
    last = slope(results[prev][key][1], results[top][key][1], prev, top)
    if key in WHOLE_MONTH:
        trees = results[top]["_tree"] / results[base]["_tree"]
        return f"whole-month work (tree x{trees:,.0f})" + (": linear, as its tree" if last >= 0.8 else "")
    return "LINEAR" if last >= 0.8 else ("grows, sub-linear" if last >= 0.3 else "flat")


async def main(max_size: int, shapes: list[str], runs: int) -> None:
    sizes = [10 ** k for k in range(3, 7) if 10 ** k <= max_size]
    if not sizes:
        raise SystemExit("--max must be at least 1000")
    memo: dict[str, dict[int, dict[str, float]]] = {}
    started = time.perf_counter()
    for name in shapes:
        await run_shape(name, sizes, runs, memo)
    for name in shapes:
        report(f"shape {name} ({SHAPES[name]})", memo[name])
    print(f"\nslope: log-log slope between the last two sizes (0 flat, 1 linear). Writes with zero delays also"
          f" verify the previous write. Total {time.perf_counter() - started:.0f} s; load average now "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=1_000_000, help="largest size (powers of ten from 1,000)")
    parser.add_argument("--shapes", default="one,many", help="comma-separated: one, many")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (writes and reads)")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SHAPES]
    if unknown or not chosen:
        raise SystemExit(f"--shapes: choose from {', '.join(SHAPES)}")
    asyncio.run(main(args.max, chosen, args.runs))
