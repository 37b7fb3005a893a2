"""The hashed objects of proofs.md §3: delta D, ledgerId, batch B, checkpoint C, anchor.

Builders return plain dicts (what JCS serialises); hashers return strict hex (0x + 64
lowercase digits). Optional members are omitted, never null: a null would be hashed.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from .primitives import (
    format_ts,
    jcs,
    jcs_plain,
    keccak256,
    labelled_hash,
    month_start_ms,
    to_hex,
    from_hex,
)

PROOF_SCHEME = "pacspace-mock/v1"

DELTA_LABEL = "pacspace-mock:delta:v1"
BATCH_LABEL = "pacspace-mock:batch:v1"
CHECKPOINT_LABEL = "pacspace-mock:checkpoint:v1"
LEDGER_LABEL = "pacspace-mock:ledger:v1"
ANCHOR_LABEL = "pacspace-mock:anchor:v1"

CHAIN_IDS = {"test": 296, "live": 295}
MAX_SAFE_INTEGER = 2**53 - 1

#: Members of C (proofs.md §3.4): always present, and present only under their rules.
CHECKPOINT_REQUIRED = ("ledgerId", "chainId", "customerId", "startDate", "endDate", "treeSize",
                       "itemsRoot", "netChange")
CHECKPOINT_OPTIONAL = ("period", "fromSequence", "toSequence", "previousProofRoot")
BATCH_MEMBERS = ("ledgerId", "batchSequence", "itemCount", "itemsRoot", "previousProofHash")

PERIOD_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def labelled_preimage(label: str, payload: bytes) -> bytes:
    """label ‖ 00 ‖ payload: what every object hash hashes (proofs.md §2.5)."""
    return label.encode("ascii") + b"\x00" + payload


# --- ledger ------------------------------------------------------------------------------------

def key_public_part(api_key: str) -> str:
    """The API key up to its first '.', the secret never enters a hash (proofs.md §3.2)."""
    return api_key.split(".", 1)[0]


def env_of_key(api_key: str) -> str:
    """'test' for pk_test_… keys, 'live' for pk_live_… keys."""
    for env in CHAIN_IDS:
        if api_key.startswith(f"pk_{env}_"):
            return env
    raise ValueError("API key is neither pk_test_… nor pk_live_…")


def ledger_preimage(env: str, key_public_part: str) -> bytes:
    return labelled_preimage(LEDGER_LABEL, f"{env}:{key_public_part}".encode("utf-8"))


def ledger_id(env: str, key_public_part: str) -> str:
    """One ledger per workspace × environment, named without the key's secret."""
    return to_hex(keccak256(ledger_preimage(env, key_public_part)))


def chain_id_for(env: str) -> int:
    """296 for test, 295 for live (the mock's stand-ins for a testnet and a mainnet)."""
    try:
        return CHAIN_IDS[env]
    except KeyError:
        raise ValueError(f"unknown environment {env!r}") from None


# --- metadata ----------------------------------------------------------------------------------

