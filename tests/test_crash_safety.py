"""Crash safety: `kill -9` of `pacspace-mock serve` under load, a restart on the same file, and every
property of bench/crash_safety.py (one short cycle of the same harness); then proof that the
checks see a lost or altered delta."""

from __future__ import annotations

import importlib.util
import pathlib
import sqlite3
import sys

import pytest

pytest.importorskip("pacspace_sdk")

HARNESS = pathlib.Path(__file__).resolve().parents[1] / "bench" / "crash_safety.py"


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("crash_safety", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_kill_9_under_load_loses_no_acknowledged_write(harness, tmp_path):
    lines: list[str] = []
    summary = harness.run(kills=1, threads=3, acks=(60, 90), seed=11, customers=4, directory=str(tmp_path),
                          out=lines.append)
    report = "\n".join(lines)
    assert summary.ok, report
    assert summary.exit_codes == [-9], report  # SIGKILL, not a graceful stop
    totals = summary.totals
    assert totals["acknowledged writes"] >= 40, report
    assert totals["lost"] == 0 and totals["found"] == totals["acknowledged deltas"], report
    assert totals["partly present (all kills)"] == 0, report
    assert summary.final_integrity == "ok", report

    # The same checks on a ledger that lost one acknowledged delta and had another one's amount
    # changed behind the server's back: both are reported, by the client-side matching, by the
    # sequence and counter checks, and by the server's own verification routes.
    truth = summary.truth
    acked = [w for w in truth.writes if w.outcome == "ack" and w.kind == "emit"]
    gone, altered = acked[0], acked[-1]
    conn = sqlite3.connect(summary.db)
    with conn:
        conn.execute("DELETE FROM deltas WHERE record_id = ?", (gone.record_ids[0],))
        conn.execute("UPDATE deltas SET amount = '7' WHERE record_id = ?", (altered.record_ids[0],))
    conn.close()
    server = harness.Server(summary.db, str(tmp_path / "serve-again.log"))
    server.start()
    try:
        check = harness.check_ledger(server.url, summary.db, truth, harness.random.Random(0), full=True)
    finally:
        server.stop()
    failures = "\n".join(check.failures)
    assert check.counts["lost"] == 1 and check.counts["mismatched"] == 1, failures
    assert f"LOST: acknowledged emit item {gone.items[0].ref} ({gone.record_ids[0]})" in failures
    assert f"{altered.items[0].ref}: the ledger holds 7" in failures
    assert "sequences are not" in failures and "deltaIndex values are not" in failures
    assert f"batch {altered.receipt_id}: verified False" in failures
