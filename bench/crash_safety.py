"""Crash safety: `kill -9` a `pacspace-mock serve` process under load, restart it on the same
SQLite file, and prove that nothing it acknowledged was lost or damaged.

    python bench/crash_safety.py [--kills 7] [--threads 4] [--acks 1500:3500] [--seed 1]
                                 [--customers 12] [--workers 1] [--webhooks] [--keep DIR] [--full]

One run, on a fresh database file in a temporary directory (kept with --keep, or on failure):

1. start `python -m mockserver.cli serve --db FILE` with this checkout's code, in its own process
   group; freeze the workspace clock at 2026-02-01T00:00:00Z. Lifecycle delays are serve's
   defaults (1 s / 2 s), so at any moment many deltas are QUEUED or PROCESSING and checkpoints
   wait to verify;
2. `--threads` client threads send, until told to stop: emits (the official SDK,
   `PacSpace.init(key, base_url=url)`, no SDK retries; a fifth with an Idempotency-Key), batches
   of 2-8 items (plain httpx; a fifth with an Idempotency-Key), checkpoints of one customer (SDK)
   and virtual clock moves (`POST /_mock/clock/advance`, 0.5-3 s). Every write carries a
   referenceId unique in the run, so it can be found again. A write is *acknowledged* when it got
   a 2xx reply, *unacknowledged* when its reply never came (the server died), *refused* when the
   connection was refused (it never reached a server);
3. after a seeded random number of acknowledged operations (`--acks LO:HI`) the threads are told
   to start nothing new and the whole process group gets SIGKILL at once, with the operations
   then running still in flight;
4. the server is restarted on the same file and, before anything else touches it, every check
   below runs; then each unacknowledged or refused write is sent again as a client would (same
   body, same Idempotency-Key) and its reply must match what the ledger held: a replay if it was
   there, a new record if not (or 202 IDEMPOTENCY_PENDING for a key whose pending marker the
   killed process left: §4.2 frees it after 30 s of wall time);
5. repeat from 2, `--kills` times; then a last check, a graceful stop, and an integrity check of
   the closed file.

Checks after every restart (each failure is printed and makes the exit status 1):

* `PRAGMA integrity_check` is `ok` (read-only connection on the live file);
* the clock is still frozen and not earlier than any acknowledged reading; it is then moved 3 s so
  every delta and checkpoint is VERIFIED (no wall-clock waits anywhere);
* every acknowledged emit and batch item is in the ledger (derive over the run's whole window,
  every page) with its recordId, amount, reason, referenceId, customer and batch receiptId;
  **lost** counts the acknowledged items that are missing or were recorded under another id;
* an unacknowledged write is wholly present (same content; a batch as one batch of exactly its
  items) or wholly absent, never partly; a refused or rejected one is absent; nothing is in the
  ledger that no client sent;
* per customer, `sequence` runs 1..n in order without gaps (also per `GET /gaps`); `deltaIndex`
  runs 1..N and N is `/_mock/workspace`'s delta count; recordIds, checkpointIds, proof roots,
  event ids and every X-Request-Id received in the whole run are unique (the counters went on
  after each restart instead of handing numbers out again);
* every delta's fingerprint is recomputed offline from its fields;
* batches: each proof hash verifies through `GET /api/v1/verify/{root}?source=both` and lists
  exactly its deltas; the whole chain (batchSequence 1..B, previousProofHash links, items roots,
  proof hashes) verifies offline with `verify_batch_chain`;
* checkpoints: each is VERIFIED, its proof root and anchor recompute offline from its own fields,
  its `previousProofRoot` is the customer's previous checkpoint, `supersedes`/`supersededBy`
  agree, each acknowledged one is there with its proof root; each verifies through the same
  route and its covered set is recomputed offline from the ledger's rows (the customer's deltas
  of the window VERIFIED at its commit instant, in sequence order: items root, size, net change,
  proof root); the latest receipt of each customer (every page of `GET /api/v1/receipt/{id}`,
  merged) verifies offline with `verify_receipt`, and the consistency proof from the checkpoint it
  superseded (`GET /checkpoints/compare`) with `verify_consistency_object`;
* the outbox holds exactly one `delta.verified` event per delta and one `checkpoint.verified`
  per checkpoint (transitions and their events commit together).

Webhooks are captured by default (one transaction per request). `--webhooks` sends them to a
receiver in this process instead: then a clock move commits before each attempt, POSTs without
the store lock and resumes in a new transaction, so kills (and other requests) also land between
those steps; every event the outbox calls delivered must have reached the receiver. It is much
slower (one POST per event). `--workers N` runs serve with N processes on the file.

Cost: verifying a checkpoint through the API recomputes its whole tree (~0.1 s for 2,000 deltas),
so batches and checkpoints go through the API once, after the restart that follows their
creation, and then on a seeded sample (100 batches, 10 checkpoints) after each later restart;
`--full` sends all of them every time. Everything else covers the whole ledger every time.

Output: per kill, what was in flight and the load's counts; per check, acknowledged / found /
lost, unacknowledged (present, absent, partly present), refused, what was verified, then the
retries' outcomes; at the end the totals and RESULT. Exit status 0 only if nothing acknowledged
was lost and every check passed. `tests/test_crash_safety.py` runs one short cycle of this
harness in the suite.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

import mockserver
from mockserver.proofs.merkle import mth
from mockserver.proofs.objects import anchor_reference, checkpoint_preimage, proof_root
from mockserver.proofs.primitives import (
    canonical_decimal,
    exact_sum,
    format_ts,
    from_hex,
    parse_rfc3339,
    period_of,
    to_hex,
)
from mockserver.proofs.verifier import (
    rebuild_delta,
    verify_batch_chain,
    verify_consistency_object,
    verify_receipt,
)

KEY = "pk_test_crashsafety"
START = "2026-02-01T00:00:00.000Z"
WINDOW_START = "2026-02-01"
SETTLE_SECONDS = 3  # serve's verify delay (2 s) plus one: everything recorded so far becomes VERIFIED
# objects verified after an earlier restart that are verified again after a later one
RESAMPLE_BATCHES, RESAMPLE_CHECKPOINTS = 100, 10
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(mockserver.__file__)))


def loads(content: bytes | str) -> Any:
    return json.loads(content, parse_float=Decimal)


# --- the server process ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`pacspace-mock serve` in its own process group (so SIGKILL reaches every worker), run with
    this checkout's code, its output appended to a log file."""

    def __init__(self, db: str, log_path: str, args: tuple[str, ...] = ()):
        self.db, self.log_path, self.args = db, log_path, args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until /_mock/health answers (bounded polling); returns the seconds taken."""
        started = time.monotonic()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(self.port), "--db", self.db,
                 "--no-access-log", *self.args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        with httpx.Client(timeout=2.0) as http:
            while True:
                try:
                    if http.get(f"{self.url}/_mock/health").status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                if self.proc.poll() is not None or time.monotonic() - started > timeout:
                    raise RuntimeError(f"serve did not start (exit {self.proc.poll()}); log: {self.log_tail()}")
                time.sleep(0.01)

    def kill(self) -> int:
        """SIGKILL to the whole process group; returns the exit status (-9)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=30)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            with open(self.log_path) as handle:
                return handle.read()[-chars:]
        except OSError:
            return ""


