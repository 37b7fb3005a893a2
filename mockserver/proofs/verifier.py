"""Offline verification of receipts, inclusion and consistency proofs, batch chains (proofs.md §6).

Every function takes untrusted input (reply text, or already-parsed JSON whose numbers may be
int, Decimal or float), never raises on malformed input, and returns a `Report` naming each
check that ran and each that failed, with sentences saying what differed. Nothing here trusts
a "verified" flag: every hash is recomputed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .merkle import EMPTY_ROOT, mth, verify_consistency, verify_inclusion
from .objects import (
    CHECKPOINT_OPTIONAL,
    CHECKPOINT_REQUIRED,
    MAX_SAFE_INTEGER,
    PROOF_SCHEME,
    anchor_reference,
    batch_preimage,
    batch_proof_hash,
    delta_preimage,
    fingerprint,
    metadata_digest,
    metadata_to_json_value,
    period_window,
    proof_root,
)
from .primitives import (
    EXACT,
    ZERO_HASH,
    JSONInputError,
    canonical_decimal,
    delta_amount_problem,
    format_ts,
    from_hex,
    is_hash,
    parse_json_exact,
    parse_rfc3339,
    to_hex,
)

CANONICAL_DECIMAL_RE = re.compile(r"0|-?(0\.[0-9]*[1-9]|[1-9][0-9]*(\.[0-9]*[1-9])?)")
EMPTY_ROOT_HEX = to_hex(EMPTY_ROOT)
MAX_INCLUSION_PROOF = 64

#: Check names of a whole-receipt verification, in the order they run (proofs.md T.12).
RECEIPT_CHECKS = (
    "json", "shape", "proofScheme", "checkpoint.wellFormed", "checkpoint.customerId",
    "checkpoint.period", "proofRoot", "anchor", "ledgerId", "deltas.wellFormed",
    "deltas.fingerprints", "deltas.window", "deltas.status", "deltas.order", "completeness",
    "itemHashes", "itemsRoot", "netChange", "balances",
)


# --- report ------------------------------------------------------------------------------------

@dataclass
class Report:
    """Outcome of one verification: ok only if every check that ran passed."""

    ok: bool = True
    failed: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def record(self, name: str, passed: bool, message: str | None = None) -> bool:
        """Add one outcome; several outcomes of one check AND together."""
        self.checks[name] = self.checks.get(name, True) and passed
        if not passed:
            self.ok = False
            if name not in self.failed:
                self.failed.append(name)
            if message:
                self.messages.append(f"[{name}] {message}")
        return passed

    def fail(self, name: str, message: str) -> bool:
        return self.record(name, False, message)

    def passed(self, name: str) -> bool:
        return self.record(name, True)

    def run(self, name: str, problems: list[str]) -> bool:
        """Record a check as passed when `problems` is empty, else one message per problem."""
        if not problems:
            return self.passed(name)
        for problem in problems:
            self.fail(name, problem)
        return False


# --- loose JSON values -------------------------------------------------------------------------

def _as_int(value: Any) -> int | None:
    """A JSON integer (int, integral Decimal or float), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        # adjusted() bounds the size first: int(Decimal("1e999999999")) would never finish.
        if value.is_finite() and value.adjusted() < 20 and value == value.to_integral_value():
            return int(value)
        return None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    return None


def _text(value: Decimal) -> str:
    """Canonical decimal for messages, without spelling out absurd exponents."""
    return canonical_decimal(value) if -40 < value.adjusted() < 40 else str(value)


