"""`pacspace-mock export` and `pacspace-mock inspect`: a ledger built through the HTTP API on a file
database, exported in every format and checked against what the API itself answers (ids, exact
decimal strings, webhook bodies byte for byte, the journal), one workspace at a time or all,
to files or stdout, read-only beside a running server, in bounded memory."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tracemalloc
from decimal import Decimal

import pytest
import requests
from click.testing import CliRunner

from conftest import require_tool
from mockserver.cli import EXPORT_FORMATS, EXPORT_TABLES, main
from mockserver.embedded import EmbeddedServer
from mockserver.runtime import Runtime, ServerConfig

try:
    import sqlite_utils  # noqa: F401 - the export's dependency ([export] and [test] extras)
    HAVE_SQLITE_UTILS = True
except ImportError:
    HAVE_SQLITE_UTILS = False

B = "/api/v1/balance"
KEY_A = "pk_test_exporta"
KEY_B = "pk_live_exportb"
BIG = "999999999.999999"  # the largest amount with the most digits the contract takes
TINY = "-0.000000000000000001"  # a float would write -1e-18
RATE = "0.1000000000000000055511151231257827"  # what a float would print as 0.1


@pytest.fixture(autouse=True)
def _needs_sqlite_utils():
    require_tool(HAVE_SQLITE_UTILS, "sqlite-utils is not installed (pip install -e '.[test]')")


class Api:
    def __init__(self, url: str, key: str):
        self.url = url
        self.http = requests.Session()
        self.http.headers["X-Api-Key"] = key

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, self.url + path, **kwargs)

    def ok(self, method: str, path: str, **kwargs):
        reply = self.call(method, path, **kwargs)
        assert reply.ok, reply.text
        return json.loads(reply.text, parse_float=Decimal)["data"]

    def raw(self, method: str, path: str, text: str) -> dict:
        """A request with a JSON body written by hand (exact decimals, no float on the way)."""
        reply = self.call(method, path, data=text.encode(), headers={"Content-Type": "application/json"})
        assert reply.ok, reply.text
        return json.loads(reply.text, parse_float=Decimal)["data"]


def build_ledger(url: str) -> dict:
    """Two workspaces; in the first: a failed, verified and queued deltas, a batch, exact decimals,
    metadata, a dashboard customer, a checkpoint whose webhook fails (pending), a receipt."""
    a, b = Api(url, KEY_A), Api(url, KEY_B)
    a.ok("POST", "/_mock/clock/freeze", json={"at": "2026-04-02T10:00:00.000Z"})
    a.ok("PATCH", "/_mock/settings", json={"processingDelaySeconds": 1, "verifyDelaySeconds": 2})
    a.ok("POST", "/_mock/faults", json={"match": {"route": "balance.emit"}, "times": 1,
                                        "actions": [{"type": "fail_verification"}]})
    records = [a.raw("POST", f"{B}/delta", '{"customerId":"cust_a","delta":-120,"reason":"fails","referenceId":"r-0"}')]
    records.append(a.raw("POST", f"{B}/delta", '{"customerId":"cust_a","delta":' + TINY + ',"reason":"tiny",'
                                               f'"referenceId":"r-1","metadata":{{"rate":{RATE},"n":"x,\\"y\\""}}}}'))
    batch = a.raw("POST", f"{B}/delta/batch", f'{{"deltas":[{{"customerId":"cust_a","delta":{BIG},"reason":"big",'
                                              '"adjusts":{"referenceId":"r-1"}},'
                                              '{"customerId":"cust_b","delta":12.5,"reason":"line, with \\"quotes\\", a comma"}]}')
    records += [r for r in batch["results"]]
    a.ok("POST", "/dashboard/customers", json={"displayName": "Dash Co", "customerId": "cust_dash"},
         headers={"Authorization": "Bearer t"})
    a.ok("POST", "/_mock/clock/advance", json={"seconds": 2})
    a.ok("POST", "/_mock/faults", json={"match": {"event": "checkpoint.verified"},
                                        "actions": [{"type": "webhook_failure"}]})
    a.ok("POST", f"{B}/checkpoint", json={"customerId": "cust_a", "period": "2026-04"})
    a.ok("POST", "/_mock/clock/advance", json={"seconds": 2})
    a.ok("POST", "/_mock/clock/set", json={"now": "2026-05-01T00:00:01.000Z"})
    records.append(a.raw("POST", f"{B}/delta", '{"customerId":"cust_b","delta":-3,"reason":"still queued"}'))
    b.ok("POST", "/_mock/clock/freeze", json={"at": "2026-04-02T09:00:00.000Z"})  # QUEUED until it moves
    b.raw("POST", f"{B}/delta", '{"customerId":"cust_z","delta":7.25,"reason":"other workspace"}')

    api: dict = {"deltas": [a.ok("GET", f"{B}/delta/{r['recordId']}") for r in records]}
    api["receipt"] = a.ok("GET", f"{B}/invoice-proof/cust_a", params={"period": "2026-04"})
    api["checkpoints"] = a.ok("GET", f"{B}/checkpoints")["checkpoints"]
    api["customers"] = {c: a.ok("GET", f"{B}/customers/{c}") for c in ("cust_a", "cust_b", "cust_dash")}
    api["b_deltas"] = [b.ok("GET", f"{B}/delta/{d['recordId']}")
                       for d in b.ok("GET", f"{B}/customers/cust_z")["recentActivity"]["items"]]
    # control-plane reads last: they are not journaled, so the journal stays as exported
    api["outbox"] = a.ok("GET", "/_mock/webhooks/outbox", params={"limit": 1000})["entries"]
    api["outbox_text"] = a.call("GET", "/_mock/webhooks/outbox", params={"limit": 1000}).text
    api["journal"] = a.ok("GET", "/_mock/journal", params={"limit": 1000, "exchange": "true"})["entries"][::-1]
    api["b_journal"] = b.ok("GET", "/_mock/journal", params={"limit": 1000})["entries"][::-1]
    return api


class Ledger:
    def __init__(self, path, runtime, server, api):
        self.path, self.runtime, self.server, self.api = str(path), runtime, server, api


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    if not HAVE_SQLITE_UTILS:
        pytest.skip("sqlite-utils is not installed")
    path = tmp_path_factory.mktemp("export") / "ledger.sqlite"
    runtime = Runtime(ServerConfig(seed=7), db_path=str(path))
    with EmbeddedServer(runtime) as server:  # running during every test: exports read beside it
        yield Ledger(path, runtime, server, build_ledger(server.url))


def export(*args) -> tuple[int, str, bytes]:
    result = CliRunner().invoke(main, ["export", *map(str, args)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output, result.stdout_bytes


def export_to(ledger, tmp_path, fmt: str, *args) -> dict[str, bytes]:
    out = tmp_path / fmt
    code, output, _ = export("--db", ledger.path, "--format", fmt, "--out", out, *args)
    assert code == 0, output
    return {name.rsplit(".", 1)[0]: (out / name).read_bytes() for name in os.listdir(out)}


def rows_of(fmt: str, data: bytes) -> list[dict]:
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    if fmt == "ndjson":
        return [json.loads(line, parse_float=Decimal) for line in data.decode("utf-8").splitlines()]
    return json.loads(data, parse_float=Decimal)


def cell(value, fmt: str):
    """An API value as the export writes it in `fmt` (CSV: text)."""
    if fmt != "csv":
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


# --- the tables, in every format ------------------------------------------------------------------

@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_deltas_carry_the_api_values_and_exact_decimal_strings(ledger, tmp_path, fmt):
    files = export_to(ledger, tmp_path, fmt, "--key", KEY_A)
    assert sorted(files) == sorted(EXPORT_TABLES)
    rows = rows_of(fmt, files["deltas"])
    api = ledger.api["deltas"]
    assert [r["recordId"] for r in rows] == [d["recordId"] for d in api]
    assert [r["amount"] for r in rows] == ["-120", TINY, BIG, "12.5", "-3"]  # strings, never floats
    assert [r["status"] for r in rows] == ["FAILED", "VERIFIED", "VERIFIED", "VERIFIED", "QUEUED"]
    same = ["recordId", "customerId", "sequence", "deltaIndex", "reason", "referenceId", "status", "period",
            "recordedAt", "processingAt", "verifiedAt", "failedAt", "fingerprint", "metadataDigest", "receiptId",
            "verificationReference", "error", "errorMessage"]
    for row, d in zip(rows, api):
        assert row["workspace"] == KEY_A
        assert {k: row[k] for k in same} == {k: cell(d[k], fmt) for k in same}
    assert rows[0]["errorMessage"] and rows[0]["receiptId"] == api[0]["receiptId"]  # failed: batch hash still
    assert rows[2]["receiptId"] == rows[3]["receiptId"] != rows[1]["receiptId"]  # one batch, one receiptId
    if fmt == "csv":
        assert rows[1]["metadata"] == f'{{"rate":{RATE},"n":"x,\\"y\\""}}'
        assert rows[2]["adjusts"] == '{"referenceId":"r-1"}' and rows[3]["reason"] == 'line, with "quotes", a comma'
    else:
        assert rows[1]["metadata"] == {"rate": Decimal(RATE), "n": 'x,"y"'}
        assert f'"metadata":{{"rate":{RATE},'.encode() in files["deltas"]  # the digits as written
        assert rows[2]["adjusts"] == {"referenceId": "r-1"} and rows[0]["metadata"] is None


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_outbox_bodies_are_the_api_outbox_byte_for_byte(ledger, tmp_path, fmt):
    rows = rows_of(fmt, export_to(ledger, tmp_path, fmt, "--key", KEY_A, "--table", "outbox")["outbox"])
    entries = ledger.api["outbox"]
    assert [r["event"] for r in rows] == ["customer.created", "delta.failed", "delta.verified", "delta.verified",
                                          "delta.verified", "checkpoint.verified", "receipt.generated"]
    assert [r["eventId"] for r in rows] == [e["eventId"] for e in entries]
    # the exact text every attempt signs and sends, as GET /_mock/webhooks/outbox shows it
    raw = json.loads(ledger.api["outbox_text"])["data"]["entries"]
    assert [r["body"] for r in rows] == [e["body"] for e in raw]
    assert all(json.loads(r["body"])["id"] == r["eventId"] for r in rows)
    for row, entry in zip(rows, entries):
        assert {k: row[k] for k in entry} == {k: cell(v, fmt) for k, v in entry.items()}
    assert [r["deliveryStatus"] for r in rows] == ["delivered"] * 5 + ["failed", "pending"]
    assert rows[-2]["lastError"] == "injected_500" and rows[-2]["attempts"] == cell(11, fmt)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_checkpoints_receipts_and_customers(ledger, tmp_path, fmt):
    files = export_to(ledger, tmp_path, fmt, "--key", KEY_A)
    (checkpoint,) = rows_of(fmt, files["checkpoints"])
    (api,) = ledger.api["checkpoints"]
    same = ["checkpointId", "customerId", "status", "period", "startDate", "endDate", "scope", "selectionMode",
            "proofRoot", "itemsRoot", "treeSize", "fromSequence", "toSequence", "chainId", "ledgerId",
            "previousProofRoot", "supersedes", "supersededBy", "createdAt", "verifiedAt", "failedAt",
            "verificationReference"]
    assert {k: checkpoint[k] for k in same} == {k: cell(api[k], fmt) for k in same}
    # cust_a's verified deltas (the FAILED one is not covered), exact to the last digit
    assert (checkpoint["netChange"], checkpoint["totalCredits"], checkpoint["totalDebits"]) == (
        "999999999.999998999999999999", BIG, TINY)

    (receipt,) = rows_of(fmt, files["receipts"])
    doc = ledger.api["receipt"]
    for k in ("receiptId", "checkpointId", "customerId", "period", "startDate", "endDate", "proofRoot", "itemsRoot",
              "status", "deltaCount"):
        assert receipt[k] == cell(doc[k], fmt), k
    assert receipt["finalBalance"] == receipt["netChange"] == checkpoint["netChange"]
    assert Decimal(receipt["finalBalance"]) == doc["finalBalance"]

    customers = {c["customerId"]: c for c in rows_of(fmt, files["customers"])}
    assert list(customers) == ["cust_a", "cust_b", "cust_dash"]
    for cid, detail in ledger.api["customers"].items():
        row = customers[cid]
        assert (row["handle"], row["customerReference"], row["customerPartition"], row["source"]) == (
            detail["handle"], detail["customerReference"], cell(detail["customerPartition"], fmt), detail["source"])
        assert row["accessCode"] == detail["sharedRecord"]["accessHint"]
    assert customers["cust_dash"]["displayName"] == "Dash Co"
    assert customers["cust_a"]["displayName"] == cell(None, fmt)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_journal_is_the_api_journal(ledger, tmp_path, fmt):
    rows = rows_of(fmt, export_to(ledger, tmp_path, fmt, "--table", "journal")["journal"])
    mine = [r for r in rows if r["workspace"] == KEY_A]
    assert len(mine) == len(ledger.api["journal"]) > 10
    for row, entry in zip(mine, ledger.api["journal"]):
        exchange = row["exchange"] if fmt != "csv" else json.loads(row["exchange"], parse_float=Decimal)
        for side in ("request", "response"):
            for member, value in entry["exchange"][side].items():
                assert exchange[side][member] == value, (fmt, side, member, exchange[side][member], value)
        assert {k: row[k] for k in entry if k != "exchange"} == {k: cell(v, fmt) for k, v in entry.items()
                                                                 if k != "exchange"}
    theirs = [r for r in rows if r["workspace"] == KEY_B]
    assert [r["requestId"] for r in theirs] == [e["requestId"] for e in ledger.api["b_journal"]]


def test_json_is_one_array_of_the_ndjson_objects(ledger, tmp_path):
    as_json = export_to(ledger, tmp_path, "json")
    as_ndjson = export_to(ledger, tmp_path, "ndjson")
    for table in EXPORT_TABLES:
        assert rows_of("json", as_json[table]) == rows_of("ndjson", as_ndjson[table]), table
    assert as_json["deltas"].startswith(b"[\n{") and as_json["deltas"].endswith(b"}\n]\n")


def test_csv_header_is_the_documented_columns(ledger, tmp_path):
    files = export_to(ledger, tmp_path, "csv", "--table", "deltas", "--table", "receipts")
    assert sorted(files) == ["deltas", "receipts"]
    assert files["deltas"].split(b"\r\n", 1)[0] == (
        b"workspace,recordId,customerId,sequence,deltaIndex,amount,reason,referenceId,metadata,adjusts,status,period,"
        b"recordedAt,processingAt,verifiedAt,failedAt,fingerprint,metadataDigest,receiptId,verificationReference,"
        b"error,errorMessage")
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    assert "recordId, customerId, sequence, deltaIndex, amount" in readme  # the README lists them


# --- workspaces, stdout -------------------------------------------------------------------------

def test_all_workspaces_or_one_by_key(ledger, tmp_path):
    every = rows_of("ndjson", export_to(ledger, tmp_path / "all", "ndjson", "--table", "deltas")["deltas"])
    assert [r["workspace"] for r in every] == [KEY_A] * 5 + [KEY_B]
    (only,) = rows_of("ndjson", export_to(ledger, tmp_path / "b", "ndjson", "--key", KEY_B)["deltas"])
    assert (only["workspace"], only["amount"], only["customerId"]) == (KEY_B, "7.25", "cust_z")
    assert only["recordId"] == ledger.api["b_deltas"][0]["recordId"]
    # the full key works too (its secret part is ignored)
    full = export_to(ledger, tmp_path / "full", "ndjson", "--key", KEY_B + ".secret123", "--table", "deltas")
    assert rows_of("ndjson", full["deltas"]) == [only]


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_stdout_gives_one_table_as_the_file_holds_it(ledger, tmp_path, fmt):
    files = export_to(ledger, tmp_path, fmt, "--key", KEY_A, "--table", "outbox")
    code, _, stdout = export("--db", ledger.path, "--format", fmt, "--key", KEY_A, "--table", "outbox", "--out", "-")
    assert code == 0 and stdout == files["outbox"]
    code, _, stdout = export("--db", ledger.path, "--format", fmt, "--key", KEY_A, "--table", "receipts")
    assert code == 0 and len(rows_of(fmt, stdout)) == 1


# --- read-only, beside a running server -------------------------------------------------------------

def digest(path: str) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_export_reads_one_snapshot_beside_a_writer_and_never_writes(ledger, tmp_path):
    before = digest(ledger.path)
    store = ledger.runtime.store

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback):
        with store.transaction() as conn:  # the server is in the middle of a write
            conn.execute("UPDATE customers SET display_name = 'uncommitted'")
            files = export_to(ledger, tmp_path, "ndjson", "--key", KEY_A, "--table", "customers")
            raise Rollback
    assert [c["displayName"] for c in rows_of("ndjson", files["customers"])] == [None, None, "Dash Co"]
    assert digest(ledger.path) == before
    from mockserver.store.readonly import open_readonly

    conn = open_readonly(ledger.path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM journal")
    conn.close()


# --- errors: one line, exit status 2 --------------------------------------------------------------------

def old_schema(tmp_path) -> str:
    path = str(tmp_path / "v1.sqlite")
    from mockserver.store import Store

    store = Store(path)
    store.conn.execute("PRAGMA user_version = 1")
    store.close()
    return path


@pytest.mark.parametrize("args,message", [
    (["--db", "{tmp}/missing.sqlite", "--table", "deltas"], "Error: {tmp}/missing.sqlite: no such file"),
    (["--db", "{tmp}", "--table", "deltas"], "Error: {tmp}: is a directory, not a database file"),
    (["--db", "{text}", "--table", "deltas"], "Error: {text}: not an SQLite database"),
    (["--db", "{empty}", "--table", "deltas"], "Error: {empty}: not a pacspace-mock database (it has no workspaces table)"),
    (["--db", "{old}", "--table", "deltas"], "Error: {old}: schema version 1 is older than this release's 2; open it"
                                             " once with `pacspace-mock serve --db {old}` to upgrade it"),
    (["--db", "{db}", "--key", "pk_test_nobody", "--table", "deltas"], "Error: no workspace pk_test_nobody in {db}"),
    (["--db", "{db}", "--key", "sk_test_x", "--table", "deltas"],
     "Error: --key 'sk_test_x' is not a PacSpace API key (pk_test_… or pk_live_…)"),
    (["--db", "{db}"], "Error: writing to stdout (--out -) exports one table: give --table (customers, deltas,"
                       " checkpoints, receipts, outbox, journal), or --out DIR for one file per table"),
    (["--db", "{db}", "--out", "-", "--table", "deltas", "--table", "outbox"], "Error: writing to stdout"),
])
def test_what_cannot_be_exported_is_one_line_and_status_2(ledger, tmp_path, args, message):
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database\n" * 50)
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    names = {"tmp": str(tmp_path), "text": str(text), "empty": str(empty), "db": ledger.path}
    if "{old}" in message:
        names["old"] = old_schema(tmp_path)
    code, output, _ = export(*(a.format(**names) for a in args))
    assert code == 2
    assert output.count("\n") == 1 and output.startswith(message.format(**names)), output


def test_an_error_goes_to_stderr_and_no_file_is_left_half_written(ledger, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "mockserver.cli", "export", "--db", str(tmp_path / "nope.sqlite"),
                           "--out", str(out)], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"Error: {tmp_path / 'nope.sqlite'}: no such file\n")
    assert not out.exists() or not os.listdir(out)


# --- the journal stays generic -----------------------------------------------------------------------

def test_journal_columns_the_schema_adds_are_exported(ledger, tmp_path):
    copy = str(tmp_path / "copy.sqlite")
    source = sqlite3.connect(f"file:{ledger.path}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.execute("ALTER TABLE journal ADD COLUMN request_body BLOB")
    target.execute("ALTER TABLE journal ADD COLUMN reply_headers TEXT")
    target.execute("UPDATE journal SET request_body = X'7b2261223a317dff', reply_headers = '{\"x\":\"1\"}'")
    target.commit()
    target.close()
    code, output, stdout = export("--db", copy, "--key", KEY_A, "--table", "journal", "--format", "ndjson")
    assert code == 0, output
    first = json.loads(stdout.splitlines()[0])
    assert first["requestBody"] == {"$base64": True, "encoded": "eyJhIjoxff8="}  # as sqlite-utils reads it back
    assert first["replyHeaders"] == '{"x":"1"}' and first["seq"] == 1
    code, output, stdout = export("--db", copy, "--key", KEY_A, "--table", "journal", "--format", "csv")
    header, row = list(csv.reader(io.StringIO(stdout.decode())))[:2]
    assert header[-2:] == ["requestBody", "replyHeaders"] and row[-2:] == ["eyJhIjoxff8=", '{"x":"1"}']


# --- memory ------------------------------------------------------------------------------------------------

def grow(url: str, key: str, batches: int, start: int) -> None:
    api = Api(url, key)
    for b in range(start, start + batches):
        items = ",".join(f'{{"customerId":"c{i % 3}","delta":-{b}.{i:03d}1,"reason":"usage"}}' for i in range(100))
        api.raw("POST", f"{B}/delta/batch", f'{{"deltas":[{items}]}}')
    api.ok("POST", "/_mock/clock/advance", json={"seconds": 1})  # verify them all: one event each


def export_peak(path: str, out) -> tuple[int, int]:
    """(tracemalloc peak, bytes written) of exporting deltas and outbox to files."""
    tracemalloc.start()
    try:
        code, output, _ = export("--db", path, "--out", out, "--table", "deltas", "--table", "outbox")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, output
    return peak, sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))


def test_memory_does_not_grow_with_the_table(tmp_path):
    path = str(tmp_path / "big.sqlite")
    runtime = Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0), db_path=path)
    with EmbeddedServer(runtime) as server:
        key = "pk_test_big"
        Api(server.url, key).ok("POST", "/_mock/clock/freeze", json={"at": "2026-04-02T10:00:00.000Z"})
        grow(server.url, key, 3, 1)
        export_peak(path, tmp_path / "warm")  # imports and caches are not the table's
        small_peak, small_size = export_peak(path, tmp_path / "small")
        grow(server.url, key, 27, 4)
        large_peak, large_size = export_peak(path, tmp_path / "large")
    assert large_size > 9 * small_size  # 3,000 deltas and events instead of 300 (~30 MB)
    assert large_peak < small_peak * 1.25 + 256 * 1024, (small_peak, large_peak)
    assert large_peak < 8 * 1024 * 1024


# --- inspect -------------------------------------------------------------------------------------------------

def inspect(*args):
    return CliRunner().invoke(main, ["inspect", *map(str, args)])


def test_inspect_counts_what_the_api_shows(ledger):
    result = inspect(ledger.path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{ledger.path}: ") and lines[0].endswith("; 2 workspace(s)")
    created = [l.split() for l in lines if l.startswith(KEY_A)]
    assert created[0][:2] == [KEY_A, "test"] and created[0][3:] == ["frozen", "2026-05-01T00:00:01.000Z"]
    counts = created[1]
    header = next(l for l in lines if l.startswith("workspace") and "customers" in l)
    assert header.split() == ["workspace", "customers", "QUEUED", "PROCESSING", "VERIFIED", "FAILED", "checkpoints",
                              "receipts", "events", "pending", "events", "delivered", "events", "failed", "journal"]
    journal = len(ledger.api["journal"])
    events = ledger.api["outbox"]
    pending = sum(1 for e in events if e["deliveryStatus"] == "pending")
    delivered = sum(1 for e in events if e["deliveryStatus"] == "delivered")
    failed = sum(1 for e in events if e["deliveryStatus"] == "failed")
    assert counts[1:] == [str(n) for n in (3, 1, 0, 3, 1, 1, 1, pending, delivered, failed, journal)]
    assert (pending, delivered, failed) == (1, 5, 1)
    other = [l.split() for l in lines if l.startswith(KEY_B)]
    assert other[0][1] == "live" and other[0][3:] == ["frozen", "2026-04-02T09:00:00.000Z"]
    assert other[1][1:] == [str(n) for n in (1, 1, 0, 0, 0, 0, 0, 0, 0, 0, len(ledger.api["b_journal"]))]
    table = {l.split()[0]: l.split()[1:] for l in lines[lines.index(next(l for l in lines if l.startswith("table"))):]}
    assert table["deltas"][0] == "6" and table["workspaces"][0] == "2"
    assert table["deltas"][2] in ("KiB", "MiB")  # dbstat sizes (Debian's and the wheels' SQLite have it)


def test_inspect_refuses_what_is_not_a_database(tmp_path):
    result = inspect(tmp_path / "missing.sqlite")
    assert result.exit_code == 2 and result.output == f"Error: {tmp_path / 'missing.sqlite'}: no such file\n"


# --- the command stays out of the server's way ----------------------------------------------------------------

def test_the_cli_loads_nothing_of_the_export_until_it_runs():
    probe = ("import json, sys, mockserver.cli\n"
             "print(json.dumps([m for m in ('sqlite_utils', 'mockserver.export') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == []
    from mockserver import export as module

    assert module.TABLES == EXPORT_TABLES and module.FORMATS == EXPORT_FORMATS
