"""The per-request pipeline and single-emit throughput, against a no-op Starlette JSON endpoint.

All subjects are driven the same way: sequential requests through httpx.ASGITransport in one
process, so the no-op figure is the cost of the transport + Starlette alone. Targets (the pipeline
issue): GET /limits >= 75% of the no-op's req/s, and emit (:memory:, zero delays) >= 60% of
GET /limits' req/s.

References measured in the same run:
* a minimal write endpoint on the same stack: exact JSON, the same pydantic model, one INSERT +
  COMMIT in WAL mode;
* the bookkeeping floor: what the contract makes every API request do before any handler — take
  the request's number and clock reading (one UPDATE … RETURNING), derive its X-Request-Id, write
  its journal row, commit — on the same stack, with no pipeline of ours around it.

    python bench/bench_emit.py [--requests 400] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sqlite3
import statistics
import sys
import tempfile
import time

import orjson

from _util import client, ok
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from mockserver.api.schemas import EmitBody
from mockserver.app import create_app
from mockserver.proofs.primitives import parse_json_exact
from mockserver.runtime import Runtime, ServerConfig

LIMITS_TARGET = 0.75  # GET /limits vs the no-op
EMIT_TARGET = 0.60  # emit (:memory:) vs GET /limits
GET_PATHS = {"/api/v1/balance/limits"}
CUSTOMERS = ("cust_a", "cust_b", "cust_c", "cust_d")
_refs = itertools.count()  # every emit gets a fresh referenceId: the dedupe lookup runs, never a replay


def noop_app() -> Starlette:
    async def noop(request):
        return JSONResponse({"success": True, "data": {}})

    return Starlette(routes=[Route("/noop", noop, methods=["POST"])])


def emit_body() -> dict:
    n = next(_refs)
    return {"customerId": CUSTOMERS[n % len(CUSTOMERS)], "delta": -1.5, "reason": "api_calls", "referenceId": f"ref-{n}"}


def minimal_write_app(db_path: str) -> Starlette:
    """The least a write endpoint on this stack does: read the body with exact decimals, validate
    it with the same pydantic model, INSERT one row (two indexes) and COMMIT in WAL mode, reply
    JSON. No auth, clock, counters, journal, hashing or ledger: a reference, not a mock."""
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, customer TEXT, amount TEXT, reason TEXT, ref TEXT)")
    conn.execute("CREATE UNIQUE INDEX d_ref ON d (customer, ref)")
    conn.execute("CREATE INDEX d_customer ON d (customer, id)")

    async def write(request):
        item = EmitBody.model_validate(parse_json_exact(await request.body()))
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("INSERT INTO d (customer, amount, reason, ref) VALUES (?, ?, ?, ?)",
                           (item.customerId, str(item.delta), item.reason, item.referenceId)).lastrowid
        conn.execute("COMMIT")
        return JSONResponse({"success": True, "data": {"id": row, "customerId": item.customerId}}, status_code=201)

    return Starlette(routes=[Route("/write", write, methods=["POST"])])


def bookkeeping_floor_app(exchange: bool = False) -> Starlette:
    """The contract's per-request bookkeeping and nothing else (§1.14, §8.7, §9): one statement
    counts the request and reads the workspace's clock, the request id is derived, a journal row
    is written, the transaction commits, a JSON reply goes out. With `exchange`, what the journal
    has had to keep since recorded exchanges (the integrator issue): the whole §8.7 entry and the
    request's and reply's headers and bodies, the key redacted, and `nosniff` on the reply."""
    import hashlib
    import json

    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TABLE w (id INTEGER PRIMARY KEY, env TEXT, pid TEXT, n_req INTEGER, clock_last_ms INTEGER,"
                 " settings TEXT)")
    conn.execute("CREATE UNIQUE INDEX w_key ON w (env, pid)")
    conn.execute("CREATE TABLE j (id INTEGER PRIMARY KEY, ws INTEGER, seq INTEGER, route TEXT, status INTEGER,"
                 " entry TEXT, at_ms INTEGER, exchange BLOB)")
    conn.execute("CREATE INDEX j_seq ON j (ws, seq)")
    conn.execute("INSERT INTO w VALUES (1, 'test', 'bench', 0, 0, '{}')")

    async def limits(request):
        conn.execute("BEGIN IMMEDIATE")
        ws = conn.execute("UPDATE w SET n_req = n_req + 1, clock_last_ms = MAX(clock_last_ms, ?)"
                          " WHERE env = 'test' AND pid = 'bench' RETURNING *", (int(time.time() * 1000),)).fetchone()
        request_id = "req_" + hashlib.sha256(f"id|req|{ws[3]}".encode()).hexdigest()[:24]
        if not exchange:
            entry = json.dumps({"seq": ws[3], "requestId": request_id, "path": request.url.path, "status": 200,
                                "userAgent": request.headers.get("user-agent")}, separators=(",", ":"))
            conn.execute("INSERT INTO j (ws, seq, route, status, entry) VALUES (?, ?, ?, ?, ?)",
                         (ws[0], ws[3], "balance.limits", 200, entry))
            conn.execute("COMMIT")
            return JSONResponse({"success": True, "data": {"maxScopeMonths": 24}},
                                headers={"X-Request-Id": request_id})
        reply = JSONResponse({"success": True, "data": {"maxScopeMonths": 24}},
                             headers={"X-Request-Id": request_id, "X-Content-Type-Options": "nosniff"})
        headers = request.headers
        entry = orjson.dumps({
            "seq": ws[3], "requestId": request_id, "at": "2026-05-10T08:00:00.000Z", "method": request.method,
            "path": request.url.path, "query": "", "route": "balance.limits", "status": 200, "latencyMs": 0,
            "customerId": None, "idempotencyKey": headers.get("idempotency-key"), "idempotentReplay": False,
            "errorCode": None, "fault": None, "userAgent": headers.get("user-agent"),
            "chainId": headers.get("x-chain-id")}).decode()
        sent = [[k.decode(), v.decode() if k != b"x-api-key" else v.decode().split(".")[0] + ".[redacted]"]
                for k, v in request.scope["headers"]]
        got = [[k.decode(), v.decode()] for k, v in reply.raw_headers]
        record = orjson.dumps([sent, got, 0, len(reply.body)]) + b"\n" + reply.body
        conn.execute("INSERT INTO j (ws, seq, route, status, entry, at_ms, exchange) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (ws[0], ws[3], "balance.limits", 200, entry, ws[4], record))
        conn.execute("COMMIT")
        return reply

    return Starlette(routes=[Route("/api/v1/balance/limits", limits)])


async def rate(http, path: str, expect: int, count: int) -> float:
    """Requests per second of `count` sequential requests: POSTs of a fresh emit body, or GETs
    when the path is a GET subject's."""
    start = time.perf_counter()
    for _ in range(count):
        r = await (http.get(path) if path in GET_PATHS else http.post(path, json=emit_body()))
        if r.status_code != expect:
            raise SystemExit(f"POST {path} -> {r.status_code}: {r.text[:300]}")
    return count / (time.perf_counter() - start)