def _as_decimal(value: Any) -> Decimal | None:
    """A JSON number as an exact decimal; a double is read back from its shortest repr (§2.6)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal, float)) and not isinstance(value, bool)


def _canonical_ts(value: Any) -> int | None:
    """Milliseconds of a canonical timestamp YYYY-MM-DDTHH:MM:SS.mmmZ, else None."""
    if not isinstance(value, str):
        return None
    try:
        ms = parse_rfc3339(value)
    except ValueError:
        return None
    return ms if format_ts(ms) == value else None


def _instant(value: Any) -> int | None:
    """Milliseconds of any RFC 3339 timestamp (canonical or not), else None."""
    try:
        return parse_rfc3339(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _nonfinite_float(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _load(source: Any, report: Report) -> dict | None:
    """Parse reply text (or take a parsed object), strip the success envelope; check [json]."""
    if isinstance(source, (str, bytes, bytearray)):
        try:
            value = parse_json_exact(source, max_depth=64)
        except (JSONInputError, ValueError, RecursionError) as exc:
            report.fail("json", f"the reply is not acceptable JSON: {exc}")
            return None
    else:
        value = source
        if _nonfinite_float(value):
            report.fail("json", "the reply holds NaN or Infinity, which are not JSON")
            return None
    report.passed("json")
    if isinstance(value, dict) and "success" in value and isinstance(value.get("data"), dict):
        value = value["data"]
    return value if isinstance(value, dict) else _not_object(report)


def _not_object(report: Report) -> None:
    report.fail("shape", "the reply's data is not a JSON object")
    return None


def _jcs_ready(value: Any) -> Any:
    """Parsed JSON to what JCS hashes (Decimal integers to int, other numbers to doubles)."""
    return metadata_to_json_value(value, "checkpoint")


def _is_hash(value: Any) -> bool:
    """Strict 2.3 spelling; the length test also refuses a trailing newline, which `$` lets by."""
    return is_hash(value) and len(value) == 66


def _hash_problem(name: str, value: Any) -> str | None:
    if _is_hash(value):
        return None
    return f"{name} must be 0x + 64 lowercase hex digits, found {value!r}"


# --- checkpoint --------------------------------------------------------------------------------

def checkpoint_problems(c: Any) -> list[str]:
    """Why C is not well formed (proofs.md §3.4, §6.1 step 2); empty when it is."""
    if not isinstance(c, dict):
        return ["the checkpoint is not a JSON object"]
    problems: list[str] = []
    missing = [name for name in CHECKPOINT_REQUIRED if name not in c]
    extra = sorted(set(c) - set(CHECKPOINT_REQUIRED) - set(CHECKPOINT_OPTIONAL))
    if missing:
        problems.append(f"checkpoint lacks {', '.join(missing)}")
    if extra:
        problems.append(f"checkpoint has members outside proofs.md §3.4: {', '.join(extra)}")
    for name in ("ledgerId", "itemsRoot", "previousProofRoot"):
        if name in c and (p := _hash_problem(f"checkpoint.{name}", c[name])):
            problems.append(p)
    if "chainId" in c and _as_int(c["chainId"]) not in (295, 296):
        problems.append(f"checkpoint.chainId must be 295 or 296, found {c['chainId']!r}")
    if "customerId" in c and not isinstance(c["customerId"], str):
        problems.append("checkpoint.customerId must be a string")
    start, end = _canonical_ts(c.get("startDate")), _canonical_ts(c.get("endDate"))
    for name, ms in (("startDate", start), ("endDate", end)):
        if name in c and ms is None:
            problems.append(f"checkpoint.{name} must be a canonical timestamp, found {c[name]!r}")
    if start is not None and end is not None and not start < end:
        problems.append("checkpoint.startDate must be before checkpoint.endDate")
    if "period" in c:
        try:
            window = period_window(c["period"])
        except ValueError:
            problems.append(f"checkpoint.period must be YYYY-MM, found {c['period']!r}")
        else:
            if (c.get("startDate"), c.get("endDate")) != window:
                problems.append(f"checkpoint.period {c['period']} requires the window {window[0]} .. {window[1]}")
    size = _as_int(c.get("treeSize"))
    if "treeSize" in c and (size is None or not 0 <= size <= MAX_SAFE_INTEGER):
        problems.append(f"checkpoint.treeSize must be an integer >= 0, found {c['treeSize']!r}")
    problems.extend(_sequence_range_problems(c, size))
    net = c.get("netChange")
    if "netChange" in c and not (isinstance(net, str) and CANONICAL_DECIMAL_RE.fullmatch(net)):
        problems.append(f"checkpoint.netChange must be a canonical decimal string, found {net!r}")
    if size == 0:
        if c.get("itemsRoot") != EMPTY_ROOT_HEX:
            problems.append(f"an empty checkpoint's itemsRoot must be H(\"\") = {EMPTY_ROOT_HEX}")
        if net != "0":
            problems.append(f"an empty checkpoint's netChange must be \"0\", found {net!r}")
    return problems


def _sequence_range_problems(c: dict, size: int | None) -> list[str]:
    problems = []
    present = [name for name in ("fromSequence", "toSequence") if name in c]
    if size is not None and size > 0 and len(present) != 2:
        problems.append("checkpoint.fromSequence and toSequence are required when treeSize > 0")
    if size == 0 and present:
        problems.append("an empty checkpoint has no fromSequence / toSequence")
    first, last = _as_int(c.get("fromSequence")), _as_int(c.get("toSequence"))
    for name, value in (("fromSequence", first), ("toSequence", last)):
        if name in c and (value is None or not 1 <= value <= MAX_SAFE_INTEGER):
            problems.append(f"checkpoint.{name} must be an integer >= 1, found {c[name]!r}")
    if first is not None and last is not None and size is not None and last - first + 1 < size:
        problems.append(f"checkpoint sequences {first}..{last} cannot hold {size} deltas")
    return problems


def _checkpoint_root(c: Any) -> tuple[str | None, str | None]:
    """(recomputed proofRoot, None) or (None, why it cannot be computed)."""
    try:
        return proof_root(_jcs_ready(c)), None
    except Exception as exc:  # noqa: BLE001 - malformed input must not raise
        return None, f"the checkpoint cannot be serialised canonically: {exc}"


# --- deltas ------------------------------------------------------------------------------------

@dataclass
class RebuiltDelta:
    """D rebuilt from a receipt line (or an integrator's record), with what was wrong with it."""

    preimage: dict | None
    fingerprint: str | None
    amount: Decimal | None
    recorded_at_ms: int | None
    sequence: int | None
    problems: list[str]


def rebuild_delta(fields: Any, customer_id: str | None = None, where: str = "delta") -> RebuiltDelta:
    """Rebuild D (proofs.md §3.1) from a line's fields; null counts as absent."""
    if not isinstance(fields, dict):
        return RebuiltDelta(None, None, None, None, None, [f"{where} is not a JSON object"])
    problems: list[str] = []
    line_customer = fields.get("customerId")
    if line_customer is not None and not isinstance(line_customer, str):
        problems.append(f"{where}.customerId must be a string")
        line_customer = None
    if line_customer is not None and customer_id is not None and line_customer != customer_id:
        problems.append(f"{where}.customerId is {line_customer!r}, the receipt's is {customer_id!r}")
    customer = line_customer if line_customer is not None else customer_id
    if customer is None:
        problems.append(f"{where} has no customerId")

    amount, canonical = _line_amount(fields, where, problems)

    reason = fields.get("reason")
    if not isinstance(reason, str):
        problems.append(f"{where}.reason must be a string, found {reason!r}")
    reference_id = fields.get("referenceId")
    if reference_id is not None and not isinstance(reference_id, str):
        problems.append(f"{where}.referenceId must be a string or absent")
    sequence = _as_int(fields.get("sequence"))
    if sequence is None or not 1 <= sequence <= MAX_SAFE_INTEGER:
        problems.append(f"{where}.sequence must be an integer >= 1, found {fields.get('sequence')!r}")
        sequence = None
    recorded_at = fields.get("recordedAt")
    recorded_ms = _instant(recorded_at)
    if _canonical_ts(recorded_at) is None:
        problems.append(f"{where}.recordedAt must be a canonical timestamp, found {recorded_at!r}")
    adjusts = fields.get("adjusts")
    adjusts_ok = adjusts is None or (
        isinstance(adjusts, dict) and len(adjusts) == 1
        and next(iter(adjusts)) in ("referenceId", "recordId")
        and isinstance(next(iter(adjusts.values())), str))
    if not adjusts_ok:
        problems.append(f"{where}.adjusts must be {{\"referenceId\": …}} or {{\"recordId\": …}}, found {adjusts!r}")
    digest, digest_ok = _line_metadata_digest(fields, where, problems)

    d = fp = None
    if (customer is not None and canonical is not None and isinstance(reason, str) and sequence
            and isinstance(recorded_at, str) and adjusts_ok and digest_ok
            and (reference_id is None or isinstance(reference_id, str))):
        try:
            d = delta_preimage(customer, canonical, reason, reference_id, sequence, recorded_at,
                               adjusts, digest)
            fp = fingerprint(d)
        except Exception as exc:  # noqa: BLE001 - e.g. a lone surrogate in a string
            problems.append(f"{where} cannot be serialised canonically: {exc}")
            d = fp = None
    return RebuiltDelta(d, fp, amount, recorded_ms, sequence, problems)


def _line_amount(fields: dict, where: str, problems: list[str]) -> tuple[Decimal | None, str | None]:
    raw = fields.get("delta")
    if not _is_number(raw):
        problems.append(f"{where}.delta must be a JSON number, found {raw!r}")
        return None, None
    amount = _as_decimal(raw)
    if amount is None:
        problems.append(f"{where}.delta must be a finite number")
        return None, None
    if not amount.is_zero() and not -40 < amount.adjusted() < 40:
        problems.append(f"{where}.delta {amount} is far outside the allowed amounts")
        return None, None
    canonical = canonical_decimal(amount)
    problem = delta_amount_problem(amount)
    if problem:
        problems.append(f"{where}: {problem}")
    if "deltaDecimal" in fields and fields["deltaDecimal"] != canonical:
        problems.append(f"{where}.deltaDecimal is {fields['deltaDecimal']!r}, the canonical form of delta is {canonical!r}")
    return amount, canonical


def _line_metadata_digest(fields: dict, where: str, problems: list[str]) -> tuple[str | None, bool]:
    metadata, given = fields.get("metadata"), fields.get("metadataDigest")
    if given is not None and not _is_hash(given):
        problems.append(f"{where}.metadataDigest must be 0x + 64 lowercase hex digits, found {given!r}")
        return None, False
    if metadata is None:
        return given, True
    if not isinstance(metadata, dict):
        problems.append(f"{where}.metadata must be a JSON object")
        return None, False
    try:
        digest = metadata_digest(metadata)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{where}.metadata cannot be hashed: {exc}")
        return None, False
    if given is not None and given != digest:
        problems.append(f"{where}.metadataDigest is {given}, H(JCS(metadata)) is {digest}")
        return None, False
    return digest, True


# --- 6.1 whole receipt -------------------------------------------------------------------------

def verify_receipt(receipt: Any, ledger_id: str | None = None) -> Report:
    """All checks of proofs.md §6.1 on the data of a receipt or invoice-proof reply."""
    report = Report()
    try:
        _verify_receipt(receipt, ledger_id, report)
    except Exception as exc:  # noqa: BLE001 - last resort: a verifier reports, it never raises
        report.fail("shape", f"unexpected input: {type(exc).__name__}: {exc}")
    return report


def _verify_receipt(receipt: Any, ledger_id: str | None, report: Report) -> None:
    data = _load(receipt, report)
    if data is None:
        return
    verification = data.get("verification")
    c = verification.get("checkpoint") if isinstance(verification, dict) else None
    missing = [name for name in ("customerId", "deltas", "proofRoot", "itemsRoot", "finalBalance",
                                 "deltaCount") if name not in data]
    shape = [f"the receipt lacks {', '.join(missing)}"] if missing else []
    if not isinstance(data.get("customerId"), str) and "customerId" in data:
        shape.append("customerId must be a string")
    if "deltas" in data and not isinstance(data.get("deltas"), list):
        shape.append("deltas must be an array")
    if not isinstance(c, dict):
        shape.append("verification.checkpoint (the object C) is missing")
    if not report.run("shape", shape):
        return
    customer_id: str = data["customerId"]
    lines: list = data["deltas"]

    scheme = verification.get("proofScheme")
    report.record("proofScheme", scheme == PROOF_SCHEME,
                  f"verification.proofScheme is {scheme!r}, expected {PROOF_SCHEME!r}")

    report.run("checkpoint.wellFormed", checkpoint_problems(c))
    report.record("checkpoint.customerId", c.get("customerId") == customer_id,
                  f"checkpoint.customerId is {c.get('customerId')!r}, the receipt's customerId is {customer_id!r}")
    if "period" in data and data["period"] is not None:
        report.record("checkpoint.period", data["period"] == c.get("period"),
                      f"the receipt's period is {data['period']!r}, checkpoint.period is {c.get('period')!r}")

    root, why = _checkpoint_root(c)
    if root is None:
        report.fail("proofRoot", why or "the checkpoint cannot be hashed")
    else:
        claims = [("proofRoot", data.get("proofRoot"))]
        if "proofRoot" in verification:
            claims.append(("verification.proofRoot", verification["proofRoot"]))
        for where, claimed in claims:
            report.record("proofRoot", claimed == root,
                          f"{where} is {claimed!r}, H(checkpoint label ‖ 00 ‖ JCS(C)) is {root}")
    _check_anchor(data, verification, root, report)
    if ledger_id is not None:
        report.record("ledgerId", c.get("ledgerId") == ledger_id,
                      f"checkpoint.ledgerId is {c.get('ledgerId')!r}, this verifier's ledger is {ledger_id}")

    rebuilt = [rebuild_delta(line, customer_id, f"deltas[{i}]") for i, line in enumerate(lines)]
    report.run("deltas.wellFormed", [p for r in rebuilt for p in r.problems])
    _check_line_fingerprints(lines, rebuilt, report)
    _check_window(c, rebuilt, report)
    bad_status = [f"deltas[{i}].status is {line.get('status')!r}, expected 'VERIFIED'"
                  for i, line in enumerate(lines)
                  if isinstance(line, dict) and line.get("status") is not None and line.get("status") != "VERIFIED"]
    report.run("deltas.status", bad_status)
    sequences = [r.sequence for r in rebuilt]
    _check_order(sequences, report)
    _check_completeness(data, c, sequences, report)

    fingerprints = [r.fingerprint for r in rebuilt]
    _check_item_hashes(verification, fingerprints, report)
    _check_items_root(data, verification, c, fingerprints, report)
    _check_sums(data, c, [r.amount for r in rebuilt], report)


def _check_anchor(data: dict, verification: dict, root: str | None, report: Report) -> None:
    given = [(where, value) for where, value in
             (("verification.verificationReference", verification.get("verificationReference")),
              ("verificationReference", data.get("verificationReference")))
             if value is not None]
    for where, value in given:
        if root is None:
            report.fail("anchor", f"{where} cannot be checked: the proofRoot cannot be recomputed")
            continue
        expected = anchor_reference(root)
        report.record("anchor", value == expected, f"{where} is {value!r}, the anchor of {root} is {expected}")


def _check_line_fingerprints(lines: list, rebuilt: list[RebuiltDelta], report: Report) -> None:
    problems = []
    for i, (line, r) in enumerate(zip(lines, rebuilt)):
        if r.fingerprint is None:
            problems.append(f"deltas[{i}]: its fingerprint cannot be recomputed")
            continue
        if not isinstance(line, dict) or "fingerprint" not in line:
            problems.append(f"deltas[{i}] has no fingerprint")
        for name in ("fingerprint", "itemHash", "contentHash"):
            if isinstance(line, dict) and name in line and line[name] != r.fingerprint:
                problems.append(f"deltas[{i}].{name} is {line[name]!r}, the recomputed fingerprint is {r.fingerprint}")
    report.run("deltas.fingerprints", problems)


def _check_window(c: dict, rebuilt: list[RebuiltDelta], report: Report) -> None:
    start, end = _canonical_ts(c.get("startDate")), _canonical_ts(c.get("endDate"))
    if start is None or end is None:
        if rebuilt:
            report.fail("deltas.window", "the checkpoint window is not made of canonical timestamps")
        else:
            report.passed("deltas.window")
        return
    problems = []
    for i, r in enumerate(rebuilt):
        if r.recorded_at_ms is None:
            problems.append(f"deltas[{i}].recordedAt cannot be placed in the window")
        elif not start <= r.recorded_at_ms < end:
            problems.append(f"deltas[{i}].recordedAt {format_ts(r.recorded_at_ms)} is outside "
                            f"[{c['startDate']}, {c['endDate']})")
    report.run("deltas.window", problems)


def _check_order(sequences: list[int | None], report: Report) -> None:
    problems = []
    for i in range(1, len(sequences)):
        before, here = sequences[i - 1], sequences[i]
        if before is None or here is None:
            problems.append(f"deltas[{i - 1}..{i}]: sequences are not integers")
        elif here <= before:
            problems.append(f"deltas[{i}].sequence {here} does not follow {before}")
    if len(sequences) == 1 and sequences[0] is None:
        problems.append("deltas[0].sequence is not an integer")
    report.run("deltas.order", problems)


def _check_completeness(data: dict, c: dict, sequences: list[int | None], report: Report) -> None:
    """Every covered delta is present: the counts agree and the sequence range is C's.

    The range is compared with the smallest and largest line sequence, so that a reordering
    is reported by deltas.order alone (the T.12 table); in order they are the first and last.
    """
    problems = []
    size = _as_int(c.get("treeSize"))
    counts = [("len(deltas)", len(sequences)), ("checkpoint.treeSize", size),
              ("deltaCount", _as_int(data.get("deltaCount")))]
    if "deltasCount" in data:
        counts.append(("deltasCount", _as_int(data.get("deltasCount"))))
    if len({value for _, value in counts}) != 1:
        problems.append("counts differ: " + ", ".join(f"{name} = {value}" for name, value in counts))
    known = [s for s in sequences if s is not None]
    if len(known) != len(sequences):
        problems.append("some line sequences are not integers")
    elif known:
        for name, value in (("fromSequence", min(known)), ("toSequence", max(known))):
            if _as_int(c.get(name)) != value:
                problems.append(f"checkpoint.{name} is {c.get(name)!r}, the lines span {min(known)}..{max(known)}")
    report.run("completeness", problems)


def _check_item_hashes(verification: dict, fingerprints: list[str | None], report: Report) -> None:
    if "itemHashes" not in verification:
        return
    given = verification["itemHashes"]
    if None in fingerprints:
        report.fail("itemHashes", "some fingerprints cannot be recomputed")
    elif not isinstance(given, list) or len(given) != len(fingerprints):
        count = len(given) if isinstance(given, list) else "no"
        report.fail("itemHashes", f"verification.itemHashes lists {count} hashes for {len(fingerprints)} deltas")
    else:
        report.run("itemHashes", [f"verification.itemHashes[{i}] is {g!r}, the recomputed fingerprint is {f}"
                                  for i, (g, f) in enumerate(zip(given, fingerprints)) if g != f])


def _check_items_root(data: dict, verification: dict, c: dict, fingerprints: list[str | None],
                      report: Report) -> None:
    if None in fingerprints:
        report.fail("itemsRoot", "some fingerprints cannot be recomputed, so neither can the tree")
        return
    root = to_hex(mth([from_hex(fp) for fp in fingerprints]))  # type: ignore[arg-type]
    claims = [("checkpoint.itemsRoot", c.get("itemsRoot")), ("itemsRoot", data.get("itemsRoot"))]
    if "itemsRoot" in verification:
        claims.append(("verification.itemsRoot", verification["itemsRoot"]))
    for where, claimed in claims:
        report.record("itemsRoot", claimed == root,
                      f"{where} is {claimed!r}, the MTH of the recomputed fingerprints is {root}")


def _check_sums(data: dict, c: dict, amounts: list[Decimal | None], report: Report) -> None:
    total: Decimal | None = None
    if None not in amounts:
        try:
            total = Decimal(0)
            for amount in amounts:
                total = EXACT.add(total, amount)
        except ArithmeticError:
            total = None
    if total is None:
        report.fail("netChange", "the lines' amounts cannot be summed exactly")
        report.fail("balances", "the lines' amounts cannot be summed exactly")
        return
    report.record("netChange", c.get("netChange") == canonical_decimal(total),
                  f"checkpoint.netChange is {c.get('netChange')!r}, the lines sum to {_text(total)}")
    final, start = _as_decimal(data.get("finalBalance")), _as_decimal(data.get("startingBalance", 0))
    if final is None or start is None:
        report.fail("balances", "finalBalance and startingBalance must be numbers")
        return
    try:
        change = EXACT.subtract(final, start)
    except ArithmeticError:
        report.fail("balances", "finalBalance − startingBalance cannot be computed exactly")
        return
    report.record("balances", change == total,
                  f"finalBalance − startingBalance is {_text(change)}, the lines sum to {_text(total)}")


# --- 6.2 one delta -----------------------------------------------------------------------------

def verify_inclusion_object(obj: Any, delta_fields: dict | None = None,
                            ledger_id: str | None = None) -> Report:
    """proofs.md §6.2: one delta's inclusion proof object (5.1), optionally with its fields."""
    report = Report()
    try:
        _verify_inclusion_object(obj, delta_fields, ledger_id, report)
    except Exception as exc:  # noqa: BLE001
        report.fail("shape", f"unexpected input: {type(exc).__name__}: {exc}")
    return report


def _inclusion_shape(obj: dict) -> list[str]:
    problems = []
    for name in ("fingerprint", "itemsRoot", "proofRoot"):
        if p := _hash_problem(name, obj.get(name)):
            problems.append(p)
    if not isinstance(obj.get("customerId"), str):
        problems.append("customerId must be a string")
    for name, low in (("sequence", 1), ("leafIndex", 0), ("treeSize", 0)):
        value = _as_int(obj.get(name))
        if value is None or not low <= value <= MAX_SAFE_INTEGER:
            problems.append(f"{name} must be an integer >= {low}, found {obj.get(name)!r}")
    proof = obj.get("merkleProof")
    if not isinstance(proof, list) or not all(_is_hash(p) for p in proof):
        problems.append("merkleProof must be an array of 0x + 64 lowercase hex hashes")
    elif len(proof) > MAX_INCLUSION_PROOF:
        problems.append(f"merkleProof has {len(proof)} elements; at most {MAX_INCLUSION_PROOF} are allowed")
    if not isinstance(obj.get("checkpoint"), dict):
        problems.append("checkpoint (the object C) is missing")
    return problems


def _verify_inclusion_object(source: Any, fields: dict | None, ledger_id: str | None,
                             report: Report) -> None:
    obj = _load(source, report)
    if obj is None or not report.run("shape", _inclusion_shape(obj)):
        return
    c = obj["checkpoint"]
    sequence, leaf_index, tree_size = (_as_int(obj[n]) for n in ("sequence", "leafIndex", "treeSize"))

    if fields is not None:
        r = rebuild_delta(fields, obj["customerId"], "delta")
        problems = list(r.problems)
        if r.sequence is not None and r.sequence != sequence:
            problems.append(f"the delta's sequence {r.sequence} differs from the proof's {sequence}")
        if r.fingerprint is not None and r.fingerprint != obj["fingerprint"]:
            problems.append(f"the delta's fingerprint is {r.fingerprint}, the proof's is {obj['fingerprint']}")
        report.run("fingerprint", problems)

    report.run("checkpoint.wellFormed", checkpoint_problems(c))
    root, why = _checkpoint_root(c)
    report.record("proofRoot", root is not None and root == obj["proofRoot"],
                  why or f"proofRoot is {obj['proofRoot']}, H(checkpoint label ‖ 00 ‖ JCS(C)) is {root}")
    for name, value in (("itemsRoot", obj["itemsRoot"]), ("treeSize", tree_size),
                        ("customerId", obj["customerId"])):
        found = _as_int(c.get(name)) if name == "treeSize" else c.get(name)
        report.record(f"checkpoint.{name}", found == value,
                      f"the proof's {name} is {value!r}, checkpoint.{name} is {c.get(name)!r}")
    if ledger_id is not None:
        report.record("ledgerId", c.get("ledgerId") == ledger_id,
                      f"checkpoint.ledgerId is {c.get('ledgerId')!r}, this verifier's ledger is {ledger_id}")

    report.run("position", _position_problems(c, sequence, leaf_index, tree_size))
    proof = [from_hex(p) for p in obj["merkleProof"]]
    report.record("inclusion",
                  verify_inclusion(leaf_index, tree_size, from_hex(obj["fingerprint"]), proof,
                                   from_hex(obj["itemsRoot"])),
                  f"the Merkle path does not lead from leaf {leaf_index} of {tree_size} to {obj['itemsRoot']}")


def _position_problems(c: dict, sequence: int, leaf_index: int, tree_size: int) -> list[str]:
    first, last = _as_int(c.get("fromSequence")), _as_int(c.get("toSequence"))
    if first is None or last is None:
        return ["the checkpoint covers no sequence range"]
    problems = []
    if not first <= sequence <= last:
        problems.append(f"sequence {sequence} is outside the checkpoint's {first}..{last}")
    if not leaf_index < tree_size:
        problems.append(f"leafIndex {leaf_index} is not below treeSize {tree_size}")
    if (leaf_index == 0) != (sequence == first):
        problems.append(f"leafIndex {leaf_index} and sequence {sequence} disagree about the first leaf ({first})")
    if (leaf_index == tree_size - 1) != (sequence == last):
        problems.append(f"leafIndex {leaf_index} and sequence {sequence} disagree about the last leaf ({last})")
    if last - first + 1 == tree_size and leaf_index != sequence - first:
        problems.append(f"without gaps, sequence {sequence} is leaf {sequence - first}, not {leaf_index}")
    return problems


# --- 6.3 two checkpoints -----------------------------------------------------------------------

def verify_consistency_object(obj: Any) -> Report:
    """proofs.md §6.3: a consistency proof object (5.2), with or without its checkpoints."""
    report = Report()
    try:
        _verify_consistency_object(obj, report)
    except Exception as exc:  # noqa: BLE001
        report.fail("shape", f"unexpected input: {type(exc).__name__}: {exc}")
    return report


def _consistency_shape(obj: dict) -> list[str]:
    problems = []
    if not isinstance(obj.get("customerId"), str):
        problems.append("customerId must be a string")
    for name in ("firstTreeSize", "secondTreeSize"):
        value = _as_int(obj.get(name))
        if value is None or not 0 <= value <= MAX_SAFE_INTEGER:
            problems.append(f"{name} must be an integer >= 0, found {obj.get(name)!r}")
    for name in ("firstItemsRoot", "secondItemsRoot"):
        if p := _hash_problem(name, obj.get(name)):
            problems.append(p)
    proof = obj.get("consistencyProof")
    if not isinstance(proof, list) or not all(_is_hash(p) for p in proof):
        problems.append("consistencyProof must be an array of 0x + 64 lowercase hex hashes")
    for which in ("first", "second"):
        has_c, has_root = f"{which}Checkpoint" in obj, f"{which}ProofRoot" in obj
        if has_c != has_root:
            problems.append(f"{which}ProofRoot must be present exactly when {which}Checkpoint is")
        if has_c and not isinstance(obj[f"{which}Checkpoint"], dict):
            problems.append(f"{which}Checkpoint must be a JSON object")
    return problems


def _verify_consistency_object(source: Any, report: Report) -> None:
    obj = _load(source, report)
    if obj is None or not report.run("shape", _consistency_shape(obj)):
        return
    first, second = _as_int(obj["firstTreeSize"]), _as_int(obj["secondTreeSize"])
    for which, size in (("first", first), ("second", second)):
        if f"{which}Checkpoint" in obj:
            report.run(f"{which}Checkpoint", _bound_checkpoint_problems(obj, which, size))
    if "firstCheckpoint" in obj and "secondCheckpoint" in obj:
        report.run("series", _series_problems(obj["firstCheckpoint"], obj["secondCheckpoint"]))
    proof = [from_hex(p) for p in obj["consistencyProof"]]
    report.record("consistency",
                  verify_consistency(first, second, from_hex(obj["firstItemsRoot"]),
                                     from_hex(obj["secondItemsRoot"]), proof),
                  f"the proof does not show the tree of {first} leaves ({obj['firstItemsRoot']}) "
                  f"to be a prefix of the tree of {second} leaves ({obj['secondItemsRoot']})")


def _bound_checkpoint_problems(obj: dict, which: str, size: int) -> list[str]:
    c, claimed = obj[f"{which}Checkpoint"], obj[f"{which}ProofRoot"]
    problems = [f"{which}Checkpoint: {p}" for p in checkpoint_problems(c)]
    root, why = _checkpoint_root(c)
    if root != claimed:
        problems.append(why or f"{which}ProofRoot is {claimed!r}, the digest of {which}Checkpoint is {root}")
    if _as_int(c.get("treeSize")) != size:
        problems.append(f"{which}TreeSize is {size}, {which}Checkpoint.treeSize is {c.get('treeSize')!r}")
    if c.get("itemsRoot") != obj[f"{which}ItemsRoot"]:
        problems.append(f"{which}ItemsRoot differs from {which}Checkpoint.itemsRoot")
    if c.get("customerId") != obj["customerId"]:
        problems.append(f"{which}Checkpoint.customerId is {c.get('customerId')!r}, the proof's is {obj['customerId']!r}")
    return problems


def _series_problems(a: dict, b: dict) -> list[str]:
    problems = [f"the checkpoints differ in {name}: {a.get(name)!r} vs {b.get(name)!r}"
                for name in ("ledgerId", "chainId", "customerId", "startDate") if a.get(name) != b.get(name)]
    if _as_int(a.get("treeSize")) and _as_int(b.get("treeSize")):
        if a.get("fromSequence") != b.get("fromSequence"):
            problems.append("the checkpoints start at different sequences")
        first_to, second_to = _as_int(a.get("toSequence")), _as_int(b.get("toSequence"))
        if first_to is None or second_to is None or first_to > second_to:
            problems.append("the first checkpoint's toSequence exceeds the second's")
    return problems


# --- 6.4 batch chain ---------------------------------------------------------------------------

def verify_batch_chain(batches: Any, ledger_id: str | None = None) -> Report:
    """proofs.md §6.4: a ledger's batches in order, chained by previousProofHash."""
    report = Report()
    try:
        _verify_batch_chain(batches, ledger_id, report)
    except Exception as exc:  # noqa: BLE001
        report.fail("shape", f"unexpected input: {type(exc).__name__}: {exc}")
    return report


def _batch_shape(i: int, batch: Any) -> list[str]:
    if not isinstance(batch, dict):
        return [f"batches[{i}] is not a JSON object"]
    problems = []
    for name in ("ledgerId", "itemsRoot", "previousProofHash", "proofHash"):
        if p := _hash_problem(f"batches[{i}].{name}", batch.get(name)):
            problems.append(p)
    for name in ("batchSequence", "itemCount"):
        value = _as_int(batch.get(name))
        if value is None or not 1 <= value <= MAX_SAFE_INTEGER:
            problems.append(f"batches[{i}].{name} must be an integer >= 1, found {batch.get(name)!r}")
    hashes = batch.get("itemHashes")
    if not isinstance(hashes, list) or not all(_is_hash(h) for h in hashes):
        problems.append(f"batches[{i}].itemHashes must be an array of 0x + 64 lowercase hex hashes")
    return problems


def _verify_batch_chain(batches: Any, ledger_id: str | None, report: Report) -> None:
    if not isinstance(batches, list):
        report.fail("shape", "the batches must be an array")
        return
    if not report.run("shape", [p for i, b in enumerate(batches) for p in _batch_shape(i, b)]):
        return
    ledger = ledger_id if ledger_id is not None else (batches[0]["ledgerId"] if batches else None)
    previous = ZERO_HASH
    for i, b in enumerate(batches):
        sequence, count = _as_int(b["batchSequence"]), _as_int(b["itemCount"])
        report.record("batchSequence", sequence == i + 1,
                      f"batches[{i}].batchSequence is {sequence}, expected {i + 1}")
        report.record("ledgerId", b["ledgerId"] == ledger,
                      f"batches[{i}].ledgerId is {b['ledgerId']}, expected {ledger}")
        report.record("previousProofHash", b["previousProofHash"] == previous,
                      f"batches[{i}].previousProofHash is {b['previousProofHash']}, expected {previous}")
        report.record("itemCount", count == len(b["itemHashes"]),
                      f"batches[{i}].itemCount is {count}, it lists {len(b['itemHashes'])} itemHashes")
        root = to_hex(mth([from_hex(h) for h in b["itemHashes"]]))
        report.record("itemsRoot", b["itemsRoot"] == root,
                      f"batches[{i}].itemsRoot is {b['itemsRoot']}, the MTH of its itemHashes is {root}")
        expected = batch_proof_hash(batch_preimage(b["ledgerId"], sequence, count, b["itemsRoot"],
                                                   b["previousProofHash"]))
        report.record("proofHash", b["proofHash"] == expected,
                      f"batches[{i}].proofHash is {b['proofHash']}, H(batch label ‖ 00 ‖ JCS(B)) is {expected}")
        previous = b["proofHash"]


__all__ = [
    "RECEIPT_CHECKS", "RebuiltDelta", "Report", "checkpoint_problems", "rebuild_delta",
    "verify_batch_chain", "verify_consistency_object", "verify_inclusion_object", "verify_receipt",
]
