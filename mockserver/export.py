"""`pacspace-mock export`: the ledger of a database file out to CSV, JSON or NDJSON, one file per
table (or one table on stdout), read-only and streamed.

The file is opened by store/readonly.py (`mode=ro`, one snapshot, safe beside a running `serve`)
and read through sqlite-utils, which is imported here only, inside the command: the server never
loads it (its import costs ~40 ms of every start). Rows are read from cursors and written one at
a time; webhook bodies are rendered a hundred at a time (ledger/events.py), so memory does not
grow with the table.

Columns carry the API's JSON names (the Delta, Checkpoint, Delivery objects of balance-api.md
§5.0, the journal entry of §8.7) and values as the API writes them: timestamps as
`YYYY-MM-DDTHH:MM:SS.mmmZ`, exact decimals as strings (`"-0.000001"`, never a float). Every row
starts with `workspace`, the key's public part (`pk_test_demo`). README.md lists the columns.

Cell types: JSON objects (metadata, scope, attemptLog, fault) are nested values in json/ndjson
and compact JSON text in CSV; booleans are true/false; NULL is null (an empty CSV cell); a BLOB is
`{"$base64": true, "encoded": …}` in json/ndjson (the form `sqlite-utils insert` reads back) and
base64 text in CSV.
"""

from __future__ import annotations

import base64
import os
import re
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import IO, Any, Callable, Iterable, Iterator

from .jsonout import dumpb, dumps
from .proofs.primitives import canonical_decimal, format_ts
from .store import readonly

FORMATS = ("csv", "json", "ndjson")
EXTENSIONS = {"csv": "csv", "json": "json", "ndjson": "ndjson"}
KEY_RE = re.compile(r"^pk_(test|live)_([A-Za-z0-9_-]{1,64})(\.[A-Za-z0-9_-]{1,128})?\Z")
BODY_CHUNK = 100  # outbox rows whose bodies are rendered together


class ExportError(Exception):
    """Why nothing (more) can be exported: one sentence for the user."""


def _decimal(text: str | None) -> str | None:
    """A stored exact decimal as the API writes it, as a string."""
    return None if text is None else canonical_decimal(Decimal(text))


# --- the tables ---------------------------------------------------------------------------------

@dataclass
class Source:
    """What a table reads for one workspace: a sqlite-utils Database and a ledger context."""

    db: Any  # sqlite_utils.Database
    ctx: Any  # ledger.context.Ctx of the workspace (read-only: nothing is written through it)
    workspace: str  # the key's public part

    def query(self, sql: str, params: Iterable[Any] = ()) -> Iterator[dict[str, Any]]:
        return self.db.query(sql, list(params))


CUSTOMER_COLUMNS = ["workspace", "customerId", "displayName", "handle", "accessCode", "customerReference",
                    "customerPartition", "sharingStateHint", "eventCadence", "unitLabel", "source", "createdAt"]


def customers(src: Source) -> Iterator[dict[str, Any]]:
    for c in src.query("SELECT * FROM customers WHERE ws = ? ORDER BY id", [src.ctx.ws.id]):
        yield {"workspace": src.workspace, "customerId": c["customer_id"], "displayName": c["display_name"],
               "handle": c["handle"], "accessCode": c["access_code"], "customerReference": c["customer_reference"],
               "customerPartition": c["customer_partition"], "sharingStateHint": c["sharing_state_hint"],
               "eventCadence": c["event_cadence"], "unitLabel": c["unit_label"], "source": c["source"],
               "createdAt": format_ts(c["created_ms"])}


# the Delta object (§5.0.1) less its aliases (contentHash, createdAt, sequenceNumber,
# blockTimestamp); its signed amount `delta` is `amount` here (as in the delta.verified event)
DELTA_COLUMNS = ["workspace", "recordId", "customerId", "sequence", "deltaIndex", "amount", "reason", "referenceId",
                 "metadata", "adjusts", "status", "period", "recordedAt", "processingAt", "verifiedAt", "failedAt",
                 "fingerprint", "metadataDigest", "receiptId", "verificationReference", "error", "errorMessage"]