async def mock_client(db_path: str, delay: int = 0):
    """With delay 0 every emit also verifies the previous one (its transition and webhook event
    are due at the next request); with serve's delays and a frozen clock verification is
    deferred, so the figure is the emit alone."""
    http = client(create_app(Runtime(ServerConfig(seed=1, processing_delay=0, verify_delay=0), db_path=db_path)))
    await ok(http.post("/_mock/clock/freeze", json={"at": "2026-05-10T08:00:00.000Z"}))
    await ok(http.patch("/_mock/settings", json={"processingDelaySeconds": delay, "verifyDelaySeconds": 2 * delay}))
    return http


async def main(requests: int, rounds: int) -> None:
    tmp = tempfile.TemporaryDirectory()
    subjects = {  # name -> (client, path, expected status)
        "no-op Starlette": (client(noop_app()), "/noop", 200),
        "minimal write endpoint": (client(minimal_write_app(os.path.join(tmp.name, "minimal.db"))), "/write", 201),
        "bookkeeping floor": (client(bookkeeping_floor_app()), "/api/v1/balance/limits", 200),
        "floor + exchange": (client(bookkeeping_floor_app(exchange=True)), "/api/v1/balance/limits", 200),
        "GET /limits (pipeline)": (await mock_client(":memory:"), "/api/v1/balance/limits", 200),
        "emit, SQLite file": (await mock_client(os.path.join(tmp.name, "bench.db")), "/api/v1/balance/delta", 201),
        "emit, :memory:": (await mock_client(":memory:"), "/api/v1/balance/delta", 201),
        "emit, deferred verify": (await mock_client(os.path.join(tmp.name, "deferred.db"), delay=1),
                                  "/api/v1/balance/delta", 201),
    }
    for http, path, expect in subjects.values():  # warm-up: imports, caches, the first pages of the db
        await rate(http, path, expect, max(20, requests // 4))
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(rounds):  # interleaved, so a noisy moment hurts every subject alike
        for name, (http, path, expect) in subjects.items():
            samples[name].append(await rate(http, path, expect, requests))
    for http, _, _ in subjects.values():
        await http.aclose()
    tmp.cleanup()

    base = statistics.median(samples["no-op Starlette"])
    limits = statistics.median(samples["GET /limits (pipeline)"])
    print(f"single requests, {requests} sequential requests x {rounds} rounds, median req/s "
          f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)\n")
    print(f"{'subject':<24}{'req/s':>10}{'µs/req':>10}{'vs no-op':>10}{'vs /limits':>12}   target")
    for name, values in samples.items():
        rps = statistics.median(values)
        verdict = ""
        if name == "GET /limits (pipeline)":
            verdict = f">= {LIMITS_TARGET:.0%} of the no-op  {'OK' if rps / base >= LIMITS_TARGET else 'BELOW'}"
        elif name == "emit, :memory:":
            verdict = f">= {EMIT_TARGET:.0%} of /limits  {'OK' if rps / limits >= EMIT_TARGET else 'BELOW'}"
        print(f"{name:<24}{rps:>10.0f}{1e6 / rps:>10.0f}{rps / base:>10.1%}{rps / limits:>12.1%}   {verdict}")
    us = {name: 1e6 / statistics.median(values) for name, values in samples.items()}
    floor = us["bookkeeping floor"] - us["no-op Starlette"]
    floor_exchange = us["floor + exchange"] - us["no-op Starlette"]
    pipeline = us["GET /limits (pipeline)"] - us["no-op Starlette"]
    print(f"\nbeyond the no-op ({us['no-op Starlette']:.0f} µs): the bookkeeping floor takes {floor:.0f} µs "
          f"({floor_exchange:.0f} µs with the recorded exchange the journal now keeps), GET /limits "
          f"{pipeline:.0f} µs (the 75% target allows {us['no-op Starlette'] / LIMITS_TARGET - us['no-op Starlette']:.0f} µs);"
          f" GET /limits is {us['floor + exchange'] / us['GET /limits (pipeline)']:.0%} of that floor's speed")
    print(f"an emit (:memory:, verifying the previous one) takes {us['emit, :memory:'] - us['GET /limits (pipeline)']:.0f} µs"
          f" beyond GET /limits (the 60% target allows {us['GET /limits (pipeline)'] / EMIT_TARGET - us['GET /limits (pipeline)']:.0f} µs);"
          f" deferred verification: {us['emit, deferred verify'] - us['GET /limits (pipeline)']:.0f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per round and subject")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
