"""Proof scheme pacspace-mock/v1 (spec/proofs.md): primitives, hashed objects, Merkle tree, verifier.

Pure functions only; nothing here imports the server.
"""

from .merkle import (
    EMPTY_ROOT,
    KECCAK_TREE,
    SHA256_TREE,
    TreeHasher,
    build_levels,
    consistency_from_levels,
    consistency_proof,
    inclusion_path,
    leaf_hash,
    levels_size,
    mth,
    node_hash,
    path_from_levels,
    root_from_levels,
    subtree_hash_from_levels,
    verify_consistency,
    verify_inclusion,
    verify_inclusion_inner_border,
)
from .objects import (
    ANCHOR_LABEL,
    BATCH_LABEL,
    CHAIN_IDS,
    CHECKPOINT_LABEL,
    DELTA_LABEL,
    LEDGER_LABEL,
    MAX_SAFE_INTEGER,
    PROOF_SCHEME,
    anchor_preimage,
    anchor_reference,
    batch_preimage,
    batch_proof_hash,
    chain_id_for,
    checkpoint_preimage,
    delta_preimage,
    env_of_key,
    fingerprint,
    fingerprint_preimage,
    key_public_part,
    labelled_preimage,
    ledger_id,
    ledger_preimage,
    metadata_digest,
    metadata_to_json_value,
    period_window,
    proof_root,
)
from .primitives import (
    EXACT,
    HEX_HASH_RE,
    ZERO_HASH,
    JSONInputError,
    canonical_decimal,
    delta_amount_problem,
    exact_sum,
    format_ts,
    fraction_digits,
    from_hex,
    is_hash,
    jcs,
    keccak256,
    labelled_hash,
    month_start_ms,
    parse_date_or_datetime,
    parse_json_exact,
    parse_rfc3339,
    period_of,
    significant_digits,
    to_hex,
)
from types import ModuleType as _ModuleType

# The verifier is loaded on first use: the server never needs it, and every process that
# imports a proofs module (the plugin's embedded server among them) would pay for it.
_VERIFIER_NAMES = (
    "RECEIPT_CHECKS",
    "RebuiltDelta",
    "Report",
    "checkpoint_problems",
    "rebuild_delta",
    "verify_batch_chain",
    "verify_consistency_object",
    "verify_inclusion_object",
    "verify_receipt",
)


def __getattr__(name: str) -> object:
    if name in _VERIFIER_NAMES:
        from . import verifier

        return getattr(verifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted([*(name for name, value in globals().items()
                    if not name.startswith("_") and not isinstance(value, _ModuleType)),
                  *_VERIFIER_NAMES])