class MetadataError(ValueError):
    """A metadata value JCS cannot hash as the contract says; `path` is where (`metadata.n`)."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _literal(value: Decimal) -> str:
    text = getattr(value, "text", None) or str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def metadata_to_json_value(value: Any, path: str = "metadata") -> Any:
    """Map parsed JSON (Decimal numbers) to what JCS hashes: numbers as IEEE-754 doubles.

    An integer literal (a Decimal with exponent 0, or a Python int) must lie within
    ±(2^53−1) and stays an int; any other number becomes the nearest double and must not
    overflow (one that underflows is that double: `1e-99999999` is hashed as 0, proofs.md §2.4).
    Nothing is expanded into digits first. Raises MetadataError naming the offending path, so the
    server can use it to validate `metadata` (proofs.md §2.4, balance-api.md `range`).
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        _check_utf8(value, path)
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise MetadataError(path, f"integer {value} is outside ±(2^53−1)")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MetadataError(path, "number must be finite")
        if value.as_tuple().exponent == 0:
            if value.copy_abs() > MAX_SAFE_INTEGER:  # compared as decimals: int() of 10^6 digits takes a minute
                raise MetadataError(path, f"integer {_literal(value)} is outside ±(2^53−1)")
            return int(value)
        as_float = float(value)  # via the decimal's scientific text: never expanded
        if math.isinf(as_float):
            raise MetadataError(path, f"number {_literal(value)} overflows a double")
        return as_float
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MetadataError(path, "number must be finite")
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise MetadataError(path, "member names must be strings")
            _check_utf8(key, path)
            out[key] = metadata_to_json_value(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, (list, tuple)):
        return [metadata_to_json_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise MetadataError(path, f"{type(value).__name__} is not a JSON value")


def _check_utf8(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MetadataError(path, "string contains a lone surrogate") from None


def metadata_digest(metadata: Any) -> str:
    """H(JCS(metadata)), unlabelled on purpose (proofs.md §2.5); `{}` gets H("{}")."""
    return to_hex(keccak256(jcs(metadata_to_json_value(metadata))))


# --- delta -------------------------------------------------------------------------------------

def delta_preimage(customer_id: str, delta: str, reason: str, reference_id: str | None,
                   sequence: int, recorded_at: str, adjusts: dict | None = None,
                   metadata_digest: str | None = None) -> dict:
    """D of proofs.md §3.1; `delta` is the canonical decimal *string*, optional members omitted."""
    if not isinstance(delta, str):
        raise TypeError("delta enters D as its canonical decimal string, not as a number")
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise TypeError("sequence must be an int")
    d: dict[str, Any] = {
        "customerId": customer_id,
        "delta": delta,
        "reason": reason,
        "sequence": sequence,
        "recordedAt": recorded_at,
    }
    if reference_id is not None:
        d["referenceId"] = reference_id
    if adjusts is not None:
        d["adjusts"] = dict(adjusts)
    if metadata_digest is not None:
        d["metadataDigest"] = metadata_digest
    return d


def fingerprint_preimage(d: dict) -> bytes:
    return labelled_preimage(DELTA_LABEL, jcs_plain(d))


def fingerprint(d: dict) -> str:
    """H("pacspace-mock:delta:v1" ‖ 00 ‖ JCS(D))."""
    return to_hex(labelled_hash(DELTA_LABEL, jcs_plain(d)))


# --- batch -------------------------------------------------------------------------------------

def batch_preimage(ledger_id: str, batch_sequence: int, item_count: int, items_root: str,
                   previous_proof_hash: str) -> dict:
    """B of proofs.md §3.3: all five members, always."""
    return {
        "ledgerId": ledger_id,
        "batchSequence": batch_sequence,
        "itemCount": item_count,
        "itemsRoot": items_root,
        "previousProofHash": previous_proof_hash,
    }


def batch_proof_hash(b: dict) -> str:
    """proofHash = receiptId = H("pacspace-mock:batch:v1" ‖ 00 ‖ JCS(B))."""
    return to_hex(labelled_hash(BATCH_LABEL, jcs_plain(b)))


# --- checkpoint --------------------------------------------------------------------------------

def checkpoint_preimage(ledger_id: str, chain_id: int, customer_id: str, start_date: str,
                        end_date: str, period: str | None, tree_size: int, items_root: str,
                        from_sequence: int | None, to_sequence: int | None, net_change: str,
                        previous_proof_root: str | None) -> dict:
    """C of proofs.md §3.4, optional members omitted (period, from/toSequence, previousProofRoot)."""
    if not isinstance(net_change, str):
        raise TypeError("netChange enters C as its canonical decimal string, not as a number")
    c: dict[str, Any] = {
        "ledgerId": ledger_id,
        "chainId": chain_id,
        "customerId": customer_id,
        "startDate": start_date,
        "endDate": end_date,
        "treeSize": tree_size,
        "itemsRoot": items_root,
        "netChange": net_change,
    }
    if period is not None:
        c["period"] = period
    if from_sequence is not None:
        c["fromSequence"] = from_sequence
    if to_sequence is not None:
        c["toSequence"] = to_sequence
    if previous_proof_root is not None:
        c["previousProofRoot"] = previous_proof_root
    return c


def proof_root(c: dict) -> str:
    """proofRoot = H("pacspace-mock:checkpoint:v1" ‖ 00 ‖ JCS(C))."""
    return to_hex(labelled_hash(CHECKPOINT_LABEL, jcs_plain(c)))


def period_window(period: str) -> tuple[str, str]:
    """'2026-02' -> ('2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z')."""
    m = PERIOD_RE.fullmatch(period) if isinstance(period, str) else None
    if not m:
        raise ValueError(f"{period!r} is not a period YYYY-MM")
    year, month = int(m.group(1)), int(m.group(2))
    return format_ts(month_start_ms(year, month)), format_ts(month_start_ms(year, month + 1))


# --- anchor ------------------------------------------------------------------------------------

def anchor_preimage(root_hex: str) -> bytes:
    """anchor label ‖ 00 ‖ the root's 32 raw bytes (never its hex text)."""
    return labelled_preimage(ANCHOR_LABEL, from_hex(root_hex))


def anchor_reference(root_hex: str) -> str:
    """verificationReference of an anchored proofRoot or proofHash (proofs.md §3.5)."""
    return to_hex(keccak256(anchor_preimage(root_hex)))