def deltas(src: Source) -> Iterator[dict[str, Any]]:
    from .ledger.deltas import DELTA_COLUMNS as STORED, delta_object

    # receiptId is the batch's proof hash, read through `batch` (deltas do not store it)
    for row in src.query(f"SELECT {STORED} FROM deltas WHERE ws = ? ORDER BY n", [src.ctx.ws.id]):
        d = delta_object(row)
        d["amount"] = row["amount"]  # stored canonical: the exact text of `delta`
        yield {"workspace": src.workspace, **{name: d[name] for name in DELTA_COLUMNS[1:]}}


# the Checkpoint object (§5.0.2) less its aliases and links, with the totals its receipt shows
CHECKPOINT_COLUMNS = ["workspace", "checkpointId", "customerId", "status", "period", "startDate", "endDate", "scope",
                      "selectionMode", "proofRoot", "itemsRoot", "treeSize", "fromSequence", "toSequence",
                      "netChange", "totalCredits", "totalDebits", "chainId", "ledgerId", "previousProofRoot",
                      "supersedes", "supersededBy", "createdAt", "verifiedAt", "failedAt", "verificationReference",
                      "receiptGenerated"]


def checkpoints(src: Source) -> Iterator[dict[str, Any]]:
    from .ledger.checkpoints import checkpoint_object

    for c in src.query("SELECT * FROM checkpoints WHERE ws = ? ORDER BY n", [src.ctx.ws.id]):
        obj = checkpoint_object(src.ctx, c)
        obj.update(netChange=_decimal(c["net_change"]), totalCredits=_decimal(c["total_credits"]),
                   totalDebits=_decimal(c["total_debits"]), receiptGenerated=bool(c["receipt_generated"]))
        yield {"workspace": src.workspace, **{name: obj[name] for name in CHECKPOINT_COLUMNS[1:]}}


# a receipt per checkpoint whose receipt was generated (receipt.generated fired): the members of
# the customer receipts list (§5.17) and the receipt's totals; links need a server, so none here
RECEIPT_COLUMNS = ["workspace", "receiptId", "checkpointId", "customerId", "period", "startDate", "endDate",
                   "proofRoot", "itemsRoot", "status", "deltaCount", "finalBalance", "netChange", "totalCredits",
                   "totalDebits", "createdAt", "supersededBy"]


def receipts(src: Source) -> Iterator[dict[str, Any]]:
    for c in src.query("SELECT * FROM checkpoints WHERE ws = ? AND receipt_generated = 1 ORDER BY n",
                       [src.ctx.ws.id]):
        net = _decimal(c["net_change"])
        yield {"workspace": src.workspace, "receiptId": c["checkpoint_id"], "checkpointId": c["checkpoint_id"],
               "customerId": c["customer_id"], "period": c["period"], "startDate": format_ts(c["start_ms"]),
               "endDate": format_ts(c["end_ms"]), "proofRoot": c["proof_root"], "itemsRoot": c["items_root"],
               "status": c["status"], "deltaCount": c["tree_size"], "finalBalance": net, "netChange": net,
               "totalCredits": _decimal(c["total_credits"]), "totalDebits": _decimal(c["total_debits"]),
               "createdAt": format_ts(c["created_ms"]), "supersededBy": c["superseded_by"]}


# the outbox of GET /_mock/webhooks/outbox (§8.8): the Delivery object (§5.0.5), the exact body
# text every attempt sends (rendered from the ledger for delta events) and the attempt log
OUTBOX_COLUMNS = ["workspace", "eventId", "event", "customerId", "deliveryStatus", "attempts", "maxAttempts", "url",
                  "createdAt", "lastAttemptAt", "lastResponseStatus", "lastError", "nextAttemptAt", "deliveredAt",
                  "captured", "body", "attemptLog"]