class Receiver:
    """A webhook endpoint in this process (--webhooks): answers 200, remembers each X-Event-ID. With
    a URL configured, every delivery attempt commits its claim, POSTs without the store lock and
    records the outcome in a new transaction, so kills also land between those steps."""

    def __init__(self, received: set[str]):
        import http.server

        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # the stdlib names it so
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    received.add(self.headers.get("X-Event-ID", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- what the clients sent and were told -------------------------------------------------------

@dataclass
class Item:
    customer: str
    amount: Decimal
    reason: str
    ref: str

    def body(self) -> dict:
        return {"customerId": self.customer, "delta": float(self.amount), "reason": self.reason,
                "referenceId": self.ref}


@dataclass
class Write:
    kind: str  # "emit" | "batch"
    items: list[Item]
    idem: str | None
    cycle: int
    # "ack" | "unknown" (sent, no reply) | "refused" (connection refused: never sent) | "rejected" (error reply)
    outcome: str = "sending"
    status: int | None = None
    record_ids: list[str] | None = None  # as acknowledged (or as found in the ledger, for unknown ones)
    receipt_id: str | None = None
    batch_sequence: int | None = None
    present: bool | None = None  # unknown writes: what the last check found

    def path(self) -> str:
        return "/api/v1/balance/delta" if self.kind == "emit" else "/api/v1/balance/delta/batch"

    def body(self) -> dict:
        return self.items[0].body() if self.kind == "emit" else {"deltas": [i.body() for i in self.items]}


@dataclass
class Truth:
    """The clients' side of the story, shared by the load threads (under `lock`)."""

    writes: list[Write] = field(default_factory=list)
    checkpoints: dict[str, tuple[str, str]] = field(default_factory=dict)  # acked id -> (customer, proofRoot)
    unknown_checkpoints: int = 0
    clock_ms: int = 0  # the latest acknowledged clock reading
    request_ids: collections.Counter = field(default_factory=collections.Counter)
    customers: set[str] = field(default_factory=set)  # customers with an acknowledged delta
    errors: list[str] = field(default_factory=list)  # replies that break the contract
    verified_batches: dict[str, dict] = field(default_factory=dict)  # root -> chain entry
    verified_checkpoints: set[str] = field(default_factory=set)
    received: set[str] | None = None  # X-Event-ID of every webhook POST the receiver got (--webhooks)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, response_headers: Any) -> None:
        rid = response_headers.get("x-request-id") if response_headers is not None else None
        if rid:
            with self.lock:
                self.request_ids[rid] += 1


# --- load --------------------------------------------------------------------------------------

_capture = threading.local()


def _sdk(url: str):
    """An SDK client whose transport keeps the last raw response (status, X-Request-Id)."""
    from pacspace_sdk import PacSpace
    from pacspace_sdk.client import default_transport

    def transport(method, target, headers, body, timeout_ms):
        _capture.last = None
        _capture.last = default_transport(method, target, headers, body, timeout_ms)
        return _capture.last

    return PacSpace.init(KEY, base_url=url, max_retries=0, timeout=60_000, transport=transport)


def _refused(exc: BaseException) -> bool:
    """The SDK's network error was a refused connection: the request never reached a server."""
    cause = exc.__cause__
    return isinstance(getattr(cause, "reason", cause), ConnectionRefusedError)


def new_amount(rng: random.Random) -> Decimal:
    cents = rng.randint(1, 5_000_000) * rng.choice((-1, 1))
    amount = Decimal(cents).scaleb(-2) if rng.random() < 0.5 else Decimal(cents // 100 or 1)
    assert Decimal(repr(float(amount))) == amount  # the SDK sends floats: the text must round-trip
    return amount


class Load:
    """Client threads sending writes until `stop`; `acked` reaching `target` sets `kill_now`."""

    KINDS = ("emit", "batch", "checkpoint", "clock")
    WEIGHTS = (52, 24, 6, 18)

    def __init__(self, url: str, truth: Truth, cycle: int, threads: int, target: int, seed: int,
                 customers: int):
        self.url, self.truth, self.cycle, self.target = url, truth, cycle, target
        self.customers = [f"cust_{k:02d}" for k in range(customers)]
        self.stop, self.kill_now = threading.Event(), threading.Event()
        self.acked = 0
        self.in_flight: dict[int, str] = {}
        self.counts: collections.Counter = collections.Counter()
        self.threads = [threading.Thread(target=self._run, args=(i, random.Random(f"{seed}:{cycle}:{i}")),
                                         daemon=True) for i in range(threads)]

    def start(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=120)

    def _acked(self, kind: str) -> None:
        with self.truth.lock:
            self.acked += 1
            self.counts[f"{kind} acknowledged"] += 1
            if self.acked >= self.target:
                self.kill_now.set()

    def _run(self, index: int, rng: random.Random) -> None:
        sdk = _sdk(self.url)
        with httpx.Client(base_url=self.url, headers={"X-Api-Key": KEY}, timeout=60.0) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                kind = rng.choices(self.KINDS, self.WEIGHTS)[0]
                if kind == "checkpoint" and not self.truth.customers:
                    kind = "emit"
                self.in_flight[index] = kind
                try:
                    getattr(self, f"_{kind}")(sdk, http, rng, f"k{self.cycle}t{index}n{n}")
                except Exception as exc:  # noqa: BLE001 - a harness bug must not pass silently
                    with self.truth.lock:
                        self.truth.errors.append(f"thread {index} {kind}: {type(exc).__name__}: {exc}")
                finally:
                    self.in_flight.pop(index, None)

    def _item(self, rng: random.Random, ref: str) -> Item:
        reason = f"usage {ref}" if rng.random() < 0.8 else f"Überweisung ☕ {ref}"
        return Item(rng.choice(self.customers), new_amount(rng), reason, ref)

    def _register(self, write: Write) -> None:
        with self.truth.lock:
            self.truth.writes.append(write)

    def _contract(self, what: str) -> None:
        with self.truth.lock:
            self.truth.errors.append(what)

    def _emit(self, sdk, http, rng, ref) -> None:
        from pacspace_sdk.errors import PacSpaceError

        item = self._item(rng, ref)
        write = Write("emit", [item], f"idem-{ref}" if rng.random() < 0.2 else None, self.cycle)
        self._register(write)
        options: dict[str, Any] = {"referenceId": item.ref}
        if write.idem:
            options["idempotencyKey"] = write.idem
        try:
            data = sdk.balance.emit(item.customer, float(item.amount), item.reason, options)
        except PacSpaceError as exc:
            last = getattr(_capture, "last", None)
            if exc.status_code == 0:
                write.outcome = "refused" if _refused(exc) else "unknown"
            else:
                write.outcome, write.status = "rejected", exc.status_code
                self._contract(f"emit {ref} answered {exc.status_code} {exc.code}: {exc.message}")
            self.truth.seen(last.headers if last else None)
            return
        last = _capture.last
        self.truth.seen(last.headers)
        write.status, write.record_ids, write.receipt_id = last.status_code, [data["recordId"]], data["receiptId"]
        if last.status_code != 201 or data.get("idempotent") is not False or data.get("referenceId") != item.ref:
            self._contract(f"emit {ref}: status {last.status_code}, reply {data}")
        write.outcome = "ack"
        with self.truth.lock:
            self.truth.customers.add(item.customer)
        self._acked("emit")

    def _batch(self, sdk, http, rng, ref) -> None:
        items = [self._item(rng, f"{ref}b{j}") for j in range(rng.randint(2, 8))]
        write = Write("batch", items, f"idem-{ref}" if rng.random() < 0.2 else None, self.cycle)
        self._register(write)
        headers = {"Idempotency-Key": write.idem} if write.idem else {}
        try:
            r = http.post(write.path(), content=json.dumps(write.body()), headers=headers)
        except httpx.ConnectError:
            write.outcome = "refused"
            return
        except httpx.TransportError:
            write.outcome = "unknown"
            return
        self.truth.seen(r.headers)
        if r.status_code != 201:
            write.outcome, write.status = "rejected", r.status_code
            self._contract(f"batch {ref} answered {r.status_code}: {r.text[:300]}")
            return
        data = loads(r.content)["data"]
        results = data["results"]
        write.status, write.receipt_id, write.batch_sequence = r.status_code, data["receiptId"], data["batchSequence"]
        write.record_ids = [res["recordId"] for res in results]
        if data["totalRecorded"] != len(items) or any(res["status"] != "QUEUED" for res in results):
            self._contract(f"batch {ref}: {r.text[:300]}")
        write.outcome = "ack"
        with self.truth.lock:
            self.truth.customers.update(i.customer for i in items)
        self._acked("batch")

    def _checkpoint(self, sdk, http, rng, ref) -> None:
        from pacspace_sdk.errors import PacSpaceError

        with self.truth.lock:
            customer = rng.choice(sorted(self.truth.customers))
        try:
            data = sdk.balance.checkpoint(customer)
        except PacSpaceError as exc:
            last = getattr(_capture, "last", None)
            self.truth.seen(last.headers if last else None)
            if exc.status_code == 0:
                with self.truth.lock:
                    self.truth.unknown_checkpoints += 1
            else:
                self._contract(f"checkpoint of {customer} answered {exc.status_code} {exc.code}: {exc.message}")
            return
        last = _capture.last
        self.truth.seen(last.headers)
        expected = 200 if data.get("idempotent") else 201
        if last.status_code != expected or data.get("customerId") != customer:
            self._contract(f"checkpoint of {customer}: status {last.status_code}, reply {data}")
        with self.truth.lock:
            self.truth.checkpoints[data["checkpointId"]] = (customer, data["proofRoot"])
        self._acked("checkpoint")

    def _clock(self, sdk, http, rng, ref) -> None:
        seconds = rng.choice((0.5, 1, 1, 2, 3))
        try:
            r = http.post("/_mock/clock/advance", json={"seconds": seconds})
        except httpx.TransportError:
            return
        if r.status_code != 200:
            self._contract(f"clock advance answered {r.status_code}: {r.text[:300]}")
            return
        now = parse_rfc3339(r.json()["data"]["now"])
        with self.truth.lock:
            self.truth.clock_ms = max(self.truth.clock_ms, now)
        self._acked("clock")


# --- checks ------------------------------------------------------------------------------------

@dataclass
class Check:
    failures: list[str] = field(default_factory=list)
    counts: collections.Counter = field(default_factory=collections.Counter)

    def fail(self, what: str) -> None:
        self.failures.append(what)

    @property
    def ok(self) -> bool:
        return not self.failures


class Api:
    """Plain reads of the server for the checks; every reply's X-Request-Id is recorded."""

    def __init__(self, url: str, truth: Truth, check: Check):
        self.http = httpx.Client(base_url=url, headers={"X-Api-Key": KEY}, timeout=120.0)
        self.truth, self.check = truth, check

    def get(self, path: str, params: dict | None = None, expect: int = 200) -> Any:
        r = self.http.get(path, params=params)
        self.truth.seen(r.headers)
        if r.status_code != expect:
            raise AssertionError(f"GET {path} {params or ''} answered {r.status_code}: {r.text[:300]}")
        return loads(r.content).get("data")

    def post(self, path: str, body: dict, headers: dict | None = None) -> httpx.Response:
        r = self.http.post(path, content=json.dumps(body), headers=headers or {})
        self.truth.seen(r.headers)
        return r

    def pages(self, path: str, params: dict, member: str, limit: int) -> list:
        """Every item of an offset-paged list."""
        found, offset = [], 0
        while True:
            data = self.get(path, {**params, "limit": limit, "offset": offset})
            found += data[member]
            page = data.get("pagination") or data.get("deltasPage")
            if not page["hasMore"]:
                return found
            offset += limit

    def close(self) -> None:
        self.http.close()


def integrity(db: str) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    try:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def next_month_start(ms: int) -> str:
    year, month = map(int, period_of(ms).split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}-{month:02d}-01"


def check_ledger(url: str, db: str, truth: Truth, rng: random.Random, full: bool) -> Check:
    """Every property of the module docstring, on the running server; nothing is written but the
    settling clock move (and the receipt.generated events of the receipts read)."""
    check = Check()
    api = Api(url, truth, check)
    try:
        _check(api, db, truth, check, rng, full)
    except Exception as exc:  # noqa: BLE001 - an unreadable ledger is a failed check, with its reason
        check.fail(f"check aborted: {type(exc).__name__}: {exc}")
    finally:
        api.close()
    return check


def _check(api: Api, db: str, truth: Truth, check: Check, rng: random.Random, full: bool) -> None:
    result = integrity(db)
    check.counts["integrity ok"] = int(result == "ok")
    if result != "ok":
        check.fail(f"PRAGMA integrity_check: {result[:500]}")

    clock = api.get("/_mock/clock")
    if clock["mode"] != "frozen" or parse_rfc3339(clock["now"]) < truth.clock_ms:
        check.fail(f"clock after restart {clock}, the latest acknowledged reading was {format_ts(truth.clock_ms)}")
    r = api.post("/_mock/clock/advance", {"seconds": SETTLE_SECONDS})
    if r.status_code != 200:
        check.fail(f"settling clock move answered {r.status_code}: {r.text[:300]}")
    now = parse_rfc3339(r.json()["data"]["now"])
    truth.clock_ms = max(truth.clock_ms, now)

    workspace = api.get("/_mock/workspace")
    ledger_id = workspace["ledgerId"]
    rows = _deltas(api, check, now)
    _check_counters(check, rows, workspace, truth)
    _check_writes(check, rows, truth)
    _check_batches(api, check, rows, truth, ledger_id, rng, full)
    checkpoints = _check_checkpoints(api, check, rows, truth, ledger_id, rng, full)
    _check_outbox(api, check, rows, checkpoints, truth.received)
    check.counts["contract errors during load"] = len(truth.errors)


def _deltas(api: Api, check: Check, now: int) -> list[dict]:
    """Every delta of the workspace, all VERIFIED after the settling move, with sequences 1..n."""
    window = {"startDate": WINDOW_START, "endDate": next_month_start(now)}
    customers = _customers(api)
    rows: list[dict] = []
    for customer in customers:
        first = api.get(f"/api/v1/balance/derive/{customer}", {**window, "limit": 1})
        if first["pendingCount"] or first["failedCount"]:
            check.fail(f"{customer}: {first['pendingCount']} pending and {first['failedCount']} failed deltas"
                       f" after the settling clock move")
        mine = api.pages(f"/api/v1/balance/derive/{customer}", window, "deltas", 1000)
        sequences = [d["sequence"] for d in mine]
        if sequences != list(range(1, len(mine) + 1)):
            missing = sorted(set(range(1, max(sequences, default=0) + 1)) - set(sequences))
            check.fail(f"{customer}: sequences are not 1..{len(mine)} in order (missing {missing[:10]},"
                       f" out of order after {[a for a, b in itertools.pairwise(sequences) if b < a][:5]})")
        gaps = api.get(f"/api/v1/balance/gaps/{customer}")
        if gaps["hasGaps"] or gaps["highestSequence"] != len(mine) or gaps["verifiedThrough"] != len(mine):
            check.fail(f"{customer}: gaps route says {gaps}, derive lists {len(mine)} deltas")
        rows += mine
    for row in rows:
        row["_recorded"], row["_verified"] = parse_rfc3339(row["recordedAt"]), parse_rfc3339(row["verifiedAt"])
    check.counts["deltas in the ledger"] = len(rows)
    bad = 0
    for row in rows:
        rebuilt = rebuild_delta(row, row["customerId"], row["recordId"])
        if rebuilt.problems or rebuilt.fingerprint != row["fingerprint"]:
            bad += 1
            if bad <= 5:
                check.fail(f"{row['recordId']}: fingerprint {row['fingerprint']} does not recompute"
                           f" ({rebuilt.fingerprint}; {rebuilt.problems})")
    check.counts["fingerprints recomputed"] = len(rows) - bad
    return rows


def _customers(api: Api) -> list[str]:
    found, page = [], 1
    while True:
        data = api.get("/api/v1/balance/customers", {"limit": 100, "page": page})
        found += [c["customerId"] for c in data["customers"]]
        if page >= data["pagination"]["totalPages"]:
            return found
        page += 1


def _check_counters(check: Check, rows: list[dict], workspace: dict, truth: Truth) -> None:
    indexes = sorted(r["deltaIndex"] for r in rows)
    if indexes != list(range(1, len(rows) + 1)):
        check.fail(f"deltaIndex values are not 1..{len(rows)} (first differences:"
                   f" {[i for k, i in enumerate(indexes, 1) if i != k][:10]})")
    if workspace["counts"]["deltas"] != len(rows):
        check.fail(f"/_mock/workspace counts {workspace['counts']['deltas']} deltas, derive lists {len(rows)}")
    if len({r["recordId"] for r in rows}) != len(rows):
        check.fail("a recordId appears twice in the ledger")
    reused = [rid for rid, n in truth.request_ids.items() if n > 1]
    if reused:
        check.fail(f"{len(reused)} X-Request-Id values were received twice, e.g. {reused[:3]}")
    check.counts["request ids received"] = len(truth.request_ids)


def _check_writes(check: Check, rows: list[dict], truth: Truth) -> None:
    by_ref = {(r["customerId"], r["referenceId"]): r for r in rows}
    sent: set[tuple[str, str]] = set()
    lost = mismatched = 0
    c = check.counts
    for w in truth.writes:
        keys = [(i.customer, i.ref) for i in w.items]
        sent.update(keys)
        found = [by_ref.get(k) for k in keys]
        present = [f for f in found if f is not None]
        for item, row in zip(w.items, found):
            if row is not None and (Decimal(str(row["delta"])) != item.amount or row["reason"] != item.reason):
                mismatched += 1
                check.fail(f"{item.ref}: the ledger holds {row['delta']} {row['reason']!r},"
                           f" the client sent {item.amount} {item.reason!r}")
        receipts = {row["receiptId"] for row in present}
        if w.outcome == "ack":
            c["acknowledged writes"] += 1
            c["acknowledged deltas"] += len(w.items)
            c["found"] += len(present)
            for item, row, rid in zip(w.items, found, w.record_ids):
                if row is None:
                    lost += 1
                    check.fail(f"LOST: acknowledged {w.kind} item {item.ref} ({rid}) is not in the ledger")
                elif row["recordId"] != rid:
                    lost += 1
                    check.fail(f"LOST: {item.ref} was acknowledged as {rid}, the ledger holds {row['recordId']}")
            if present and receipts != {w.receipt_id}:
                check.fail(f"{w.items[0].ref}: acknowledged in batch {w.receipt_id}, the ledger says {receipts}")
        elif w.outcome == "unknown":
            c["unacknowledged writes"] += 1
            if not present:
                c["unacknowledged, absent"] += 1
                w.present, w.record_ids = False, None
            elif len(present) == len(w.items):
                c["unacknowledged, present"] += 1
                w.present, w.record_ids = True, [row["recordId"] for row in present]
                if len(receipts) != 1 or sum(r["receiptId"] in receipts for r in rows) != len(w.items):
                    check.fail(f"unacknowledged batch {w.items[0].ref} is present but not as one batch of"
                               f" exactly its items")
            else:
                c["unacknowledged, PARTLY present"] += 1
                check.fail(f"HALF-THERE: {len(present)} of the {len(w.items)} items of unacknowledged"
                           f" {w.kind} {w.items[0].ref} are in the ledger")
        elif w.outcome in ("rejected", "refused"):
            c[f"{w.outcome} writes"] += 1
            w.present = False
            if present:
                check.fail(f"{w.items[0].ref} was {w.outcome} ({w.status}) but is in the ledger")
    unexpected = [k for k in by_ref if k not in sent]
    if unexpected:
        check.fail(f"{len(unexpected)} deltas in the ledger were sent by no client, e.g. {unexpected[:3]}")
    c["lost"], c["mismatched"] = lost, mismatched


def _sample(rng: random.Random, known: list, full: bool, size: int) -> list:
    return known if full or len(known) <= size else rng.sample(known, size)


def _check_batches(api: Api, check: Check, rows: list[dict], truth: Truth, ledger_id: str,
                   rng: random.Random, full: bool) -> None:
    by_batch: dict[str, list[dict]] = collections.defaultdict(list)
    for row in sorted(rows, key=lambda r: r["deltaIndex"]):
        by_batch[row["receiptId"]].append(row)
    new = [root for root in by_batch if root not in truth.verified_batches]
    old = [root for root in by_batch if root in truth.verified_batches]
    gone = [root for root in truth.verified_batches if root not in by_batch]
    if gone:
        check.fail(f"{len(gone)} batches verified earlier are gone, e.g. {gone[:3]}")
    for root in new + _sample(rng, old, full, RESAMPLE_BATCHES):
        data = api.get(f"/api/v1/verify/{root}", {"source": "both", "limit": 1000})
        mine = by_batch[root]
        problems = []
        if not data["verified"] or data["kind"] != "batch" or not all(data["checks"].values()):
            problems.append(f"verified {data['verified']}, kind {data['kind']}, checks {data['checks']},"
                            f" message {data.get('message')!r}")
        if [r["recordId"] for r in data["records"]] != [r["recordId"] for r in mine]:
            problems.append("its records are not the deltas that carry its receiptId")
        if data["verification"]["itemHashes"] != [r["fingerprint"] for r in mine]:
            problems.append("its itemHashes are not its deltas' fingerprints")
        entry = {**data["verification"]["batch"], "proofHash": root,
                 "itemHashes": data["verification"]["itemHashes"]}
        if root in truth.verified_batches and truth.verified_batches[root] != entry:
            problems.append("its preimage changed since an earlier check")
        if problems:
            check.fail(f"batch {root}: " + "; ".join(problems))
        else:
            truth.verified_batches[root] = entry
        check.counts["batches verified through the API"] += 1
    chain = sorted((truth.verified_batches[r] for r in by_batch if r in truth.verified_batches),
                   key=lambda b: b["batchSequence"])
    report = verify_batch_chain(chain, ledger_id=ledger_id)
    if not report.ok or len(chain) != len(by_batch):
        check.fail(f"batch chain of {len(chain)}/{len(by_batch)} batches: {report.failed} {report.messages[:3]}")
    check.counts["batches in the chain"] = len(chain)
    sequences = {b["proofHash"]: b["batchSequence"] for b in chain}
    for w in truth.writes:
        if w.outcome == "ack" and w.batch_sequence is not None and sequences.get(w.receipt_id) != w.batch_sequence:
            check.fail(f"batch {w.receipt_id} was acknowledged as batchSequence {w.batch_sequence},"
                       f" the chain has {sequences.get(w.receipt_id)}")


def _check_checkpoints(api: Api, check: Check, rows: list[dict], truth: Truth, ledger_id: str,
                       rng: random.Random, full: bool) -> list[dict]:
    listed = api.pages("/api/v1/balance/checkpoints", {}, "checkpoints", 100)[::-1]  # oldest first
    by_id = {c["checkpointId"]: c for c in listed}
    roots = {c["proofRoot"] for c in listed}
    if len(by_id) != len(listed) or len(roots) != len(listed):
        check.fail("a checkpointId or proofRoot appears twice")
    check.counts["checkpoints"] = len(listed)
    check.counts["checkpoints acknowledged"] = len(truth.checkpoints)
    for cid, (customer, root) in truth.checkpoints.items():
        got = by_id.get(cid)
        if got is None or got["proofRoot"] != root or got["customerId"] != customer:
            check.fail(f"LOST: acknowledged checkpoint {cid} ({customer}, {root}) is listed as {got and got['proofRoot']}")
    check.counts["checkpoints not acknowledged (present)"] = len(set(by_id) - set(truth.checkpoints))
    previous: dict[str, str | None] = {}
    latest: dict[str, dict] = {}
    for c in listed:
        customer = c["customerId"]
        if c["status"] != "VERIFIED":
            check.fail(f"checkpoint {c['checkpointId']} is {c['status']} after the settling clock move")
        if c["previousProofRoot"] != previous.get(customer):
            check.fail(f"checkpoint {c['checkpointId']}: previousProofRoot {c['previousProofRoot']},"
                       f" the customer's previous checkpoint is {previous.get(customer)}")
        previous[customer] = c["proofRoot"]
        latest[customer] = c
        if c["supersedes"] and by_id.get(c["supersedes"], {}).get("supersededBy") != c["checkpointId"]:
            check.fail(f"checkpoint {c['checkpointId']} supersedes {c['supersedes']}, which does not say so")
        if c["supersededBy"] and by_id.get(c["supersededBy"], {}).get("supersedes") != c["checkpointId"]:
            check.fail(f"checkpoint {c['checkpointId']} is superseded by {c['supersededBy']}, which does not say so")
    by_customer: dict[str, list[dict]] = collections.defaultdict(list)
    for row in rows:  # sorted by sequence per customer
        by_customer[row["customerId"]].append(row)
    offline = 0
    new = [c for c in listed if c["proofRoot"] not in truth.verified_checkpoints]
    old = [c for c in listed if c["proofRoot"] in truth.verified_checkpoints]
    for c in listed:  # offline, every one: the root from its own fields, the anchor
        root = proof_root(_preimage(c, ledger_id, c["itemsRoot"], c["treeSize"], c["fromSequence"],
                                    c["toSequence"], c["netChange"]))
        if root != c["proofRoot"] or c["verificationReference"] != anchor_reference(root):
            check.fail(f"checkpoint {c['checkpointId']}: its fields hash to {root}, it claims {c['proofRoot']}")
    for c in new + _sample(rng, old, full, RESAMPLE_CHECKPOINTS):
        problems = _covered_set_problems(c, by_customer[c["customerId"]], ledger_id)
        offline += 1
        data = api.get(f"/api/v1/verify/{c['proofRoot']}", {"source": "both", "limit": 1})
        if not data["verified"] or data["kind"] != "checkpoint" or not all(data["checks"].values()) \
                or data["summary"]["recordCount"] != c["treeSize"]:
            problems.append(f"the API says verified {data['verified']}, checks {data['checks']},"
                            f" message {data.get('message')!r}")
        check.counts["checkpoints verified through the API"] += 1
        if problems:
            check.fail(f"checkpoint {c['checkpointId']}: " + "; ".join(problems))
        else:
            truth.verified_checkpoints.add(c["proofRoot"])
    check.counts["checkpoint trees recomputed offline"] = offline
    fingerprints = {r["recordId"]: r["fingerprint"] for r in rows}
    for customer, c in sorted(latest.items()):
        _check_receipt(api, check, c, ledger_id, fingerprints)
        if c["supersedes"]:
            _check_consistency(api, check, customer, c)
    return listed


def _preimage(c: dict, ledger_id: str, items_root: str, size: int, first: int | None, last: int | None,
              net: Any) -> dict:
    return checkpoint_preimage(ledger_id, c["chainId"], c["customerId"], c["startDate"], c["endDate"], c["period"],
                               size, items_root, first, last, canonical_decimal(Decimal(str(net))),
                               c["previousProofRoot"])


def _covered_set_problems(c: dict, mine: list[dict], ledger_id: str) -> list[str]:
    """Recompute a checkpoint from the ledger's rows: the customer's deltas of its window that were
    VERIFIED at its commit instant, in sequence order (balance-api.md §5.6)."""
    start, end, created = (parse_rfc3339(c[k]) for k in ("startDate", "endDate", "createdAt"))
    covered = [r for r in mine if start <= r["_recorded"] < end and r["_verified"] <= created]
    items_root = to_hex(mth([from_hex(r["fingerprint"]) for r in covered]))
    net = exact_sum(Decimal(str(r["delta"])) for r in covered)
    first, last = (covered[0]["sequence"], covered[-1]["sequence"]) if covered else (None, None)
    root = proof_root(_preimage(c, ledger_id, items_root, len(covered), first, last, net))
    if (items_root, len(covered), root) != (c["itemsRoot"], c["treeSize"], c["proofRoot"]):
        return [(f"the ledger's deltas give itemsRoot {items_root} over {len(covered)} deltas and proofRoot {root},"
                 f" it claims {c['itemsRoot']} over {c['treeSize']} and {c['proofRoot']}")]
    return []


def _check_receipt(api: Api, check: Check, c: dict, ledger_id: str, fingerprints: dict) -> None:
    """The checkpoint's public receipt, every page merged into one document, verified offline."""
    path = f"/api/v1/receipt/{c['checkpointId']}"
    receipt = api.get(path, {"limit": 1000, "offset": 0})
    while receipt["deltasPage"]["hasMore"]:
        page = api.get(path, {"limit": 1000, "offset": len(receipt["deltas"])})
        receipt["deltas"] += page["deltas"]
        receipt["verification"]["itemHashes"] += page["verification"]["itemHashes"]
        receipt["deltasPage"] = page["deltasPage"]
    report = verify_receipt(receipt, ledger_id=ledger_id)
    if not report.ok or receipt["proofRoot"] != c["proofRoot"]:
        check.fail(f"receipt {c['checkpointId']} does not verify offline: {report.failed} {report.messages[:3]}")
    stray = [d["recordId"] for d in receipt["deltas"] if fingerprints.get(d["recordId"]) != d["fingerprint"]]
    if stray:
        check.fail(f"receipt {c['checkpointId']} lists lines that are not the ledger's deltas: {stray[:3]}")
    check.counts["receipts verified offline"] += 1
    check.counts["receipt lines verified offline"] += len(receipt["deltas"])


def _check_consistency(api: Api, check: Check, customer: str, c: dict) -> None:
    data = api.get("/api/v1/balance/checkpoints/compare",
                   {"customerId": customer, "from": c["supersedes"], "to": c["checkpointId"]})
    report = verify_consistency_object(data["consistency"]) if data["consistency"] else None
    if data["relation"] != "extends" or report is None or not report.ok:
        check.fail(f"{customer}: {c['supersedes']} -> {c['checkpointId']} is {data['relation']!r},"
                   f" consistency {report and report.failed}")
    check.counts["consistency proofs verified offline"] += 1


def _check_outbox(api: Api, check: Check, rows: list[dict], checkpoints: list[dict],
                  received: set[str] | None) -> None:
    event_ids: list[str] = []
    for event, expected, member in (("delta.verified", [r["recordId"] for r in rows], "recordId"),
                                    ("checkpoint.verified", [c["checkpointId"] for c in checkpoints], "checkpointId")):
        entries = _outbox(api, event)
        event_ids += [e["eventId"] for e in entries]
        if received is not None:  # delivered means the receiver answered it: it must have got it
            delivered = [e["eventId"] for e in entries if e["deliveryStatus"] == "delivered"]
            unseen = [e for e in delivered if e not in received]
            if unseen:
                check.fail(f"{event}: {len(unseen)} events are delivered but the receiver never got them: {unseen[:3]}")
            check.counts["events delivered"] += len(delivered)
            check.counts["events pending"] += sum(e["deliveryStatus"] == "pending" for e in entries)
        named = [loads(e["body"])["data"][member] for e in entries]
        if sorted(named) != sorted(expected):
            extra = collections.Counter(named) - collections.Counter(expected)
            missing = collections.Counter(expected) - collections.Counter(named)
            check.fail(f"{event}: {len(named)} events for {len(expected)} objects"
                       f" (missing {list(missing)[:3]}, extra or repeated {list(extra)[:3]})")
        check.counts[f"{event} events"] = len(named)
    if len(set(event_ids)) != len(event_ids):
        check.fail("an eventId appears twice in the outbox")


def _outbox(api: Api, event: str) -> list[dict]:
    found, offset = [], 0
    while True:
        data = api.get("/_mock/webhooks/outbox", {"event": event, "limit": 1000, "offset": offset})
        found += data["entries"]
        if not data["pagination"]["hasMore"]:
            return found
        offset += 1000


# --- retries of unacknowledged writes ----------------------------------------------------------

def retry_unacknowledged(url: str, truth: Truth) -> collections.Counter:
    """Send every unacknowledged write again, as a client would after an error: a write the ledger
    held must come back as a replay of it, a missing one is recorded now (or, with an
    Idempotency-Key whose pending marker the dead process left, is answered 202 pending)."""
    outcomes: collections.Counter = collections.Counter()
    check = Check()
    api = Api(url, truth, check)
    try:
        for w in [w for w in truth.writes if w.outcome in ("unknown", "refused")]:
            r = api.post(w.path(), w.body(), {"Idempotency-Key": w.idem} if w.idem else None)
            outcome = _retried(w, r)
            outcomes[outcome] += 1
    finally:
        api.close()
    return outcomes


def _retried(w: Write, r: httpx.Response) -> str:
    if r.status_code == 202 and w.idem and not w.present:
        return "pending (Idempotency-Key marker of the killed process)"
    data = loads(r.content).get("data") if r.status_code < 300 else None
    if data is None:
        return f"CONTRACT: answered {r.status_code} {r.text[:200]}"
    ids = [data["recordId"]] if w.kind == "emit" else [res["recordId"] for res in data["results"]]
    replayed_key = r.headers.get("idempotent-replayed") == "true"
    if w.present:
        fresh = data.get("idempotent") is False if w.kind == "emit" else data["totalRecorded"] > 0
        if ids != w.record_ids or (fresh and not replayed_key) or (r.status_code != 200 and not replayed_key):
            return f"CONTRACT: {w.items[0].ref} was in the ledger, the retry answered {r.status_code} {ids}"
        outcome = "replayed (stored Idempotency-Key reply)" if replayed_key else "replayed (referenceId)"
    else:
        recorded = data.get("idempotent") is False if w.kind == "emit" else data["totalRecorded"] == len(w.items)
        if r.status_code != 201 or not recorded or replayed_key:
            return f"CONTRACT: {w.items[0].ref} was not in the ledger, the retry answered {r.status_code} {r.text[:200]}"
        outcome = "recorded now"
    w.outcome, w.status, w.record_ids = "ack", r.status_code, ids
    if w.kind == "emit":
        w.receipt_id = data["receiptId"]
    else:  # a replayed batch records nothing: its items name their batch
        w.receipt_id = data["results"][0]["receiptId"]
        w.batch_sequence = data["batchSequence"] if data["totalRecorded"] else None
    return outcome


# --- the run -----------------------------------------------------------------------------------

@dataclass
class Summary:
    kills: int = 0
    exit_codes: list[int] = field(default_factory=list)
    totals: collections.Counter = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    retries: collections.Counter = field(default_factory=collections.Counter)
    final_integrity: str = ""
    in_flight: list[collections.Counter] = field(default_factory=list)  # operations running at each kill
    operations: collections.Counter = field(default_factory=collections.Counter)  # acknowledged, by kind
    db: str = ""
    truth: Truth | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and all(code == -signal.SIGKILL for code in self.exit_codes)


def run(kills: int = 7, threads: int = 4, acks: tuple[int, int] = (1500, 3500), seed: int = 1,
        customers: int = 12, workers: int = 1, directory: str | None = None, full: bool = False,
        webhooks: bool = False, out=print) -> Summary:
    """The whole run (see the module docstring); `out` receives the report's lines."""
    rng = random.Random(seed)
    owned = directory is None
    directory = directory or tempfile.mkdtemp(prefix="pacspace-crash-")
    os.makedirs(directory, exist_ok=True)
    db, log = os.path.join(directory, "ledger.sqlite"), os.path.join(directory, "serve.log")
    args = ("--seed", str(seed)) + (("--workers", str(workers)) if workers > 1 else ())
    server = Server(db, log, args)
    truth = Truth()
    summary = Summary(db=db, truth=truth)
    receiver = None
    if webhooks:
        truth.received = set()
        receiver = Receiver(truth.received)
    out(f"crash safety: {kills} kills, {threads} client threads, {acks[0]}-{acks[1]} acknowledged operations"
        f" per kill, {customers} customers, seed {seed}, workers {workers},"
        f" webhooks {'to a receiver' if webhooks else 'captured'}, db {db}")
    try:
        server.start()
        with httpx.Client(base_url=server.url, headers={"X-Api-Key": KEY}) as http:
            r = http.post("/_mock/clock/freeze", json={"at": START})
            r.raise_for_status()
            truth.clock_ms = parse_rfc3339(r.json()["data"]["now"])
            if receiver is not None:
                http.put("/_mock/webhooks/config", json={"url": receiver.url}).raise_for_status()
        for cycle in range(1, kills + 1):
            target = rng.randint(*acks)
            load = Load(server.url, truth, cycle, threads, target, rng.randrange(2**32), customers).start()
            started = time.monotonic()
            if not load.kill_now.wait(timeout=600):
                raise RuntimeError(f"cycle {cycle}: {load.acked} of {target} operations acknowledged in 600 s")
            load.stop.set()  # no new operations; the ones in flight meet the kill
            in_flight = collections.Counter(dict(load.in_flight).values())  # a copy made in one step
            code = server.kill()
            load.join()
            loaded = time.monotonic() - started
            summary.kills += 1
            summary.exit_codes.append(code)
            summary.in_flight.append(in_flight)
            summary.operations.update(load.counts)
            restart = server.start()
            out(f"kill {cycle}/{kills}: after {load.acked} acknowledged operations in {loaded:.1f} s, exit {code},"
                f" in flight: {dict(in_flight) or 'nothing'}; restarted in {restart:.2f} s")
            out("  load: " + ", ".join(f"{n} {k}" for k, n in sorted(load.counts.items())))
            _report(out, summary, check_ledger(server.url, db, truth, rng, full), f"kill {cycle}")
            retried = retry_unacknowledged(server.url, truth)
            summary.retries.update(retried)
            if retried:
                out("  retried unacknowledged writes: " + ", ".join(f"{n} {k}" for k, n in sorted(retried.items())))
            summary.failures += [f"kill {cycle}: retry {k}" for k in retried if k.startswith("CONTRACT")]
        final = check_ledger(server.url, db, truth, rng, full)
        _report(out, summary, final, "final", totals=True)
        server.stop()
        summary.final_integrity = integrity(db)
        if summary.final_integrity != "ok":
            summary.failures.append(f"after a graceful stop: integrity_check {summary.final_integrity[:300]}")
    except Exception as exc:  # noqa: BLE001 - reported, and the run fails
        summary.failures.append(f"run aborted: {type(exc).__name__}: {exc}; serve log: {server.log_tail(800)}")
    finally:
        server.stop()
        if receiver is not None:
            receiver.close()
    summary.failures += [f"load: {e}" for e in truth.errors]
    t, ops = summary.totals, summary.operations
    out(f"load: {sum(ops.values())} acknowledged operations before the kills ("
        + ", ".join(f"{n} {k.split()[0]}" for k, n in sorted(ops.items())) + ")")
    out(f"total: {summary.kills} kills (exit codes {sorted(set(summary.exit_codes))}),"
        f" acknowledged {t['acknowledged writes']} writes ({t['acknowledged deltas']} deltas),"
        f" {t['checkpoints acknowledged']} checkpoints, found {t['found']}, LOST {t['lost']},"
        f" unacknowledged {summary.totals['unacknowledged writes (all kills)']}"
        f" (present {summary.totals['unacknowledged present (all kills)']}),"
        f" partly present {summary.totals['partly present (all kills)']};"
        f" integrity after stop: {summary.final_integrity or '-'}")
    out("RESULT: " + ("OK" if summary.ok else f"FAILED ({len(summary.failures)} problems)"))
    for failure in summary.failures[:50]:
        out(f"  {failure}")
    if owned and summary.ok:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
    return summary


def _report(out, summary: Summary, check: Check, label: str, totals: bool = False) -> None:
    c = check.counts
    if not totals:
        summary.totals["unacknowledged writes (all kills)"] += c["unacknowledged writes"]
        summary.totals["unacknowledged present (all kills)"] += c["unacknowledged, present"]
        summary.totals["partly present (all kills)"] += c["unacknowledged, PARTLY present"]
    else:
        for name in ("acknowledged writes", "acknowledged deltas", "found", "lost", "checkpoints acknowledged"):
            summary.totals[name] = c[name]
    out(f"  {label}: acknowledged {c['acknowledged writes']} writes ({c['acknowledged deltas']} deltas),"
        f" found {c['found']}, lost {c['lost']}; unacknowledged {c['unacknowledged writes']}"
        f" (present {c['unacknowledged, present']}, absent {c['unacknowledged, absent']},"
        f" partly present {c['unacknowledged, PARTLY present']}); refused (never sent, absent) {c['refused writes']};"
        f" integrity {'ok' if c['integrity ok'] else 'FAILED'}")
    out(f"    ledger: {c['deltas in the ledger']} deltas ({c['fingerprints recomputed']} fingerprints recomputed),"
        f" {c['batches in the chain']} batches chained ({c['batches verified through the API']} verified now),"
        f" {c['checkpoints']} checkpoints ({c['checkpoints acknowledged']} acknowledged,"
        f" {c['checkpoints not acknowledged (present)']} from unacknowledged requests,"
        f" {c['checkpoints verified through the API']} verified now), {c['receipts verified offline']} receipts"
        f" ({c['receipt lines verified offline']} lines) and {c['consistency proofs verified offline']}"
        f" consistency proofs offline, events {c['delta.verified events']} delta.verified /"
        f" {c['checkpoint.verified events']} checkpoint.verified"
        + (f" ({c['events delivered']} delivered, {c['events pending']} pending)" if 'events delivered' in c else "")
        + f", {c['request ids received']} request ids unique")
    for failure in check.failures[:20]:
        out(f"    FAILED: {failure}")
    summary.failures += [f"{label}: {f}" for f in check.failures]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=7)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--acks", default="1500:3500", help="LO:HI acknowledged operations before each kill")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument("--workers", type=int, default=1, help="serve --workers (the kill takes them all)")
    parser.add_argument("--keep", metavar="DIR", help="keep the database and the serve log in DIR")
    parser.add_argument("--webhooks", action="store_true",
                        help="deliver webhooks to a receiver in this process instead of capturing them")
    parser.add_argument("--full", action="store_true",
                        help="verify every batch and checkpoint through the API after every restart (slow)")
    a = parser.parse_args()
    lo, _, hi = a.acks.partition(":")
    summary = run(a.kills, a.threads, (int(lo), int(hi or lo)), a.seed, a.customers, a.workers, a.keep, a.full, a.webhooks)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