def outbox(src: Source) -> Iterator[dict[str, Any]]:
    from .ledger.events import bodies
    from .webhooks.deliveries import attempt_log, delivery_object

    rows = src.query("SELECT * FROM events WHERE ws = ? ORDER BY n", [src.ctx.ws.id])
    while True:
        chunk = list(islice(rows, BODY_CHUNK))
        if not chunk:
            return
        for r, text in zip(chunk, bodies(src.ctx, chunk)):
            yield {"workspace": src.workspace, "customerId": r["customer_id"], **delivery_object(r), "body": text,
                   "attemptLog": attempt_log(r["attempt_log"])}


# the journal entry of §8.7 (GET /_mock/journal), oldest first, of the requests the API still
# shows (the last `journalSize`). Generic: every member an entry holds becomes a column, and so
# does every other stored column of the journal table (camelCased), whatever the schema adds.
JOURNAL_MEMBERS = ["seq", "requestId", "at", "method", "path", "query", "route", "status", "latencyMs", "customerId",
                   "idempotencyKey", "idempotentReplay", "errorCode", "fault", "userAgent", "chainId"]
# stored for filtering (at_ms, keys) or decoded into `exchange` (the recorded request and reply,
# as GET /_mock/journal?exchange=true shows it)
JOURNAL_INTERNAL = {"id", "ws", "entry", "at_ms", "keys", "exchange"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def journal_columns(db: Any, ws_ids: list[int]) -> tuple[list[str], list[str]]:
    """(the export's columns, the stored columns beyond the entry) for these workspaces."""
    members = list(JOURNAL_MEMBERS)
    if ws_ids:
        marks = ",".join("?" * len(ws_ids))
        for row in db.query(f"SELECT DISTINCT j.key AS name FROM journal, json_each(journal.entry) j"
                            f" WHERE journal.ws IN ({marks}) ORDER BY 1", ws_ids):
            if row["name"] not in members:
                members.append(row["name"])
    stored = [c.name for c in db["journal"].columns if c.name not in JOURNAL_INTERNAL]
    extra = [c for c in stored if camel(c) not in members]
    return ["workspace", *members, "exchange", *(camel(c) for c in extra)], extra


def journal(src: Source, columns: list[str], extra: list[str]) -> Iterator[dict[str, Any]]:
    import json

    from . import exchanges

    ws = src.ctx.ws
    keep = int(ws.settings.get("journalSize", 1000))
    names = [(c, camel(c)) for c in extra]
    for row in src.query("SELECT * FROM journal WHERE ws = ? AND seq > (SELECT n_req FROM workspaces WHERE id = ?)"
                         " - ? ORDER BY seq", [ws.id, ws.id, keep]):
        entry = json.loads(row["entry"])
        out = {name: entry.get(name) for name in columns}
        out["workspace"] = src.workspace
        out["exchange"] = exchanges.load(row["exchange"])
        for stored, name in names:
            out[name] = row[stored]
        yield out


TABLES = ("customers", "deltas", "checkpoints", "receipts", "outbox", "journal")
FIXED_COLUMNS: dict[str, list[str]] = {"customers": CUSTOMER_COLUMNS, "deltas": DELTA_COLUMNS,
                                       "checkpoints": CHECKPOINT_COLUMNS, "receipts": RECEIPT_COLUMNS,
                                       "outbox": OUTBOX_COLUMNS}
READERS: dict[str, Callable[[Source], Iterator[dict[str, Any]]]] = {
    "customers": customers, "deltas": deltas, "checkpoints": checkpoints, "receipts": receipts, "outbox": outbox}


# --- writers ------------------------------------------------------------------------------------

_NEEDS_QUOTES = re.compile(r'[",\r\n]')


def _csv_cell(value: Any) -> str:
    """One CSV field (RFC 4180, as the csv module's excel dialect writes it: quoted when it holds
    a comma, a quote or a line break), written here because the csv module's writer takes ~70 ns
    a character, most of an export's time on a webhook body of ~9 KB."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        text = value
    elif isinstance(value, int):
        return str(value)
    elif isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    elif isinstance(value, Decimal):
        return canonical_decimal(value)
    elif isinstance(value, float):  # not written by this module; a column the schema may add
        return repr(value)
    else:
        text = dumps(value)  # an object or array: compact JSON, exact numbers
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, memoryview)):
        return {"$base64": True, "encoded": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def write_rows(stream: IO[bytes], fmt: str, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
    """Write rows to a binary stream as they come; returns how many."""
    n = 0
    if fmt == "csv":
        stream.write((",".join(_csv_cell(c) for c in columns) + "\r\n").encode("utf-8"))
        for row in rows:
            stream.write((",".join([_csv_cell(row[c]) for c in columns]) + "\r\n").encode("utf-8"))
            n += 1
        return n
    if fmt == "ndjson":
        for row in rows:
            stream.write(dumpb({c: _json_value(row[c]) for c in columns}) + b"\n")
            n += 1
        return n
    stream.write(b"[")
    for row in rows:
        stream.write((b"\n" if n == 0 else b",\n") + dumpb({c: _json_value(row[c]) for c in columns}))
        n += 1
    stream.write(b"\n]\n" if n else b"]\n")
    return n


# --- the command --------------------------------------------------------------------------------

def _sqlite_utils():
    try:
        import sqlite_utils
    except ImportError:
        raise ExportError("export needs sqlite-utils: pip install 'pacspace-mock[export]'") from None
    return sqlite_utils


def key_part(key: str) -> tuple[str, str]:
    """(env, public id) of an API key or its public part."""
    m = KEY_RE.match(key)
    if not m:
        raise ExportError(f"--key {key!r} is not a PacSpace API key (pk_test_… or pk_live_…)")
    return m.group(1), m.group(2)


@dataclass
class Plan:
    db_path: str
    key: str | None
    fmt: str
    out: str  # a directory, or "-" for the binary stream given to run()
    tables: tuple[str, ...]


def run(plan: Plan, stdout: IO[bytes]) -> dict[str, int]:
    """Export; returns rows written per table. Raises ExportError."""
    from .ledger.context import Ctx
    from .runtime import Workspace

    if plan.out == "-" and len(plan.tables) != 1:
        raise ExportError("writing to stdout (--out -) exports one table: give --table "
                          f"({', '.join(TABLES)}), or --out DIR for one file per table")
    sqlite_utils = _sqlite_utils()
    try:
        conn = readonly.open_readonly(plan.db_path)
    except readonly.Unreadable as exc:
        raise ExportError(str(exc)) from None
    try:
        if plan.key is not None:
            env, public_id = key_part(plan.key)
            rows = readonly.workspaces(conn, env, public_id)
            if not rows:
                raise ExportError(f"no workspace pk_{env}_{public_id} in {plan.db_path}")
        else:
            rows = readonly.workspaces(conn)
        db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
        sources = []
        for row in rows:
            ws = Workspace.from_row(row)
            sources.append(Source(db, Ctx(runtime=None, conn=conn, ws=ws, now=0), ws.key_public_part))
        if plan.out != "-":
            os.makedirs(plan.out, exist_ok=True)
        written = {}
        for table in plan.tables:
            if table == "journal":
                columns, extra = journal_columns(db, [s.ctx.ws.id for s in sources])
                make = lambda s, c=columns, e=extra: journal(s, c, e)  # noqa: E731
            else:
                columns, make = FIXED_COLUMNS[table], READERS[table]
            rows_of = (row for s in sources for row in make(s))
            if plan.out == "-":
                written[table] = write_rows(stdout, plan.fmt, columns, rows_of)
                stdout.flush()
                continue
            path = os.path.join(plan.out, f"{table}.{EXTENSIONS[plan.fmt]}")
            partial = path + ".partial"
            try:
                with open(partial, "wb") as handle:
                    written[table] = write_rows(handle, plan.fmt, columns, rows_of)
                os.replace(partial, path)  # a file is there complete, or not at all
            except BaseException:
                if os.path.exists(partial):
                    os.unlink(partial)
                raise
        return written
    except sqlite3.DatabaseError as exc:
        raise ExportError(f"{plan.db_path}: cannot read it ({exc})") from None
    except OSError as exc:
        raise ExportError(f"cannot write {exc.filename or plan.out}: {exc.strerror}") from None
    finally:
        conn.close()


__all__ = ["TABLES", "FORMATS", "Plan", "run", "ExportError", "write_rows"]
