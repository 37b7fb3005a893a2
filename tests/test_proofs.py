"""proofs.md: every test vector of section 7, byte for byte, plus the tampering of 6.5.

Pure: no server. The vectors are copied from the spec by hand; a failure here means the
implementation (or the copy) disagrees with the normative text.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.proofs import (
    ANCHOR_LABEL,
    BATCH_LABEL,
    CHECKPOINT_LABEL,
    DELTA_LABEL,
    EMPTY_ROOT,
    KECCAK_TREE,
    LEDGER_LABEL,
    RECEIPT_CHECKS,
    SHA256_TREE,
    ZERO_HASH,
    JSONInputError,
    anchor_preimage,
    anchor_reference,
    batch_preimage,
    batch_proof_hash,
    build_levels,
    canonical_decimal,
    chain_id_for,
    checkpoint_preimage,
    checkpoint_problems,
    consistency_from_levels,
    consistency_proof,
    delta_amount_problem,
    delta_preimage,
    env_of_key,
    fingerprint,
    fingerprint_preimage,
    format_ts,
    from_hex,
    inclusion_path,
    jcs,
    keccak256,
    key_public_part,
    leaf_hash,
    ledger_id,
    ledger_preimage,
    metadata_digest,
    metadata_to_json_value,
    mth,
    node_hash,
    parse_json_exact,
    parse_rfc3339,
    path_from_levels,
    proof_root,
    root_from_levels,
    significant_digits,
    subtree_hash_from_levels,
    to_hex,
    verify_batch_chain,
    verify_consistency,
    verify_consistency_object,
    verify_inclusion,
    verify_inclusion_inner_border,
    verify_inclusion_object,
    verify_receipt,
)

# --- the common inputs and expected values of section 7 -----------------------------------------

CUSTOMER = "cust_acme_001"
LEDGER = "0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737"
EMPTY_HEX = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"

FP1 = "0x92d1d27b38207fc8d751e6c42313490a0160c4181d5dd7c3ac74ee028408fd49"
FP2 = "0xb49479cc67f91a648b7c82a7d69b0925209c68393fd463e8deabed9aace9750f"
FP3 = "0xedb9a6181188796c1487496186b548ed56d627648ea31f8b21f18c6fe379017a"
FP4 = "0x1e7c42495f7453cf62a693be621ffa03755b8ac152742cfb1ca22fc5beda28dc"
LH1 = "0xc531018902c22f2b2d2e93fd0e2f893e24102e96330f3deef409cadebfae9b1d"
LH2 = "0x7232bf17c2a0fd75fcc433460e169e57303fbaed2e4d210c02143ae70c60d572"
LH3 = "0xe8dfb9e2361b037f05a448066ee4faccc8838a9a826a582099234528009037b9"
LH4 = "0x8bcc48de56df611f648e5dcb24311a58545a9cca5aaed2cb2d92cac63097e59a"
MTH2 = "0x37596749e49785e29a3155c53cf630acf40cf1ab5684815f9ef48af3452092cd"
ITEMS_ROOT = "0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6"
PROOF_ROOT_FEB = "0x479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca"
ANCHOR_FEB = "0x9f125aaf857f0bc43e3063fd28f2873710ec2bee1aeaadfbdaeced8e0cdf63f0"
PROOF_ROOT_MAR = "0xea36c25b23ee560ea57eb8807e849e2bcaaf222ca111dd66768d92ec3b87c61a"
ANCHOR_MAR = "0xc2ace96a9b57788bc952d00b6f2bf946d3fc0ddcbb0b09bced2a7ea566720241"
META_DIGEST = "0xd4fe6f69833a79ed637bb6b994a863e8b8ad3302589a505470f5d2a477af863f"

RECEIPT_IDS = [
    "0x45ded7ae099093a42ad88c664cb22c2f5a6219e113f9baf283a9b0bc18360caa",
    "0x23de1bb13307017939f1cbbbaa2c4a50c4d3714be325df6001d2473e8f874367",
    "0x910884dbf1e7c320022b1244a15622532f98f4177e25264253794521f5233956",
    "0x7edc1108d36641febf841748f059658c03fcb50de6d59651875073d6989bd01b",
]

DELTA_INPUTS = [  # (delta JSON text, day) of the three daily usage flushes
    ("-420", "01"),
    ("-390", "02"),
    ("-437", "03"),
]

JCS_D = [
    b'{"customerId":"cust_acme_001","delta":"-420","reason":"daily_usage_flush:2026-02-01",'
    b'"recordedAt":"2026-02-01T23:59:59.000Z","referenceId":"usage:cust_acme_001:2026-02-01","sequence":1}',
    b'{"customerId":"cust_acme_001","delta":"-390","reason":"daily_usage_flush:2026-02-02",'
    b'"recordedAt":"2026-02-02T23:59:59.000Z","referenceId":"usage:cust_acme_001:2026-02-02","sequence":2}',
    b'{"customerId":"cust_acme_001","delta":"-437","reason":"daily_usage_flush:2026-02-03",'
    b'"recordedAt":"2026-02-03T23:59:59.000Z","referenceId":"usage:cust_acme_001:2026-02-03","sequence":3}',
]

JCS_C_FEB = (
    b'{"chainId":296,"customerId":"cust_acme_001","endDate":"2026-03-01T00:00:00.000Z","fromSequence":1,'
    b'"itemsRoot":"0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6",'
    b'"ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","netChange":"-1247",'
    b'"period":"2026-02","startDate":"2026-02-01T00:00:00.000Z","toSequence":3,"treeSize":3}'
)


def emit_delta(i: int) -> dict:
    """D of delta i (0-based) built the way the server does: body parsed exactly, then canonical."""
    text, day = DELTA_INPUTS[i]
    body = parse_json_exact(
        f'{{"customerId": "cust_acme_001", "delta": {text}, "reason": "daily_usage_flush:2026-02-{day}", '
        f'"referenceId": "usage:cust_acme_001:2026-02-{day}"}}')
    assert delta_amount_problem(body["delta"]) is None
    return delta_preimage(body["customerId"], canonical_decimal(body["delta"]), body["reason"],
                          body.get("referenceId"), i + 1, f"2026-02-{day}T23:59:59.000Z", None, None)


def checkpoint_feb() -> dict:
    return checkpoint_preimage(LEDGER, chain_id_for("test"), CUSTOMER, "2026-02-01T00:00:00.000Z",
                               "2026-03-01T00:00:00.000Z", "2026-02", 3, ITEMS_ROOT, 1, 3, "-1247", None)


def raw(values: list[str]) -> list[bytes]:
    return [from_hex(v) for v in values]


# --- T.1 Keccak-256 and labels ------------------------------------------------------------------

def test_t1_keccak():
    assert to_hex(keccak256(b"")) == EMPTY_HEX
    assert to_hex(keccak256(b"abc")) == "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    sha3 = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    assert hashlib.sha3_256(b"").hexdigest() == sha3
    assert keccak256(b"").hex() != sha3
    assert to_hex(EMPTY_ROOT) == EMPTY_HEX
    # the fast tree hasher is the same function, for every kind of byte string
    assert KECCAK_TREE.build_levels([b"abc"])[0] == keccak256(b"\x00abc")
    assert KECCAK_TREE.mth([bytearray(b"abc"), memoryview(b"d")]) == mth([b"abc", b"d"])


@pytest.mark.parametrize("label, hex_", [
    (DELTA_LABEL, "70616373706163652d6d6f636b3a64656c74613a7631"),
    (BATCH_LABEL, "70616373706163652d6d6f636b3a62617463683a7631"),
    (CHECKPOINT_LABEL, "70616373706163652d6d6f636b3a636865636b706f696e743a7631"),
    (LEDGER_LABEL, "70616373706163652d6d6f636b3a6c65646765723a7631"),
    (ANCHOR_LABEL, "70616373706163652d6d6f636b3a616e63686f723a7631"),
])
def test_t1_labels(label, hex_):
    assert label.encode("ascii").hex() == hex_


# --- T.2 canonical decimals ---------------------------------------------------------------------

T2 = [
    ("-12.50", "-12.5", None, 3),
    ("1E+2", "100", None, 1),
    ("1e-7", "0.0000001", None, 1),
    ("100.000", "100", None, 1),
    ("-0.0", "0", "delta must be non-zero", 0),
    ("0.30000000000000004", "0.30000000000000004",
     "delta has 17 significant digits; at most 15 are allowed", 17),
    ("-420", "-420", None, 2),
    ("12.5e1", "125", None, 3),
    ("0.000001", "0.000001", None, 1),
    ("1000000000", "1000000000", None, 1),
    ("-1e9", "-1000000000", None, 1),
    ("1000000000.5", "1000000000.5", "delta must satisfy |delta| <= 1000000000", 11),
    ("123456789.123456", "123456789.123456", None, 15),
    ("0.123456789012345", "0.123456789012345", None, 15),
    ("1234567.890123456", "1234567.890123456",
     "delta has 16 significant digits; at most 15 are allowed", 16),
    ("1e-18", "0.000000000000000001", None, 1),
    ("1e-19", "0.0000000000000000001", "delta has 19 digits after the point; at most 18 are allowed", 1),
    ("0", "0", "delta must be non-zero", 0),
]


@pytest.mark.parametrize("text, canonical, problem, sig", T2)
def test_t2_canonical_decimals(text, canonical, problem, sig):
    value = parse_json_exact(text)
    assert isinstance(value, Decimal)
    assert canonical_decimal(value) == canonical
    assert delta_amount_problem(value) == problem
    assert significant_digits(value) == sig


def test_t2_sums_are_exact():
    from mockserver.proofs import exact_sum
    assert canonical_decimal(exact_sum([Decimal("1000000000"), Decimal("0.000000000000000001")])) == \
        "1000000000.000000000000000001"


# --- T.3 timestamps -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, normalized", [
    ("2026-02-01T23:59:59Z", "2026-02-01T23:59:59.000Z"),
    ("2026-02-01T23:59:59.5Z", "2026-02-01T23:59:59.500Z"),
    ("2026-02-01T23:59:59.123456789Z", "2026-02-01T23:59:59.123Z"),
    ("2026-02-02T01:59:59.999+02:00", "2026-02-01T23:59:59.999Z"),
    ("2026-01-31T19:00:00-05:00", "2026-02-01T00:00:00.000Z"),
    ("2026-02-01t23:59:59.000z", "2026-02-01T23:59:59.000Z"),
])
def test_t3_timestamps(text, normalized):
    assert format_ts(parse_rfc3339(text)) == normalized


@pytest.mark.parametrize("text, message", [
    ("2026-02-01T23:59:59", "'2026-02-01T23:59:59' is not an RFC 3339 timestamp with a zone"),
    ("2026-02-01 23:59:59Z", "'2026-02-01 23:59:59Z' is not an RFC 3339 timestamp with a zone"),
    ("2026-02-30T00:00:00Z", "'2026-02-30T00:00:00Z': day is out of range for month"),
])
def test_t3_rejected_timestamps(text, message):
    with pytest.raises(ValueError) as info:
        parse_rfc3339(text)
    assert str(info.value) == message


# --- T.4 ledgerId -------------------------------------------------------------------------------

def test_t4_ledger_id():
    key = "pk_test_demo.s3cr3t"
    assert env_of_key(key) == "test" and key_public_part(key) == "pk_test_demo"
    assert key_public_part("pk_test_demo") == "pk_test_demo"
    assert chain_id_for("test") == 296 and chain_id_for("live") == 295
    assert ledger_preimage("test", "pk_test_demo").hex() == (
        "70616373706163652d6d6f636b3a6c65646765723a763100746573743a706b5f746573745f64656d6f")
    assert ledger_id("test", "pk_test_demo") == LEDGER
    with pytest.raises(ValueError):
        chain_id_for("prod")


# --- T.5 deltas ---------------------------------------------------------------------------------

@pytest.mark.parametrize("i", [0, 1, 2])
def test_t5_delta_jcs_fingerprint_leaf(i):
    d = emit_delta(i)
    assert jcs(d) == JCS_D[i]
    assert len(jcs(d)) == 185
    assert fingerprint(d) == [FP1, FP2, FP3][i]
    assert to_hex(leaf_hash(from_hex(fingerprint(d)))) == [LH1, LH2, LH3][i]
    assert to_hex(keccak256(b"\x00" + from_hex(fingerprint(d)))) == [LH1, LH2, LH3][i]


def test_t5_full_preimage_hex():
    expected = (
        "70616373706163652d6d6f636b3a64656c74613a7631007b22637573746f6d65724964223a22637573745f61636d655f"
        "303031222c2264656c7461223a222d343230222c22726561736f6e223a226461696c795f75736167655f666c7573683a"
        "323032362d30322d3031222c227265636f726465644174223a22323032362d30322d30315432333a35393a35392e3030"
        "305a222c227265666572656e63654964223a2275736167653a637573745f61636d655f3030313a323032362d30322d30"
        "31222c2273657175656e6365223a317d")
    preimage = fingerprint_preimage(emit_delta(0))
    assert preimage.hex() == expected
    assert to_hex(keccak256(preimage)) == FP1


def test_t5_fingerprint_pitfalls():
    d = emit_delta(0)
    as_number = dict(d, delta=-420)
    assert fingerprint(as_number) != FP1
    assert fingerprint(dict(d, delta="-420.0")) != FP1
    assert fingerprint(dict(d, adjusts=None)) != FP1
    assert fingerprint(dict(d, sequence=0)) != FP1
    with pytest.raises(TypeError):
        delta_preimage(CUSTOMER, Decimal("-420"), "r", None, 1, "2026-02-01T23:59:59.000Z")  # type: ignore[arg-type]
    nfc, nfd = dict(d, reason="caf\u00e9"), dict(d, reason="cafe\u0301")
    assert fingerprint(nfc) != fingerprint(nfd)


# --- T.6 tree over the three fingerprints -------------------------------------------------------

def test_t6_roots():
    fps = raw([FP1, FP2, FP3])
    assert to_hex(mth(fps[:1])) == LH1
    assert to_hex(mth(fps[:2])) == MTH2
    assert to_hex(node_hash(from_hex(LH1), from_hex(LH2))) == MTH2
    assert to_hex(node_hash(from_hex(MTH2), from_hex(LH3))) == ITEMS_ROOT
    assert to_hex(mth(fps)) == ITEMS_ROOT
    assert to_hex(mth([])) == EMPTY_HEX


T6_PATHS = {0: [LH2, LH3], 1: [LH1, LH3], 2: [MTH2]}


@pytest.mark.parametrize("index", [0, 1, 2])
def test_t6_inclusion(index):
    fps = raw([FP1, FP2, FP3])
    path = [to_hex(p) for p in inclusion_path(index, fps)]
    assert path == T6_PATHS[index]
    assert [to_hex(p) for p in path_from_levels(build_levels(fps), 3, index)] == path
    assert verify_inclusion(index, 3, fps[index], raw(path), from_hex(ITEMS_ROOT))
    assert verify_inclusion_inner_border(index, 3, fps[index], raw(path), from_hex(ITEMS_ROOT))


@pytest.mark.parametrize("m, first_root, proof", [(1, LH1, [LH2, LH3]), (2, MTH2, [LH3])])
def test_t6_consistency(m, first_root, proof):
    fps = raw([FP1, FP2, FP3])
    assert to_hex(mth(fps[:m])) == first_root
    assert [to_hex(p) for p in consistency_proof(m, fps)] == proof
    assert [to_hex(p) for p in consistency_from_levels(build_levels(fps), 3, m)] == proof
    assert verify_consistency(m, 3, from_hex(first_root), from_hex(ITEMS_ROOT), raw(proof))


# --- T.7 batch receipts -------------------------------------------------------------------------

T7_JCS = [
    '{"batchSequence":1,"itemCount":1,"itemsRoot":"0xc531018902c22f2b2d2e93fd0e2f893e24102e96330f3deef409cadebfae9b1d","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x0000000000000000000000000000000000000000000000000000000000000000"}',
    '{"batchSequence":2,"itemCount":1,"itemsRoot":"0x7232bf17c2a0fd75fcc433460e169e57303fbaed2e4d210c02143ae70c60d572","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x45ded7ae099093a42ad88c664cb22c2f5a6219e113f9baf283a9b0bc18360caa"}',
    '{"batchSequence":3,"itemCount":1,"itemsRoot":"0xe8dfb9e2361b037f05a448066ee4faccc8838a9a826a582099234528009037b9","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x23de1bb13307017939f1cbbbaa2c4a50c4d3714be325df6001d2473e8f874367"}',
    '{"batchSequence":4,"itemCount":1,"itemsRoot":"0x8bcc48de56df611f648e5dcb24311a58545a9cca5aaed2cb2d92cac63097e59a","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x910884dbf1e7c320022b1244a15622532f98f4177e25264253794521f5233956"}',
]
T7_ANCHORS = [
    "0x66e609eb6ce6d1d141a842c19a7ca0366f36c7d8ad63eb043fd016f072ecf14e",
    "0xeeafa67fda537b2df4b24c75ac9f29268a43e6a747d1c1030f94f6120d5564ea",
    "0x769c8f59db44a04cb7a68b87508e1ecc7c160d5228a4abcb06489ec290506f08",
]


def ledger_batches() -> list[dict]:
    """The four one-item batches of T.7 and T.9, in the shape verify_batch_chain takes."""
    batches, previous = [], ZERO_HASH
    for i, fp in enumerate([FP1, FP2, FP3, FP4]):
        root = to_hex(mth([from_hex(fp)]))
        b = batch_preimage(LEDGER, i + 1, 1, root, previous)
        previous = batch_proof_hash(b)
        batches.append(dict(b, proofHash=previous, itemHashes=[fp]))
    return batches


def test_t7_batches():
    batches = ledger_batches()
    for i, b in enumerate(batches):
        pre = {k: b[k] for k in ("ledgerId", "batchSequence", "itemCount", "itemsRoot", "previousProofHash")}
        assert jcs(pre).decode() == T7_JCS[i]
        assert batch_proof_hash(pre) == b["proofHash"] == RECEIPT_IDS[i]
        if i < 3:
            assert anchor_reference(b["proofHash"]) == T7_ANCHORS[i]
    report = verify_batch_chain(batches, ledger_id=LEDGER)
    assert report.ok, report.messages


def test_t7_one_batch_of_three():
    b = batch_preimage(LEDGER, 1, 3, to_hex(mth(raw([FP1, FP2, FP3]))), ZERO_HASH)
    assert jcs(b).decode() == (
        '{"batchSequence":1,"itemCount":3,"itemsRoot":"0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x0000000000000000000000000000000000000000000000000000000000000000"}')
    proof_hash = batch_proof_hash(b)
    assert proof_hash == "0x82127cf1bc2548a2d8b11d1afca275b2de2a4463f29a883335dd9623cb71ac0a"
    report = verify_batch_chain([dict(b, proofHash=proof_hash, itemHashes=[FP1, FP2, FP3])])
    assert report.ok, report.messages
    # one delta's membership in its batch: the 4.3 algorithm over the batch tree
    fps = raw([FP1, FP2, FP3])
    assert verify_inclusion(1, 3, fps[1], inclusion_path(1, fps), from_hex(b["itemsRoot"]))


@pytest.mark.parametrize("tamper, failing", [
    (lambda bs: bs.__delitem__(1), {"batchSequence", "previousProofHash"}),
    (lambda bs: bs[2].update(previousProofHash=RECEIPT_IDS[0]), {"previousProofHash", "proofHash"}),
    (lambda bs: bs[0].update(previousProofHash=RECEIPT_IDS[3]), {"previousProofHash", "proofHash"}),
    (lambda bs: bs[1].update(itemHashes=[FP3]), {"itemsRoot"}),
    (lambda bs: bs[1].update(itemCount=2), {"itemCount", "proofHash"}),
    (lambda bs: bs[3].update(proofHash=RECEIPT_IDS[0]), {"proofHash"}),
    (lambda bs: bs[0].update(proofHash=RECEIPT_IDS[0].upper().replace("0X", "0x")), {"shape"}),
    (lambda bs: bs.reverse(), {"batchSequence", "previousProofHash"}),
])
def test_t7_batch_chain_tampering(tamper, failing):
    batches = ledger_batches()
    tamper(batches)
    report = verify_batch_chain(batches)
    assert not report.ok
    assert set(report.failed) == failing, report.messages


def test_batch_chain_malformed_input_never_raises():
    for junk in (None, 5, "x", [None], [{}], [{"batchSequence": True}]):
        assert not verify_batch_chain(junk).ok
    assert verify_batch_chain([]).ok


# --- T.8 checkpoint, anchor, proof objects ------------------------------------------------------

def test_t8_checkpoint():
    c = checkpoint_feb()
    assert jcs(c) == JCS_C_FEB
    assert len(jcs(c)) == 365
    assert proof_root(c) == PROOF_ROOT_FEB
    assert anchor_preimage(PROOF_ROOT_FEB).hex() == (
        "70616373706163652d6d6f636b3a616e63686f723a763100479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca")
    assert anchor_reference(PROOF_ROOT_FEB) == ANCHOR_FEB
    assert checkpoint_problems(c) == []


INCLUSION_OBJECT = """{
  "customerId": "cust_acme_001",
  "recordId": "rec_demo_0002",
  "sequence": 2,
  "fingerprint": "0xb49479cc67f91a648b7c82a7d69b0925209c68393fd463e8deabed9aace9750f",
  "leafIndex": 1,
  "treeSize": 3,
  "itemsRoot": "0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6",
  "merkleProof": [
    "0xc531018902c22f2b2d2e93fd0e2f893e24102e96330f3deef409cadebfae9b1d",
    "0xe8dfb9e2361b037f05a448066ee4faccc8838a9a826a582099234528009037b9"
  ],
  "proofRoot": "0x479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca",
  "checkpoint": {
    "ledgerId": "0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737",
    "chainId": 296,
    "customerId": "cust_acme_001",
    "startDate": "2026-02-01T00:00:00.000Z",
    "endDate": "2026-03-01T00:00:00.000Z",
    "treeSize": 3,
    "itemsRoot": "0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6",
    "netChange": "-1247",
    "period": "2026-02",
    "fromSequence": 1,
    "toSequence": 3
  }
}"""

CONSISTENCY_OBJECT = """{
  "customerId": "cust_acme_001",
  "firstTreeSize": 2,
  "firstItemsRoot": "0x37596749e49785e29a3155c53cf630acf40cf1ab5684815f9ef48af3452092cd",
  "secondTreeSize": 3,
  "secondItemsRoot": "0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6",
  "consistencyProof": [
    "0xe8dfb9e2361b037f05a448066ee4faccc8838a9a826a582099234528009037b9"
  ]
}"""

LINE2 = {"customerId": CUSTOMER, "delta": -390, "reason": "daily_usage_flush:2026-02-02",
         "referenceId": "usage:cust_acme_001:2026-02-02", "sequence": 2,
         "recordedAt": "2026-02-02T23:59:59.000Z"}


def test_t8_inclusion_object_verifies():
    for source in (INCLUSION_OBJECT, INCLUSION_OBJECT.encode(), json.loads(INCLUSION_OBJECT),
                   parse_json_exact(INCLUSION_OBJECT),
                   {"success": True, "data": json.loads(INCLUSION_OBJECT)}):
        report = verify_inclusion_object(source, ledger_id=LEDGER)
        assert report.ok, report.messages
    report = verify_inclusion_object(INCLUSION_OBJECT, delta_fields=LINE2)
    assert report.ok and report.checks["fingerprint"], report.messages
    assert set(report.checks) == {"json", "shape", "fingerprint", "checkpoint.wellFormed", "proofRoot",
                                  "checkpoint.itemsRoot", "checkpoint.treeSize", "checkpoint.customerId",
                                  "position", "inclusion"}


def test_t8_consistency_object_verifies():
    for source in (CONSISTENCY_OBJECT, json.loads(CONSISTENCY_OBJECT)):
        report = verify_consistency_object(source)
        assert report.ok, report.messages


# --- T.9 metadata and adjusts -------------------------------------------------------------------

D4_BODY = ('{"customerId": "cust_acme_001", "delta": 12.50, "reason": "usage_correction:2026-02-01", '
           '"referenceId": "usage_correction:cust_acme_001:2026-02-01", '
           '"adjusts": {"referenceId": "usage:cust_acme_001:2026-02-01"}, "metadata": {"plan": "growth"}}')
JCS_D4 = (b'{"adjusts":{"referenceId":"usage:cust_acme_001:2026-02-01"},"customerId":"cust_acme_001",'
          b'"delta":"12.5","metadataDigest":"0xd4fe6f69833a79ed637bb6b994a863e8b8ad3302589a505470f5d2a477af863f",'
          b'"reason":"usage_correction:2026-02-01","recordedAt":"2026-03-02T09:30:00.250Z",'
          b'"referenceId":"usage_correction:cust_acme_001:2026-02-01","sequence":4}')
JCS_C_MAR = (b'{"chainId":296,"customerId":"cust_acme_001","endDate":"2026-04-01T00:00:00.000Z","fromSequence":4,'
             b'"itemsRoot":"0x8bcc48de56df611f648e5dcb24311a58545a9cca5aaed2cb2d92cac63097e59a",'
             b'"ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737",'
             b'"netChange":"12.5","period":"2026-03",'
             b'"previousProofRoot":"0x479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca",'
             b'"startDate":"2026-03-01T00:00:00.000Z","toSequence":4,"treeSize":1}')


def delta4() -> dict:
    body = parse_json_exact(D4_BODY)
    assert jcs(metadata_to_json_value(body["metadata"])) == b'{"plan":"growth"}'
    return delta_preimage(body["customerId"], canonical_decimal(body["delta"]), body["reason"],
                          body["referenceId"], 4, format_ts(parse_rfc3339("2026-03-02T09:30:00.250Z")),
                          body["adjusts"], metadata_digest(body["metadata"]))


def checkpoint_mar() -> dict:
    return checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z",
                               "2026-03", 1, LH4, 4, 4, "12.5", PROOF_ROOT_FEB)


def test_t9_metadata_digest():
    assert metadata_digest({"plan": "growth"}) == META_DIGEST
    assert metadata_digest(parse_json_exact('{"plan":"growth"}')) == META_DIGEST
    assert metadata_digest({}) == to_hex(keccak256(b"{}"))


def test_t9_delta4():
    d = delta4()
    assert jcs(d) == JCS_D4
    assert fingerprint(d) == FP4
    assert to_hex(leaf_hash(from_hex(FP4))) == LH4


def test_t9_batch4_and_march_checkpoint():
    assert ledger_batches()[3]["proofHash"] == RECEIPT_IDS[3]
    c = checkpoint_mar()
    assert jcs(c) == JCS_C_MAR
    assert to_hex(mth([from_hex(FP4)])) == LH4
    assert inclusion_path(0, [from_hex(FP4)]) == []
    assert proof_root(c) == PROOF_ROOT_MAR
    assert anchor_reference(PROOF_ROOT_MAR) == ANCHOR_MAR
    assert checkpoint_problems(c) == []


def march_receipt() -> dict:
    line = {"recordId": "rec_demo_0004", "customerId": CUSTOMER, "delta": Decimal("12.5"),
            "deltaDecimal": "12.5", "reason": "usage_correction:2026-02-01",
            "referenceId": "usage_correction:cust_acme_001:2026-02-01",
            "adjusts": {"referenceId": "usage:cust_acme_001:2026-02-01"}, "metadata": {"plan": "growth"},
            "metadataDigest": META_DIGEST, "sequence": 4, "recordedAt": "2026-03-02T09:30:00.250Z",
            "status": "VERIFIED", "fingerprint": FP4, "itemHash": FP4, "contentHash": FP4,
            "receiptId": RECEIPT_IDS[3]}
    return {"customerId": CUSTOMER, "period": "2026-03", "proofRoot": PROOF_ROOT_MAR, "itemsRoot": LH4,
            "startingBalance": Decimal(-1247), "finalBalance": Decimal("-1234.5"), "deltaCount": 1,
            "deltasCount": 1, "deltas": [line],
            "verification": {"proofScheme": "pacspace-mock/v1", "itemHashes": [FP4], "proofRoot": PROOF_ROOT_MAR,
                             "verificationReference": ANCHOR_MAR, "checkpoint": checkpoint_mar()}}


def test_t9_receipt_with_metadata_verifies():
    receipt = march_receipt()
    assert verify_receipt(receipt, ledger_id=LEDGER).ok
    only_digest = copy.deepcopy(receipt)
    del only_digest["deltas"][0]["metadata"]
    assert verify_receipt(only_digest).ok
    only_metadata = copy.deepcopy(receipt)
    del only_metadata["deltas"][0]["metadataDigest"]
    assert verify_receipt(only_metadata).ok
    as_float = json.loads(json.dumps(receipt, default=float))  # what a JS client holds
    assert isinstance(as_float["deltas"][0]["delta"], float)
    assert verify_receipt(as_float).ok


RECOMPUTED = ["deltas.fingerprints", "itemHashes", "itemsRoot"]  # the line's fingerprint no longer matches


@pytest.mark.parametrize("change, failing", [
    ({"metadata": {"plan": "scale"}}, ["deltas.wellFormed", *RECOMPUTED]),  # digest no longer of the metadata
    ({"metadataDigest": META_DIGEST.replace("d4", "d5", 1)}, ["deltas.wellFormed", *RECOMPUTED]),
    ({"deltaDecimal": "12.50"}, ["deltas.wellFormed"]),  # not the canonical string of delta
    ({"adjusts": {"recordId": "usage:cust_acme_001:2026-02-01"}}, RECOMPUTED),  # other member, same value
    ({"adjusts": {"referenceId": "a", "recordId": "b"}}, ["deltas.wellFormed", *RECOMPUTED]),  # two members
])
def test_t9_line_changes_fail(change, failing):
    receipt = march_receipt()
    receipt["deltas"][0].update(change)
    assert verify_receipt(receipt).failed == failing


# --- T.10 empty checkpoint ----------------------------------------------------------------------

def test_t10_empty_checkpoint():
    c = checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z",
                            "2026-01", 0, to_hex(mth([])), None, None, "0", None)
    assert jcs(c) == (
        b'{"chainId":296,"customerId":"cust_acme_001","endDate":"2026-02-01T00:00:00.000Z",'
        b'"itemsRoot":"0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",'
        b'"ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","netChange":"0",'
        b'"period":"2026-01","startDate":"2026-01-01T00:00:00.000Z","treeSize":0}')
    root = proof_root(c)
    assert root == "0x2e72ca2e25996c16d51064547c989c75844ac6ed8f35bb6b0a612787846d5283"
    assert anchor_reference(root) == "0x7e9468de30a9d2bc866023a708f15283d52bbf46d6ecd9706ab9f677dc7fcc28"
    assert checkpoint_problems(c) == []
    receipt = {"customerId": CUSTOMER, "period": "2026-01", "proofRoot": root, "itemsRoot": EMPTY_HEX,
               "startingBalance": 0, "finalBalance": 0, "deltaCount": 0, "deltasCount": 0, "deltas": [],
               "verification": {"proofScheme": "pacspace-mock/v1", "itemHashes": [], "proofRoot": root,
                                "checkpoint": c}}
    assert verify_receipt(receipt).ok
    # the empty tree is a prefix of every tree
    assert verify_consistency(0, 3, EMPTY_ROOT, from_hex(ITEMS_ROOT), [])


@pytest.mark.parametrize("change", [
    {"itemsRoot": LH1}, {"netChange": "1"}, {"fromSequence": 1, "toSequence": 1}, {"period": "2026-02"},
    {"chainId": 1}, {"treeSize": -1}, {"startDate": "2026-01-01T00:00:00Z"}, {"extra": 1},
    {"previousProofRoot": None}, {"netChange": 0}, {"endDate": "2026-01-01T00:00:00.000Z", "period": None},
])
def test_checkpoint_well_formedness(change):
    c = checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z",
                            "2026-01", 0, EMPTY_HEX, None, None, "0", None)
    c.update(change)
    c = {k: v for k, v in c.items() if not (k == "period" and v is None)}
    assert checkpoint_problems(c)


# --- T.11 the tree code with SHA-256 (RFC 6962 reference values) --------------------------------

T11_LEAVES = [bytes.fromhex(h) for h in
              ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]
T11_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
T11_INCLUSION_5_8 = ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]
T11_CONSISTENCY_6_8 = ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                       "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                       "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]


def test_t11_sha256_roots():
    levels = SHA256_TREE.build_levels(T11_LEAVES)
    for n, expected in enumerate(T11_ROOTS):
        assert SHA256_TREE.mth(T11_LEAVES[:n]).hex() == expected
        assert SHA256_TREE.root_from_levels(levels, n).hex() == expected


def test_t11_sha256_proofs():
    tree, levels = SHA256_TREE, SHA256_TREE.build_levels(T11_LEAVES)
    path = tree.inclusion_path(5, T11_LEAVES)
    assert [p.hex() for p in path] == T11_INCLUSION_5_8
    assert tree.path_from_levels(levels, 8, 5) == path
    root8, root6 = bytes.fromhex(T11_ROOTS[8]), bytes.fromhex(T11_ROOTS[6])
    assert tree.verify_inclusion(5, 8, T11_LEAVES[5], path, root8)
    assert tree.verify_inclusion_inner_border(5, 8, T11_LEAVES[5], path, root8)
    proof = tree.consistency_proof(6, T11_LEAVES)
    assert [p.hex() for p in proof] == T11_CONSISTENCY_6_8
    assert tree.consistency_from_levels(levels, 8, 6) == proof
    assert tree.verify_consistency(6, 8, root6, root8, proof)
    # Keccak over the same leaves gives other roots: the hash really is injected
    assert KECCAK_TREE.mth(T11_LEAVES).hex() != T11_ROOTS[8]


# --- T.12 a receipt that verifies, and tampered copies ------------------------------------------

def receipt_line(i: int) -> dict:
    text, day = DELTA_INPUTS[i]
    fp = [FP1, FP2, FP3][i]
    return {"recordId": f"rec_demo_000{i + 1}", "customerId": CUSTOMER, "delta": int(text),
            "reason": f"daily_usage_flush:2026-02-{day}", "referenceId": f"usage:cust_acme_001:2026-02-{day}",
            "sequence": i + 1, "recordedAt": f"2026-02-{day}T23:59:59.000Z", "status": "VERIFIED",
            "fingerprint": fp, "itemHash": fp, "receiptId": RECEIPT_IDS[i]}


def t12_receipt() -> dict:
    c = json.loads(INCLUSION_OBJECT)["checkpoint"]
    return {"customerId": CUSTOMER, "period": "2026-02", "proofRoot": PROOF_ROOT_FEB, "itemsRoot": ITEMS_ROOT,
            "startingBalance": 0, "finalBalance": -1247, "deltaCount": 3, "deltasCount": 3,
            "deltas": [receipt_line(i) for i in range(3)],
            "verification": {"proofScheme": "pacspace-mock/v1", "itemHashes": [FP1, FP2, FP3],
                             "proofRoot": PROOF_ROOT_FEB, "verificationReference": ANCHOR_FEB,
                             "checkpoint": c}}


def test_t12_receipt_verifies():
    receipt = t12_receipt()
    text = json.dumps(receipt, indent=2)
    for source in (receipt, text, text.encode(), json.dumps({"success": True, "data": receipt}),
                   parse_json_exact(text)):
        report = verify_receipt(source, ledger_id=LEDGER)
        assert report.ok, report.messages
        assert report.failed == [] and report.messages == []
        assert list(report.checks) == list(RECEIPT_CHECKS)
        assert all(report.checks.values())


def _change_amount(r):
    r["deltas"][0]["delta"] = -421


def _change_amount_recompute(r):
    line = r["deltas"][0]
    line["delta"] = -421
    d = delta_preimage(CUSTOMER, "-421", line["reason"], line["referenceId"], 1, line["recordedAt"])
    line["fingerprint"] = line["itemHash"] = fingerprint(d)
    r["verification"]["itemHashes"][0] = fingerprint(d)


def _drop(r):
    del r["deltas"][1]


def _reorder(r):
    r["deltas"][0], r["deltas"][1] = r["deltas"][1], r["deltas"][0]


def _final_balance(r):
    r["finalBalance"] = -1246


def _net_change(r):
    r["verification"]["checkpoint"]["netChange"] = "-1246"


def _wrong_proof_root(r):
    r["proofRoot"] = r["verification"]["proofRoot"] = PROOF_ROOT_MAR


def _outside_window(r):
    r["deltas"][2]["recordedAt"] = "2026-03-01T00:00:00.000Z"


T12_TABLE = [
    (_change_amount, ["deltas.fingerprints", "itemHashes", "itemsRoot", "netChange", "balances"]),
    (_change_amount_recompute, ["itemsRoot", "netChange", "balances"]),
    (_drop, ["completeness", "itemHashes", "itemsRoot", "netChange", "balances"]),
    (_reorder, ["deltas.order", "itemHashes", "itemsRoot"]),
    (_final_balance, ["balances"]),
    (_net_change, ["proofRoot", "anchor", "netChange"]),
    (_wrong_proof_root, ["proofRoot"]),
    (_outside_window, ["deltas.fingerprints", "deltas.window", "itemHashes", "itemsRoot"]),
]


@pytest.mark.parametrize("tamper, failing", T12_TABLE, ids=[t.__name__.strip("_") for t, _ in T12_TABLE])
def test_t12_tampered_copies(tamper, failing):
    receipt = t12_receipt()
    tamper(receipt)
    for source in (receipt, json.dumps(receipt)):
        report = verify_receipt(source, ledger_id=LEDGER)
        assert not report.ok
        assert report.failed == failing, report.messages
        assert report.messages


def _line(i, **change):
    def tamper(r):
        r["deltas"][i].update(change)
    tamper.__name__ = f"line{i}_" + "_".join(f"{k}={v!r}"[:24] for k, v in change.items())
    return tamper


def _c(**change):
    def tamper(r):
        r["verification"]["checkpoint"].update(change)
    tamper.__name__ = "checkpoint_" + "_".join(change)
    return tamper


def _top(**change):
    def tamper(r):
        r.update(change)
    tamper.__name__ = "top_" + "_".join(change)
    return tamper


def _duplicate(r):
    r["deltas"].insert(1, copy.deepcopy(r["deltas"][0]))


def _add_line(r):
    line = receipt_line(2)
    line.update(sequence=4, recordedAt="2026-02-04T23:59:59.000Z")
    d = delta_preimage(CUSTOMER, "-437", line["reason"], line["referenceId"], 4, line["recordedAt"])
    line["fingerprint"] = line["itemHash"] = fingerprint(d)
    r["deltas"].append(line)


def _delta_as_string(r):
    r["deltas"][0]["delta"] = "-420"


def _null_reference(r):
    d = delta_preimage(CUSTOMER, "-420", "daily_usage_flush:2026-02-01", None, 1, "2026-02-01T23:59:59.000Z")
    r["deltas"][0].update(referenceId=None, fingerprint=fingerprint(d), itemHash=fingerprint(d))


# 6.5: each must be rejected; the check sets are what this verifier reports.
TAMPERING_6_5 = [
    (_line(0, reason="daily_usage_flush:2026-02-09"), {"deltas.fingerprints", "itemHashes", "itemsRoot"}),
    (_line(0, referenceId="x"), {"deltas.fingerprints", "itemHashes", "itemsRoot"}),
    (_line(1, sequence=5), {"deltas.fingerprints", "deltas.order", "completeness", "itemHashes", "itemsRoot"}),
    (_line(1, sequence=0), {"deltas.wellFormed", "deltas.fingerprints", "deltas.order", "completeness",
                            "itemHashes", "itemsRoot"}),
    (_line(1, recordedAt="2026-02-02T23:59:59Z"), {"deltas.wellFormed", "deltas.fingerprints",
                                                   "itemHashes", "itemsRoot"}),
    (_line(1, recordedAt="2026-02-02T23:59:58.000Z"), {"deltas.fingerprints", "itemHashes", "itemsRoot"}),
    (_line(1, customerId="cust_other"), {"deltas.wellFormed", "deltas.fingerprints", "itemHashes", "itemsRoot"}),
    (_line(1, adjusts={"recordId": "rec_x"}), {"deltas.fingerprints", "itemHashes", "itemsRoot"}),
    (_line(1, metadata={"a": 1}), {"deltas.fingerprints", "itemHashes", "itemsRoot"}),
    (_line(1, status="FAILED"), {"deltas.status"}),
    (_line(1, fingerprint=FP2.upper().replace("0X", "0x")), {"deltas.fingerprints"}),
    (_line(1, itemHash=FP1), {"deltas.fingerprints"}),
    (_line(1, contentHash=FP1), {"deltas.fingerprints"}),
    (_line(1, delta=0.1), {"deltas.fingerprints", "itemHashes", "itemsRoot", "netChange", "balances"}),
    (_line(1, delta=0.30000000000000004), {"deltas.wellFormed", "deltas.fingerprints", "itemHashes",
                                           "itemsRoot", "netChange", "balances"}),
    (_line(1, deltaDecimal="-390.0"), {"deltas.wellFormed"}),
    (_delta_as_string, {"deltas.wellFormed", "deltas.fingerprints", "itemHashes", "itemsRoot", "netChange",
                        "balances"}),
    (_null_reference, {"itemHashes", "itemsRoot"}),
    (_duplicate, {"deltas.order", "completeness", "itemHashes", "itemsRoot", "netChange", "balances"}),
    (_add_line, {"completeness", "itemHashes", "itemsRoot", "netChange", "balances"}),
    (_top(startingBalance=1), {"balances"}),
    (_top(finalBalance=-1247.5), {"balances"}),
    (_top(itemsRoot=MTH2), {"itemsRoot"}),
    (_top(customerId="cust_other"), {"checkpoint.customerId", "deltas.wellFormed"}),
    (_top(period="2026-03"), {"checkpoint.period"}),
    (_top(deltaCount=2), {"completeness"}),
    (_top(deltasCount=4), {"completeness"}),
    (_c(treeSize=4), {"checkpoint.wellFormed", "proofRoot", "anchor", "completeness"}),
    (_c(chainId=295), {"proofRoot", "anchor"}),
    (_c(ledgerId=RECEIPT_IDS[0]), {"proofRoot", "anchor", "ledgerId"}),
    (_c(startDate="2026-02-02T00:00:00.000Z"), {"checkpoint.wellFormed", "proofRoot", "anchor",
                                                "deltas.window"}),
    (_c(period="2026-03"), {"checkpoint.wellFormed", "checkpoint.period", "proofRoot", "anchor"}),
    (_c(fromSequence=2), {"checkpoint.wellFormed", "proofRoot", "anchor", "completeness"}),
    (_c(toSequence=4), {"proofRoot", "anchor", "completeness"}),
    (_c(previousProofRoot=PROOF_ROOT_MAR), {"proofRoot", "anchor"}),
    (_c(previousProofRoot=None), {"checkpoint.wellFormed", "proofRoot", "anchor"}),
    (_c(itemsRoot=MTH2), {"proofRoot", "anchor", "itemsRoot"}),
    (_c(netChange=-1247), {"checkpoint.wellFormed", "proofRoot", "anchor", "netChange"}),
    (_c(netChange="-1247\n"), {"checkpoint.wellFormed", "proofRoot", "anchor", "netChange"}),
    (_c(period="2026-02\n"), {"checkpoint.wellFormed", "checkpoint.period", "proofRoot", "anchor"}),
    (_c(itemsRoot=ITEMS_ROOT.upper().replace("0X", "0x")), {"checkpoint.wellFormed", "proofRoot", "anchor",
                                                            "itemsRoot"}),
]


@pytest.mark.parametrize("tamper, failing", TAMPERING_6_5, ids=[t.__name__.strip("_") for t, _ in TAMPERING_6_5])
def test_6_5_receipt_tampering(tamper, failing):
    receipt = t12_receipt()
    tamper(receipt)
    report = verify_receipt(receipt, ledger_id=LEDGER)
    assert not report.ok
    assert set(report.failed) == failing, report.messages


def test_receipt_scheme_anchor_and_ledger():
    r = t12_receipt()
    r["verification"]["proofScheme"] = "pacspace/v1"
    assert verify_receipt(r).failed == ["proofScheme"]
    r = t12_receipt()
    r["verification"]["verificationReference"] = ANCHOR_MAR
    assert verify_receipt(r).failed == ["anchor"]
    r = t12_receipt()
    assert verify_receipt(r, ledger_id=ledger_id("live", "pk_live_demo")).failed == ["ledgerId"]
    # checks that do not apply are not run
    r = t12_receipt()
    del r["period"], r["verification"]["verificationReference"], r["verification"]["itemHashes"]
    report = verify_receipt(r)
    assert report.ok
    assert {"checkpoint.period", "anchor", "ledgerId", "itemHashes"}.isdisjoint(report.checks)


def test_receipt_server_shape_with_nulls_verifies():
    """Server lines carry null for absent members, deltaDecimal, contentHash and proof members."""
    r = t12_receipt()
    for line in r["deltas"]:
        line.update(metadata=None, metadataDigest=None, adjusts=None, deltaDecimal=str(line["delta"]),
                    contentHash=line["fingerprint"], sequenceNumber=str(line["sequence"]))
    r["verification"]["itemsRoot"] = ITEMS_ROOT
    assert verify_receipt({"success": True, "data": r}).ok


@pytest.mark.parametrize("junk", [
    "", "{", "[]", "null", "5", '{"a":1,"a":2}', '{"x": NaN}', b"\xff", {"x": float("nan")}, [], None, 7,
    {}, {"deltas": "x"}, {"success": True, "data": {}},
    '{"customerId":"c","deltas":[1,null,"x",{}],"proofRoot":"0x","itemsRoot":3,"finalBalance":"a",'
    '"deltaCount":true,"verification":{"checkpoint":{"treeSize":1e400}}}',
    '{"customerId":"c","deltas":[{"delta":1e999999,"sequence":"1"}],"proofRoot":1,"itemsRoot":1,'
    '"finalBalance":1e-999999,"deltaCount":1,"verification":{"checkpoint":{"netChange":"\\ud800"}}}',
    # absurd exponents must be refused quickly, never expanded into digits
    '{"customerId":"c","deltas":[{"delta":1e-999999999,"sequence":1e999999999,"reason":"r",'
    '"recordedAt":"2026-02-01T00:00:00.000Z"}],"proofRoot":1,"itemsRoot":1,"finalBalance":1e999999999,'
    '"startingBalance":-1e-999999999,"deltaCount":1e999999999,'
    '"verification":{"checkpoint":{"treeSize":1e999999999,"fromSequence":1e999999999}}}',
])
def test_receipt_malformed_never_raises(junk):
    report = verify_receipt(junk)
    assert not report.ok
    assert report.failed and report.messages


def test_receipt_json_failures_are_reported_as_json():
    assert verify_receipt('{"a":1,"a":2}').failed == ["json"]
    assert verify_receipt('{"x": Infinity}').failed == ["json"]
    text = json.dumps(t12_receipt())
    assert verify_receipt(text[:-1]).failed == ["json"]


# --- 6.2 / 6.5 inclusion proof object tampering -------------------------------------------------

def _inc(**change):
    def tamper(o):
        o.update(change)
    tamper.__name__ = "_".join(f"{k}={str(v)[:10]}" for k, v in change.items())
    return tamper


def _proof(fn, name):
    def tamper(o):
        fn(o["merkleProof"])
    tamper.__name__ = name
    return tamper


def _flip(value: str, bit: int) -> str:
    b = bytearray(from_hex(value))
    b[bit // 8] ^= 1 << (bit % 8)
    return to_hex(bytes(b))


POSITION = {"position", "inclusion"}
INCLUSION_TAMPERING = [  # (tamper, the checks that must fail): proofs.md §6.2 steps, named as in the verifier
    (_inc(leafIndex=0), POSITION), (_inc(leafIndex=2), POSITION), (_inc(leafIndex=3), POSITION),
    (_inc(treeSize=4), {"checkpoint.treeSize"}),  # 4.5: the path alone would still fit a 4-leaf tree
    (_inc(treeSize=2), {"checkpoint.treeSize", "position", "inclusion"}),
    (_inc(sequence=3), {"position"}), (_inc(sequence=1), {"position"}),
    (_inc(fingerprint=FP1), {"inclusion"}), (_inc(fingerprint=_flip(FP2, 0)), {"inclusion"}),
    (_inc(itemsRoot=MTH2), {"checkpoint.itemsRoot", "inclusion"}),
    (_inc(proofRoot=PROOF_ROOT_MAR), {"proofRoot"}), (_inc(customerId="cust_other"), {"checkpoint.customerId"}),
    (_inc(fingerprint=LH2), {"inclusion"}),  # the leaf hash given where the fingerprint belongs
    (_proof(lambda p: p.__setitem__(0, _flip(p[0], 255)), "flip_first"), {"inclusion"}),
    (_proof(lambda p: p.__setitem__(1, _flip(p[1], 7)), "flip_second"), {"inclusion"}),
    (_proof(lambda p: p.pop(), "remove_last"), {"inclusion"}),
    (_proof(lambda p: p.pop(0), "remove_first"), {"inclusion"}),
    (_proof(lambda p: p.insert(1, LH2), "insert"), {"inclusion"}),
    (_proof(lambda p: p.insert(0, LH1), "prepend"), {"inclusion"}),
    (_proof(lambda p: p.append(LH3), "append"), {"inclusion"}),
    (_proof(lambda p: p.reverse(), "reverse"), {"inclusion"}),
    (_proof(lambda p: p.clear(), "empty"), {"inclusion"}),
    (_proof(lambda p: p.__setitem__(0, p[0].upper()), "uppercase"), {"shape"}),
    (_proof(lambda p: p.__setitem__(0, p[0][2:]), "no_prefix"), {"shape"}),
    (_proof(lambda p: p.__setitem__(0, p[0] + "\n"), "trailing_newline"), {"shape"}),
    (_proof(lambda p: p.__setitem__(0, "0X" + p[0][2:]), "upper_prefix"), {"shape"}),
    (_proof(lambda p: p.extend([LH1] * 64), "too_long"), {"shape"}),
]


@pytest.mark.parametrize("tamper, failing", INCLUSION_TAMPERING, ids=[t.__name__ for t, _ in INCLUSION_TAMPERING])
def test_6_5_inclusion_object_tampering(tamper, failing):
    obj = json.loads(INCLUSION_OBJECT)
    tamper(obj)
    report = verify_inclusion_object(obj)
    assert not report.ok and set(report.failed) == failing, report.messages


@pytest.mark.parametrize("change, failing", [
    ({"netChange": "-1246"}, {"proofRoot"}),
    ({"treeSize": 4}, {"checkpoint.wellFormed", "proofRoot", "checkpoint.treeSize"}),  # 4 > to - from + 1
])
def test_6_5_inclusion_object_checkpoint_changes(change, failing):
    obj = json.loads(INCLUSION_OBJECT)
    obj["checkpoint"] = dict(obj["checkpoint"], **change)
    assert set(verify_inclusion_object(obj).failed) == failing


def test_6_5_inclusion_object_with_wrong_fields():
    for change in ({"delta": -391}, {"sequence": 3}, {"reason": "x"}, {"delta": "-390"}):
        report = verify_inclusion_object(INCLUSION_OBJECT, delta_fields=dict(LINE2, **change))
        assert "fingerprint" in report.failed


def test_6_5_raw_fingerprint_as_leaf_hash():
    """A verifier that hashed nothing (leaf = fingerprint) must not agree with 4.3."""
    fps = raw([FP1, FP2, FP3])
    path = inclusion_path(1, fps)
    wrong = node_hash(node_hash(fps[0], fps[1]), fps[2])
    assert not verify_inclusion(1, 3, fps[1], path, wrong)
    assert not verify_inclusion(1, 3, from_hex(LH2), path, from_hex(ITEMS_ROOT))


def test_4_5_bare_root_does_not_bind_size():
    fps = raw([FP1, FP2, FP3])
    path = inclusion_path(0, fps)
    assert verify_inclusion(0, 4, fps[0], path, from_hex(ITEMS_ROOT))  # why treeSize must come from C
    obj = json.loads(INCLUSION_OBJECT)
    obj.update(sequence=1, leafIndex=0, fingerprint=FP1, merkleProof=[LH2, LH3], treeSize=4)
    report = verify_inclusion_object(obj)
    assert not report.ok and "checkpoint.treeSize" in report.failed


def test_inclusion_object_malformed_never_raises():
    for junk in (None, "", "[]", {}, {"checkpoint": 5}, {"merkleProof": "x"}, 3.5):
        assert not verify_inclusion_object(junk).ok
        assert not verify_consistency_object(junk).ok


# --- 6.3 / 6.5 consistency proof object tampering -----------------------------------------------

def consistency_with_checkpoints() -> dict:
    """An interim checkpoint of 2 deltas, then the 2026-02 checkpoint that supersedes it."""
    first = checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z",
                                "2026-02", 2, MTH2, 1, 2, "-810", None)
    second = checkpoint_feb()
    obj = json.loads(CONSISTENCY_OBJECT)
    obj.update(firstCheckpoint=first, firstProofRoot=proof_root(first), secondCheckpoint=second,
               secondProofRoot=proof_root(second))
    return obj


def test_consistency_object_with_checkpoints_verifies():
    report = verify_consistency_object(consistency_with_checkpoints())
    assert report.ok, report.messages
    assert set(report.checks) == {"json", "shape", "firstCheckpoint", "secondCheckpoint", "series", "consistency"}


def _cons(**change):
    def tamper(o):
        o.update(change)
    tamper.__name__ = "_".join(change)
    return tamper


def _cproof(fn, name):
    def tamper(o):
        fn(o["consistencyProof"])
    tamper.__name__ = name
    return tamper


BOUND_1, BOUND_2 = {"firstCheckpoint", "consistency"}, {"secondCheckpoint", "consistency"}
CONSISTENCY_TAMPERING = [  # (tamper, checks failing on the bare object, on the object with both checkpoints)
    (_cons(firstTreeSize=1), {"consistency"}, BOUND_1), (_cons(firstTreeSize=3), {"consistency"}, BOUND_1),
    (_cons(secondTreeSize=2), {"consistency"}, BOUND_2), (_cons(secondTreeSize=5), {"consistency"}, BOUND_2),
    (_cons(firstTreeSize=3, secondTreeSize=2), {"consistency"}, BOUND_1 | BOUND_2),
    (_cons(firstItemsRoot=ITEMS_ROOT, secondItemsRoot=MTH2), {"consistency"}, BOUND_1 | BOUND_2),  # swapped
    (_cons(firstItemsRoot=LH1), {"consistency"}, BOUND_1), (_cons(secondItemsRoot=MTH2), {"consistency"}, BOUND_2),
    (_cproof(lambda p: p.clear(), "empty"), {"consistency"}, {"consistency"}),
    (_cproof(lambda p: p.append(LH1), "extended"), {"consistency"}, {"consistency"}),
    (_cproof(lambda p: p.insert(0, MTH2), "prepended"), {"consistency"}, {"consistency"}),
    (_cproof(lambda p: p.__setitem__(0, _flip(p[0], 100)), "flipped"), {"consistency"}, {"consistency"}),
    (_cproof(lambda p: p.__setitem__(0, p[0].upper()), "uppercase"), {"shape"}, {"shape"}),
]


@pytest.mark.parametrize("tamper, bare, bound", CONSISTENCY_TAMPERING,
                         ids=[t.__name__ for t, _, _ in CONSISTENCY_TAMPERING])
def test_6_5_consistency_object_tampering(tamper, bare, bound):
    for obj, failing in ((json.loads(CONSISTENCY_OBJECT), bare), (consistency_with_checkpoints(), bound)):
        tamper(obj)
        report = verify_consistency_object(obj)
        assert not report.ok and set(report.failed) == failing, (tamper.__name__, report.messages)


def test_4_5_bare_roots_do_not_bind_consistency_sizes():
    """Like 4.5 for inclusion: the 2 -> 3 proof also "verifies" as 2 -> 4 against bare roots;
    only checkpoints (treeSize bound by proofRoot) catch the wrong size."""
    bare = json.loads(CONSISTENCY_OBJECT)
    bare["secondTreeSize"] = 4
    assert verify_consistency_object(bare).ok
    bound = consistency_with_checkpoints()
    bound["secondTreeSize"] = 4
    assert verify_consistency_object(bound).failed == ["secondCheckpoint"]


def test_6_5_consistency_truncated():
    fps = raw([FP1, FP2, FP3])
    proof = consistency_proof(1, fps)
    assert verify_consistency(1, 3, from_hex(LH1), from_hex(ITEMS_ROOT), proof)
    assert not verify_consistency(1, 3, from_hex(LH1), from_hex(ITEMS_ROOT), proof[:1])
    assert not verify_consistency(1, 3, from_hex(LH1), from_hex(ITEMS_ROOT), proof[1:])
    assert not verify_consistency(3, 1, from_hex(ITEMS_ROOT), from_hex(LH1), proof)
    assert not verify_consistency(3, 3, from_hex(ITEMS_ROOT), from_hex(ITEMS_ROOT), proof)
    assert verify_consistency(3, 3, from_hex(ITEMS_ROOT), from_hex(ITEMS_ROOT), [])
    assert not verify_consistency(0, 3, from_hex(LH1), from_hex(ITEMS_ROOT), [])


@pytest.mark.parametrize("which, change, rehashed_fails", [
    ("firstCheckpoint", {"customerId": "cust_other"}, {"firstCheckpoint", "series"}),
    ("firstCheckpoint", {"startDate": "2026-02-02T00:00:00.000Z", "period": None}, {"series"}),
    ("secondCheckpoint", {"fromSequence": 2}, {"secondCheckpoint", "series"}),
    ("secondCheckpoint", {"chainId": 295}, {"series"}),
    ("firstCheckpoint", {"toSequence": 4}, {"series"}),
    ("secondCheckpoint", {"netChange": "0"}, set()),  # a new, self-consistent C: nothing to see here
])
def test_6_3_series_and_bound_checkpoints(which, change, rehashed_fails):
    obj = consistency_with_checkpoints()
    c = dict(obj[which], **change)
    c = {k: v for k, v in c.items() if v is not None}
    obj[which] = c
    report = verify_consistency_object(obj)
    assert not report.ok and which in report.failed
    obj[which.replace("Checkpoint", "ProofRoot")] = proof_root(c)  # a forger re-hashing C
    assert set(verify_consistency_object(obj).failed) == rehashed_fails


# --- metadata numbers ---------------------------------------------------------------------------

def test_metadata_numbers():
    value = parse_json_exact('{"i": 9007199254740991, "n": -9007199254740991, "f": 1.5, "e": 1e300, '
                             '"z": -0, "x": 1E+2, "t": 0.1, "d": 100.0, "u": 1e-400}')
    out = metadata_to_json_value(value)
    assert out == {"i": 2**53 - 1, "n": -(2**53 - 1), "f": 1.5, "e": 1e300, "z": 0, "x": 100.0, "t": 0.1,
                   "d": 100.0, "u": 0.0}
    assert isinstance(out["i"], int) and isinstance(out["e"], float)
    assert jcs(out) == (b'{"d":100,"e":1e+300,"f":1.5,"i":9007199254740991,"n":-9007199254740991,'
                        b'"t":0.1,"u":0,"x":100,"z":0}')
    assert metadata_digest({"n": Decimal("0.1")}) == metadata_digest({"n": 0.1})
    assert metadata_digest({"n": Decimal("2")}) == metadata_digest({"n": 2}) == metadata_digest({"n": 2.0})


@pytest.mark.parametrize("text", [
    '{"i": 9007199254740992}', '{"i": -9007199254740992}', '{"a": [1, {"b": 123456789012345678901234}]}',
    '{"f": 1e309}', '{"f": -1.8e308}', '{"s": "\\ud800"}', '{"\\udc00": 1}',
])
def test_metadata_rejections(text):
    with pytest.raises(ValueError):
        metadata_to_json_value(parse_json_exact(text))
    with pytest.raises(ValueError):
        metadata_digest(parse_json_exact(text))


def test_metadata_rejects_non_json_python_values():
    for bad in ({"x": float("inf")}, {"x": float("nan")}, {1: "a"}, {"x": object()}, {"x": 2**60}):
        with pytest.raises(ValueError):
            metadata_to_json_value(bad)


def test_parse_json_exact_rules():
    for bad in ('{"a":1,"a":2}', "NaN", "[Infinity]", "[-Infinity]"):
        with pytest.raises(JSONInputError):
            parse_json_exact(bad)


# --- Merkle tree: levels vs recursion, two verifier formulations --------------------------------

RNG = random.Random(9162)
LEAVES = [RNG.randbytes(32) for _ in range(72)]
LEVELS_72 = build_levels(LEAVES)


def test_levels_layout():
    assert build_levels([]) == [b""]
    for n in (1, 2, 3, 7, 8, 9, 72):
        levels = build_levels(LEAVES[:n])
        assert len(levels) == n.bit_length()
        for k, level in enumerate(levels):
            assert len(level) == 32 * (n >> k)
            for j in range(n >> k):
                assert level[32 * j:32 * j + 32] == mth(LEAVES[j << k:(j + 1) << k])


def test_levels_equal_recursion_exhaustively():
    """All sizes up to 72, every index and every first size; prefixes of the 72-leaf levels too."""
    for n in range(0, 73):
        fps = LEAVES[:n]
        own = build_levels(fps)
        root = mth(fps)
        assert root_from_levels(own, n) == root == root_from_levels(LEVELS_72, n)
        for index in range(n):
            path = inclusion_path(index, fps)
            assert path_from_levels(own, n, index) == path
            assert path_from_levels(LEVELS_72, n, index) == path
            assert verify_inclusion(index, n, fps[index], path, root)
        for m in range(0, n + 1):
            proof = consistency_proof(m, fps)
            assert consistency_from_levels(own, n, m) == proof
            assert consistency_from_levels(LEVELS_72, n, m) == proof
            assert verify_consistency(m, n, mth(fps[:m]), root, proof)


def test_subtree_hash_from_levels_any_range():
    for start in range(0, 40):
        for end in range(start, 41):
            expected = mth(LEAVES[start:end])
            assert subtree_hash_from_levels(LEVELS_72, start, end) == expected


def test_levels_argument_errors():
    with pytest.raises(ValueError):
        root_from_levels(LEVELS_72, 73)
    with pytest.raises(ValueError):
        path_from_levels(LEVELS_72, 10, 10)
    with pytest.raises(ValueError):
        consistency_from_levels(LEVELS_72, 10, 11)
    with pytest.raises(ValueError):
        subtree_hash_from_levels(LEVELS_72, 5, 4)
    with pytest.raises(ValueError):
        inclusion_path(3, LEAVES[:3])


def test_inner_border_agrees_with_iterative_verifier():
    """Both formulations of 4.3 give the same verdict for valid proofs and for wrong sizes,
    wrong indexes and proofs of the wrong length."""
    for n in range(1, 18):
        fps = LEAVES[:n]
        root = mth(fps)
        for index in range(n):
            path = inclusion_path(index, fps)
            for size in range(1, n + 9):
                for i in {0, index - 1, index, index + 1, size - 1, size}:
                    for proof in (path, path[:-1], path + [root]):
                        a = verify_inclusion(i, size, fps[index], proof, root)
                        b = verify_inclusion_inner_border(i, size, fps[index], proof, root)
                        assert a == b, (n, index, i, size, len(proof))
                        if a and size == n:
                            assert i == index and proof == path


def test_verifiers_reject_bad_arguments():
    fps = LEAVES[:5]
    root, path = mth(fps), inclusion_path(2, fps)
    for args in ((-1, 5), (5, 5), (2, 0), (True, 5), (2, 5.0)):
        assert not verify_inclusion(args[0], args[1], fps[2], path, root)
        assert not verify_inclusion_inner_border(args[0], args[1], fps[2], path, root)
    assert not verify_inclusion(2, 5, fps[2], path + [b"\x00" * 31], root)
    assert not verify_inclusion(2, 5, fps[2], path, root[:31])
    assert not verify_inclusion(2, 5, fps[2], None, root)  # type: ignore[arg-type]
    assert not verify_consistency(2, 5, mth(fps[:2]), root, [p[:31] for p in consistency_proof(2, fps)])
    assert not verify_consistency(-1, 5, EMPTY_ROOT, root, [])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(min_value=1, max_value=70))
def test_property_random_trees(data, n):
    fps = [bytes(data.draw(st.binary(min_size=32, max_size=32))) for _ in range(min(n, 3))] + LEAVES[:max(0, n - 3)]
    root = mth(fps)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    path = inclusion_path(index, fps)
    assert verify_inclusion(index, n, fps[index], path, root)
    assert verify_inclusion_inner_border(index, n, fps[index], path, root)
    if path:
        k = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        bit = data.draw(st.integers(min_value=0, max_value=255))
        flipped = list(path)
        flipped[k] = bytes(from_hex(_flip(to_hex(path[k]), bit)))
        assert not verify_inclusion(index, n, fps[index], flipped, root)
        assert not verify_inclusion_inner_border(index, n, fps[index], flipped, root)
    bit = data.draw(st.integers(min_value=0, max_value=255))
    assert not verify_inclusion(index, n, from_hex(_flip(to_hex(fps[index]), bit)), path, root)
    assert not verify_inclusion(index, n, fps[index], path, from_hex(_flip(to_hex(root), bit)))

    m = data.draw(st.integers(min_value=0, max_value=n))
    proof = consistency_proof(m, fps)
    first_root = mth(fps[:m])
    assert verify_consistency(m, n, first_root, root, proof)
    if proof:
        k = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        broken = list(proof)
        broken[k] = from_hex(_flip(to_hex(proof[k]), bit))
        assert not verify_consistency(m, n, first_root, root, broken)
        assert not verify_consistency(m, n, first_root, root, proof[:-1])
        assert not verify_consistency(m, n, first_root, root, proof + [root])
    if 0 < m:
        assert not verify_consistency(m, n, from_hex(_flip(to_hex(first_root), bit)), root, proof)
    if 0 < m < n:  # the empty tree is a prefix of any tree: m == 0 ignores the second root
        assert not verify_consistency(m, n, first_root, from_hex(_flip(to_hex(root), bit)), proof)


# --- performance: stored levels for a 100,000-leaf checkpoint -----------------------------------

def test_levels_performance_100k():
    fps = [os.urandom(32) for _ in range(100_000)]
    t0 = time.perf_counter()
    levels = build_levels(fps)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    paths = [path_from_levels(levels, 100_000, i) for i in range(99_900, 100_000)]
    page = time.perf_counter() - t0
    root = root_from_levels(levels, 100_000)
    assert verify_inclusion(99_950, 100_000, fps[99_950], paths[50], root)
    assert page < 0.05, f"100 paths took {page * 1000:.1f} ms"
    assert built < 5, f"build_levels(100k) took {built:.2f} s"


# --- the fast canonical path for preimages equals RFC 8785 ----------------------------------------

from hypothesis import given as _given, settings as _settings, strategies as _st  # noqa: E402

from mockserver.proofs.primitives import jcs as _jcs, jcs_plain as _jcs_plain  # noqa: E402

_member_names = _st.text(alphabet=_st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
_plain_strings = _st.text(alphabet=_st.characters(blacklist_categories=("Cs",)), max_size=30)
_plain_scalars = _plain_strings | _st.integers(-(2**53 - 1), 2**53 - 1)
_plain_objects = _st.dictionaries(
    _member_names, _plain_scalars | _st.dictionaries(_member_names, _plain_scalars, max_size=3), max_size=8)


@_settings(max_examples=400, deadline=None)
@_given(_plain_objects)
def test_plain_preimage_serialization_is_rfc8785(value):
    assert _jcs_plain(value) == _jcs(value)


# --- what mutation testing found unpinned (docs/TESTING.md) -------------------------------------

def test_batch_chain_reports_name_the_check_and_what_differed():
    """A verifier's report is what `pacspace-mock verify` prints: each failure names its check (6.4)
    and the batch, with the value found and the value expected."""
    batches = ledger_batches()
    del batches[1]
    report = verify_batch_chain(batches)
    assert report.failed == ["batchSequence", "previousProofHash"]
    assert report.messages == [
        "[batchSequence] batches[1].batchSequence is 3, expected 2",
        f"[previousProofHash] batches[1].previousProofHash is {RECEIPT_IDS[1]}, expected {RECEIPT_IDS[0]}",
        "[batchSequence] batches[2].batchSequence is 4, expected 3",
    ]
    batches = ledger_batches()
    batches[1]["itemHashes"] = [FP3]
    report = verify_batch_chain(batches)
    assert report.messages == [f"[itemsRoot] batches[1].itemsRoot is {LH2}, the MTH of its itemHashes is {LH3}"]
    batches = ledger_batches()
    batches[1]["itemCount"] = 2
    report = verify_batch_chain(batches)
    assert report.failed == ["itemCount", "proofHash"]
    assert report.messages[0] == "[itemCount] batches[1].itemCount is 2, it lists 1 itemHashes"
    assert report.messages[1].startswith(
        f"[proofHash] batches[1].proofHash is {RECEIPT_IDS[1]}, H(batch label ‖ 00 ‖ JCS(B)) is 0x")
    assert len(report.messages) == 2


def test_batch_chain_checks_the_ledger_it_is_given():
    """With ledger_id, every batch must belong to that ledger; without it, to the first batch's."""
    other = "0x" + "1" * 64
    report = verify_batch_chain(ledger_batches(), ledger_id=other)
    assert report.failed == ["ledgerId"] and report.checks["ledgerId"] is False and report.ok is False
    assert report.messages == [f"[ledgerId] batches[{i}].ledgerId is {LEDGER}, expected {other}" for i in range(4)]
    assert verify_batch_chain(ledger_batches(), ledger_id=LEDGER).ok
    mixed = ledger_batches()
    mixed[2]["ledgerId"] = other
    assert "ledgerId" in verify_batch_chain(mixed).failed


def test_batch_chain_shape_problems_name_the_batch():
    assert verify_batch_chain("x").messages == ["[shape] the batches must be an array"]
    batches = ledger_batches()
    batches[1]["batchSequence"] = 0
    batches[2]["itemHashes"] = "x"
    batches[3]["ledgerId"] = "0xABC"
    report = verify_batch_chain(batches)
    assert report.failed == ["shape"]
    assert report.messages == [
        "[shape] batches[1].batchSequence must be an integer >= 1, found 0",
        "[shape] batches[2].itemHashes must be an array of 0x + 64 lowercase hex hashes",
        "[shape] batches[3].ledgerId must be 0x + 64 lowercase hex digits, found '0xABC'",
    ]
    # the integer range is 1 … 2^53−1 inclusive: the largest is well formed (and then out of order)
    batches = ledger_batches()
    batches[0]["batchSequence"] = 2**53 - 1
    assert "shape" not in verify_batch_chain(batches).failed
    batches[0]["itemCount"] = 2**53
    assert verify_batch_chain(batches).failed == ["shape"]


def test_a_reply_that_is_not_an_object_fails_shape_not_json():
    for text in ("[]", "7", '"receipt"', "null"):
        report = verify_receipt(text)
        assert report.checks["json"] is True
        assert report.failed == ["shape"], text
        assert report.messages == ["[shape] the reply's data is not a JSON object"]


def test_non_json_constants_are_named_in_the_error():
    for token in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(JSONInputError, match=f"^{token} is not valid JSON$"):
            parse_json_exact(f'{{"a": {token}}}')


def test_key_public_part_stops_at_the_first_dot():
    """proofs.md §3.2: the key up to, not including, its *first* '.' (a secret may hold dots)."""
    assert key_public_part("pk_test_demo.s3.cr.3t") == "pk_test_demo"
    assert key_public_part("pk_test_demo") == "pk_test_demo"
    assert ledger_id(env_of_key("pk_test_demo.a.b"), key_public_part("pk_test_demo.a.b")) == LEDGER
    with pytest.raises(ValueError, match="neither pk_test_… nor pk_live_…"):
        env_of_key("sk_test_demo")


def test_series_allows_an_empty_first_checkpoint():
    """6.3: the fromSequence/toSequence comparison applies only when both checkpoints are non-empty;
    an empty checkpoint of the same window is the start of the series (4.4: first 0 needs an empty
    proof and firstRoot H(""))."""
    first = checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z",
                                "2026-02", 0, EMPTY_HEX, None, None, "0", None)
    import rfc8785
    from Crypto.Hash import keccak as independent

    first_root = "0x" + independent.new(
        data=b"pacspace-mock:checkpoint:v1\x00" + rfc8785.dumps(first), digest_bits=256).hexdigest()
    second = checkpoint_feb()
    obj = {"customerId": CUSTOMER, "firstTreeSize": 0, "firstItemsRoot": EMPTY_HEX, "secondTreeSize": 3,
           "secondItemsRoot": ITEMS_ROOT, "consistencyProof": [],
           "firstCheckpoint": first, "firstProofRoot": first_root,
           "secondCheckpoint": second, "secondProofRoot": PROOF_ROOT_FEB}
    report = verify_consistency_object(obj)
    assert report.ok, report.messages
    obj["secondCheckpoint"] = dict(second, ledgerId="0x" + "1" * 64)
    obj["secondProofRoot"] = proof_root(obj["secondCheckpoint"])
    report = verify_consistency_object(obj)
    assert report.failed == ["series"]
    assert report.messages == [f"[series] the checkpoints differ in ledgerId: {LEDGER!r} vs {'0x' + '1' * 64!r}"]


def test_bound_checkpoint_problems_say_what_differs():
    obj = consistency_with_checkpoints()
    obj["firstProofRoot"] = PROOF_ROOT_MAR
    obj["secondTreeSize"] = 4
    obj["secondItemsRoot"] = LH4
    obj["secondCheckpoint"] = dict(obj["secondCheckpoint"], customerId="cust_other")
    obj["secondProofRoot"] = proof_root(obj["secondCheckpoint"])
    report = verify_consistency_object(obj)
    first_root = proof_root(obj["firstCheckpoint"])
    assert f"[firstCheckpoint] firstProofRoot is {PROOF_ROOT_MAR!r}, the digest of firstCheckpoint is {first_root}" \
        in report.messages
    assert "[secondCheckpoint] secondTreeSize is 4, secondCheckpoint.treeSize is 3" in report.messages
    assert "[secondCheckpoint] secondItemsRoot differs from secondCheckpoint.itemsRoot" in report.messages
    assert (f"[secondCheckpoint] secondCheckpoint.customerId is 'cust_other', the proof's is {CUSTOMER!r}"
            in report.messages)


def test_lazy_verifier_exports_of_the_proofs_package():
    """mockserver.proofs loads the verifier on first use; its names resolve to the verifier's, and
    an unknown name is an AttributeError naming the module."""
    import mockserver.proofs as proofs
    from mockserver.proofs import verifier

    for name in ("RECEIPT_CHECKS", "Report", "checkpoint_problems", "rebuild_delta", "verify_batch_chain",
                 "verify_consistency_object", "verify_inclusion_object", "verify_receipt", "RebuiltDelta"):
        assert getattr(proofs, name) is getattr(verifier, name)
    with pytest.raises(AttributeError, match="^module 'mockserver.proofs' has no attribute 'no_such_name'$"):
        proofs.no_such_name  # noqa: B018


def test_fast_keccak_factory_agrees_with_the_public_api():
    """The ctypes fast path (primitives.keccak_factory) must be found on a normal install and agree
    with pycryptodome's public API on every input type and length around the 136-byte rate."""
    from Crypto.Hash import keccak as public

    from mockserver.proofs import primitives

    factory = primitives.keccak_factory()
    assert factory is not None
    h = factory()
    for data in (b"", b"abc", bytearray(b"abc"), memoryview(b"abc"), b"\x00" * 135, b"\x01" * 136,
                 b"\xff" * 137, bytes(range(256)) * 3):
        assert h(data) == public.new(data=bytes(data), digest_bits=256).digest()
    assert factory()(b"") != factory()(b"abc")  # each function owns its buffer


def test_keccak256_without_the_fast_path(monkeypatch):
    """When the C library cannot be loaded, keccak256 falls back to pycryptodome's public API."""
    from mockserver.proofs import primitives

    monkeypatch.setattr(primitives, "_FAST_KECCAK", None)
    assert primitives.keccak256(b"").hex() == EMPTY_HEX[2:]
    assert primitives.keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


def test_a_fresh_tree_hasher_reproduces_t11():
    """TreeHasher over SHA-256 built here (not the module's prebuilt one): defaults (digest size 32,
    the hash itself as the per-call factory) give the RFC 6962 values of T.11."""
    from mockserver.proofs import TreeHasher

    tree = TreeHasher(lambda data: hashlib.sha256(data).digest())
    assert tree.digest_size == 32
    leaves = T11_LEAVES
    assert tree.mth(leaves).hex() == T11_ROOTS[-1]
    levels = tree.build_levels(leaves)
    assert [tree.root_from_levels(levels, n).hex() for n in range(len(leaves) + 1)] == T11_ROOTS
    assert tree.verify_inclusion(5, 8, leaves[5], tree.path_from_levels(levels, 8, 5), tree.mth(leaves))
    keccak_tree = TreeHasher(keccak256)
    assert keccak_tree.mth(raw([FP1, FP2, FP3])) == from_hex(ITEMS_ROOT)


def _inclusion(**change) -> dict:
    obj = json.loads(INCLUSION_OBJECT)
    obj.update(change)
    return obj


def test_inclusion_object_reports_name_the_step_and_the_values():
    """6.2 step by step: the report names the failing step and says what was found."""
    other = "0x" + "1" * 64
    report = verify_inclusion_object(INCLUSION_OBJECT, ledger_id=other)
    assert report.failed == ["ledgerId"]
    assert report.messages == [f"[ledgerId] checkpoint.ledgerId is {LEDGER!r}, this verifier's ledger is {other}"]
    cases = [
        (_inclusion(proofRoot=PROOF_ROOT_MAR),
         [f"[proofRoot] proofRoot is {PROOF_ROOT_MAR}, H(checkpoint label ‖ 00 ‖ JCS(C)) is {PROOF_ROOT_FEB}"]),
        (_inclusion(treeSize=4), ["[checkpoint.treeSize] the proof's treeSize is 4, checkpoint.treeSize is 3"]),
        (_inclusion(customerId="cust_other"),
         ["[checkpoint.customerId] the proof's customerId is 'cust_other', checkpoint.customerId is 'cust_acme_001'"]),
        (_inclusion(itemsRoot=MTH2),
         [f"[checkpoint.itemsRoot] the proof's itemsRoot is {MTH2!r}, checkpoint.itemsRoot is {ITEMS_ROOT!r}",
          f"[inclusion] the Merkle path does not lead from leaf 1 of 3 to {MTH2}"]),
        (_inclusion(leafIndex=3),
         ["[position] leafIndex 3 is not below treeSize 3", "[position] without gaps, sequence 2 is leaf 1, not 3",
          f"[inclusion] the Merkle path does not lead from leaf 3 of 3 to {ITEMS_ROOT}"]),
        (_inclusion(sequence=3),
         ["[position] leafIndex 1 and sequence 3 disagree about the last leaf (3)",
          "[position] without gaps, sequence 3 is leaf 2, not 1"]),
        (_inclusion(sequence=1),
         ["[position] leafIndex 1 and sequence 1 disagree about the first leaf (1)",
          "[position] without gaps, sequence 1 is leaf 0, not 1"]),
        (_inclusion(sequence=5),
         ["[position] sequence 5 is outside the checkpoint's 1..3", "[position] without gaps, sequence 5 is leaf 4, not 1"]),
    ]
    for obj, messages in cases:
        assert verify_inclusion_object(obj).messages == messages


def test_inclusion_object_shape_rules():
    cases = [
        (_inclusion(leafIndex=-1), ["leafIndex must be an integer >= 0, found -1"]),
        (_inclusion(sequence=0), ["sequence must be an integer >= 1, found 0"]),
        (_inclusion(customerId=5), ["customerId must be a string"]),
        (_inclusion(fingerprint="x"), ["fingerprint must be 0x + 64 lowercase hex digits, found 'x'"]),
        (_inclusion(merkleProof="x"), ["merkleProof must be an array of 0x + 64 lowercase hex hashes"]),
        (_inclusion(merkleProof=[LH1, "x"]), ["merkleProof must be an array of 0x + 64 lowercase hex hashes"]),
        (_inclusion(merkleProof=[LH1] * 65), ["merkleProof has 65 elements; at most 64 are allowed"]),
        (_inclusion(checkpoint=None), ["checkpoint (the object C) is missing"]),
    ]
    for obj, messages in cases:
        report = verify_inclusion_object(obj)
        assert report.failed == ["shape"]
        assert report.messages == ["[shape] " + m for m in messages]
    # the limits are inclusive: 64 proof elements, treeSize 0, sequence 2^53−1 are well formed (and wrong)
    for obj in (_inclusion(merkleProof=[LH1] * 64), _inclusion(treeSize=0), _inclusion(sequence=2**53 - 1)):
        report = verify_inclusion_object(obj)
        assert not report.ok and "shape" not in report.failed, report.messages


def test_inclusion_object_with_the_delta_s_fields():
    """6.2 step 2: the delta's own fields; its customerId may be left out (the proof's is used)."""
    line = {k: v for k, v in LINE2.items() if k != "customerId"}
    assert verify_inclusion_object(INCLUSION_OBJECT, delta_fields=line).ok
    report = verify_inclusion_object(INCLUSION_OBJECT, delta_fields=dict(LINE2, reason=5))
    assert report.failed == ["fingerprint"]
    assert report.messages == ["[fingerprint] delta.reason must be a string, found 5"]
    report = verify_inclusion_object(INCLUSION_OBJECT, delta_fields=dict(LINE2, sequence=3))
    assert report.failed == ["fingerprint"]
    assert report.messages[0] == "[fingerprint] the delta's sequence 3 differs from the proof's 2"
    assert report.messages[1].startswith("[fingerprint] the delta's fingerprint is 0x")
    assert report.messages[1].endswith(f", the proof's is {FP2}") and len(report.messages) == 2


def test_inclusion_object_without_a_sequence_range_fails_position():
    obj = json.loads(INCLUSION_OBJECT)
    obj["checkpoint"] = {k: v for k, v in obj["checkpoint"].items() if k != "toSequence"}
    obj["proofRoot"] = proof_root(obj["checkpoint"])
    report = verify_inclusion_object(obj)
    assert "position" in report.failed and "shape" not in report.failed
    assert "[position] the checkpoint covers no sequence range" in report.messages


def test_inclusion_position_rule_without_and_with_gaps():
    """6.2 step 4: leafIndex == sequence − fromSequence is required only when the range has no gaps."""
    fps = [keccak256(bytes([i])) for i in range(5)]
    root = to_hex(mth(fps))

    def proof_object(from_seq: int, to_seq: int, sequence: int, leaf: int) -> dict:
        c = checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z",
                                "2026-02", 5, root, from_seq, to_seq, "-5", None)
        return {"customerId": CUSTOMER, "sequence": sequence, "fingerprint": to_hex(fps[leaf]), "leafIndex": leaf,
                "treeSize": 5, "itemsRoot": root, "merkleProof": [to_hex(p) for p in inclusion_path(leaf, fps)],
                "proofRoot": proof_root(c), "checkpoint": c}

    assert verify_inclusion_object(proof_object(1, 5, 3, 2)).ok
    wrong = proof_object(1, 5, 3, 1)  # a valid path of leaf 1, claimed for sequence 3 of 1..5 (leaf 2)
    report = verify_inclusion_object(wrong)
    assert report.failed == ["position"]
    assert report.messages == ["[position] without gaps, sequence 3 is leaf 2, not 1"]
    gapped = proof_object(1, 6, 4, 2)  # sequences 1..6 hold 5 deltas: leaf 2 may be sequence 4
    assert verify_inclusion_object(gapped).ok, verify_inclusion_object(gapped).messages


def test_consistency_object_shape_rules():
    base = json.loads(CONSISTENCY_OBJECT)
    with_first = consistency_with_checkpoints()
    del with_first["secondCheckpoint"], with_first["secondProofRoot"]
    cases = [
        (dict(base, firstTreeSize=-1), ["firstTreeSize must be an integer >= 0, found -1"]),
        (dict(base, customerId=5), ["customerId must be a string"]),
        (dict(base, firstItemsRoot="x"), ["firstItemsRoot must be 0x + 64 lowercase hex digits, found 'x'"]),
        (dict(base, consistencyProof="x"), ["consistencyProof must be an array of 0x + 64 lowercase hex hashes"]),
        (dict(base, consistencyProof=["x"]), ["consistencyProof must be an array of 0x + 64 lowercase hex hashes"]),
        ({k: v for k, v in with_first.items() if k != "firstProofRoot"},
         ["firstProofRoot must be present exactly when firstCheckpoint is"]),
        (dict(base, secondCheckpoint=5, secondProofRoot=PROOF_ROOT_FEB), ["secondCheckpoint must be a JSON object"]),
    ]
    for obj, messages in cases:
        report = verify_consistency_object(obj)
        assert report.failed == ["shape"]
        assert report.messages == ["[shape] " + m for m in messages]
    # one bound checkpoint is enough (no series check then); sizes up to 2^53−1 are well formed
    report = verify_consistency_object(with_first)
    assert report.ok and set(report.checks) == {"json", "shape", "firstCheckpoint", "consistency"}, report.messages
    assert "shape" not in verify_consistency_object(dict(base, secondTreeSize=2**53 - 1)).failed
    report = verify_consistency_object(dict(base, consistencyProof=[]))
    assert report.messages == [f"[consistency] the proof does not show the tree of 2 leaves ({MTH2}) to be a prefix "
                               f"of the tree of 3 leaves ({ITEMS_ROOT})"]


def test_consistency_object_series_rules():
    same = checkpoint_feb()
    obj = {"customerId": CUSTOMER, "firstTreeSize": 3, "firstItemsRoot": ITEMS_ROOT, "secondTreeSize": 3,
           "secondItemsRoot": ITEMS_ROOT, "consistencyProof": [], "firstCheckpoint": same,
           "firstProofRoot": PROOF_ROOT_FEB, "secondCheckpoint": same, "secondProofRoot": PROOF_ROOT_FEB}
    assert verify_consistency_object(obj).ok  # first toSequence == second toSequence is a series
    obj = consistency_with_checkpoints()
    obj["firstCheckpoint"] = dict(obj["firstCheckpoint"], fromSequence=2)
    obj["firstProofRoot"] = proof_root(obj["firstCheckpoint"])
    assert "[series] the checkpoints start at different sequences" in verify_consistency_object(obj).messages
    obj = consistency_with_checkpoints()
    obj["firstCheckpoint"] = dict(obj["firstCheckpoint"], toSequence=4)
    obj["firstProofRoot"] = proof_root(obj["firstCheckpoint"])
    assert "[series] the first checkpoint's toSequence exceeds the second's" in verify_consistency_object(obj).messages
    obj = consistency_with_checkpoints()
    obj["secondCheckpoint"] = {k: v for k, v in obj["secondCheckpoint"].items() if k != "toSequence"}
    obj["secondProofRoot"] = proof_root(obj["secondCheckpoint"])
    report = verify_consistency_object(obj)
    assert "series" in report.failed and "shape" not in report.failed, report.messages


def test_parsed_input_with_nan_or_infinity_fails_json():
    """6: a verifier given already-parsed JSON must still refuse NaN/Infinity (not JSON), wherever nested."""
    for junk in ({"a": [1.0, float("nan")]}, {"deltas": [{"metadata": {"x": float("inf")}}]}, [float("-inf")]):
        report = verify_receipt(junk)
        assert report.failed == ["json"]
        assert report.messages == ["[json] the reply holds NaN or Infinity, which are not JSON"]


def test_scope_date_parsing_rejects_with_the_text():
    from mockserver.proofs import parse_date_or_datetime

    assert parse_date_or_datetime("2026-02-28") == parse_rfc3339("2026-02-28T00:00:00Z")
    with pytest.raises(ValueError, match="^'2026-02-30': day is out of range for month$"):
        parse_date_or_datetime("2026-02-30")
    for junk in (None, 20260201, b"2026-02-01"):
        with pytest.raises(ValueError):
            parse_date_or_datetime(junk)


def test_anchor_claims_are_each_checked_and_named():
    receipt = t12_receipt()
    receipt["verificationReference"] = ANCHOR_MAR  # a wrong top-level copy of the anchor
    report = verify_receipt(receipt)
    assert report.failed == ["anchor"]
    assert report.messages == [f"[anchor] verificationReference is {ANCHOR_MAR!r}, the anchor of {PROOF_ROOT_FEB} is "
                               f"{ANCHOR_FEB}"]
    receipt = t12_receipt()
    receipt["verificationReference"] = ANCHOR_FEB
    receipt["verification"]["checkpoint"]["treeSize"] = 2**60  # C cannot be hashed: no root to anchor
    report = verify_receipt(receipt)
    assert [m for m in report.messages if m.startswith("[anchor]")] == [
        "[anchor] verification.verificationReference cannot be checked: the proofRoot cannot be recomputed",
        "[anchor] verificationReference cannot be checked: the proofRoot cannot be recomputed"]


@pytest.mark.parametrize("final, shown", [
    (Decimal("-1246"), "-1246"),
    (Decimal("-1246.50"), "-1246.5"),
    (Decimal("1E-39"), "0." + "0" * 38 + "1"),
    (Decimal("1E-40"), "1E-40"),       # absurd magnitudes are not spelled out
])
def test_balance_messages_spell_amounts_canonically_within_reason(final, shown):
    receipt = t12_receipt()
    receipt["finalBalance"] = final
    report = verify_receipt(receipt)
    assert report.failed == ["balances"]
    assert report.messages == [f"[balances] finalBalance − startingBalance is {shown}, the lines sum to -1247"]


def _t12(change) -> dict:
    receipt = t12_receipt()
    change(receipt)
    return receipt


def test_receipt_report_messages_say_what_differs():
    """The T.12 receipt with single changes: each failing check of 6.1 says what it found."""
    def drop_second(r):
        del r["deltas"][1]

    def strip_fingerprints(r):
        del r["deltas"][0]["fingerprint"], r["deltas"][0]["itemHash"]

    report = verify_receipt(_t12(drop_second))
    assert "[completeness] counts differ: len(deltas) = 2, checkpoint.treeSize = 3, deltaCount = 3, deltasCount = 3" \
        in report.messages
    assert "[itemHashes] verification.itemHashes lists 3 hashes for 2 deltas" in report.messages

    report = verify_receipt(_t12(strip_fingerprints))  # a line without any fingerprint proves nothing
    assert report.failed == ["deltas.fingerprints"]
    assert report.messages == ["[deltas.fingerprints] deltas[0] has no fingerprint"]

    report = verify_receipt(_t12(lambda r: r.update(itemsRoot=MTH2)))
    assert report.messages == [f"[itemsRoot] itemsRoot is {MTH2!r}, the MTH of the recomputed fingerprints is {ITEMS_ROOT}"]
    report = verify_receipt(_t12(lambda r: r["verification"].update(itemsRoot=MTH2)))
    assert report.messages == [f"[itemsRoot] verification.itemsRoot is {MTH2!r}, the MTH of the recomputed "
                               f"fingerprints is {ITEMS_ROOT}"]
    report = verify_receipt(_t12(lambda r: r["verification"].update(itemHashes="x")))
    assert report.messages == ["[itemHashes] verification.itemHashes lists no hashes for 3 deltas"]

    report = verify_receipt(_t12(lambda r: r["deltas"][0].update(delta="x")))
    assert "[itemHashes] some fingerprints cannot be recomputed" in report.messages
    assert "[itemsRoot] some fingerprints cannot be recomputed, so neither can the tree" in report.messages
    assert "[netChange] the lines' amounts cannot be summed exactly" in report.messages
    assert "[balances] the lines' amounts cannot be summed exactly" in report.messages

    report = verify_receipt(_t12(lambda r: [line.update(delta="x") for line in r["deltas"][:2]]))
    assert [m for m in report.messages if m.startswith("[deltas.fingerprints]")] == [
        "[deltas.fingerprints] deltas[0]: its fingerprint cannot be recomputed",
        "[deltas.fingerprints] deltas[1]: its fingerprint cannot be recomputed"]

    report = verify_receipt(_t12(lambda r: r["deltas"][1].update(sequence="2")))
    assert "[deltas.order] deltas[0..1]: sequences are not integers" in report.messages
    assert "[deltas.order] deltas[1..2]: sequences are not integers" in report.messages
    assert "[completeness] some line sequences are not integers" in report.messages

    def one_bad_line(r):
        r["deltas"] = [dict(r["deltas"][0], sequence=None)]

    report = verify_receipt(_t12(one_bad_line))
    assert "[deltas.order] deltas[0].sequence is not an integer" in report.messages

    def shift_range(r):
        r["verification"]["checkpoint"]["fromSequence"] = 2
        r["verification"]["checkpoint"]["toSequence"] = 4

    report = verify_receipt(_t12(shift_range))
    assert "[completeness] checkpoint.fromSequence is 2, the lines span 1..3" in report.messages
    assert "[completeness] checkpoint.toSequence is 4, the lines span 1..3" in report.messages

    report = verify_receipt(_t12(lambda r: r["verification"]["checkpoint"].update(startDate="2026-02-01")))
    assert "[deltas.window] the checkpoint window is not made of canonical timestamps" in report.messages
    report = verify_receipt(_t12(lambda r: r["deltas"][2].update(recordedAt="2026-03-01T00:00:00.000Z")))
    assert ("[deltas.window] deltas[2].recordedAt 2026-03-01T00:00:00.000Z is outside "
            "[2026-02-01T00:00:00.000Z, 2026-03-01T00:00:00.000Z)") in report.messages
    report = verify_receipt(_t12(lambda r: r["deltas"][2].update(recordedAt="yesterday")))
    assert "[deltas.window] deltas[2].recordedAt cannot be placed in the window" in report.messages


def test_a_delta_at_the_window_start_is_inside():
    """Windows are half-open [startDate, endDate): a delta recorded at startDate is covered."""
    receipt = t12_receipt()
    c = checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-02-01T23:59:59.000Z", "2026-02-03T23:59:59.001Z", None, 3,
                            ITEMS_ROOT, 1, 3, "-1247", None)
    root = proof_root(c)
    del receipt["period"]
    receipt.update(proofRoot=root)
    receipt["verification"].update(checkpoint=c, proofRoot=root, verificationReference=anchor_reference(root))
    report = verify_receipt(receipt)
    assert report.ok, report.messages


def test_rebuild_delta_from_loose_fields():
    """rebuild_delta (6.1 step 4, 6.2 step 2): the receipt's customer fills in a line without one;
    every problem names the field under `where` (default "delta"); it never raises."""
    from mockserver.proofs import rebuild_delta

    line = {k: v for k, v in LINE2.items() if k != "customerId"}
    r = rebuild_delta(line, CUSTOMER)
    assert (r.fingerprint, r.problems, r.sequence, r.amount) == (FP2, [], 2, Decimal(-390))
    assert r.recorded_at_ms == parse_rfc3339("2026-02-02T23:59:59.000Z")
    r = rebuild_delta(5)
    assert (r.preimage, r.fingerprint, r.amount, r.recorded_at_ms, r.sequence) == (None,) * 5
    assert r.problems == ["delta is not a JSON object"]
    assert rebuild_delta(dict(LINE2, delta="x")).problems == ["delta.delta must be a JSON number, found 'x'"]
    assert rebuild_delta(dict(LINE2, reason=None), where="deltas[4]").problems == [
        "deltas[4].reason must be a string, found None"]
    r = rebuild_delta(dict(LINE2, customerId=5), CUSTOMER)
    assert r.problems == ["delta.customerId must be a string"]
    assert r.preimage["customerId"] == CUSTOMER
    r = rebuild_delta(dict(LINE2, customerId=5))
    assert r.problems == ["delta.customerId must be a string", "delta has no customerId"] and r.fingerprint is None
    r = rebuild_delta(dict(LINE2, sequence=2**53 - 1))
    assert r.problems == [] and r.sequence == 2**53 - 1
    assert rebuild_delta(dict(LINE2, sequence=2**53)).problems == [
        f"delta.sequence must be an integer >= 1, found {2**53}"]


def test_rebuild_delta_metadata_and_amount_problems_leave_no_fingerprint():
    from mockserver.proofs import rebuild_delta

    line4 = {"customerId": CUSTOMER, "delta": Decimal("12.50"), "reason": "usage_correction:2026-02-01",
             "referenceId": "usage_correction:cust_acme_001:2026-02-01", "sequence": 4,
             "recordedAt": "2026-03-02T09:30:00.250Z", "adjusts": {"referenceId": "usage:cust_acme_001:2026-02-01"}}
    for extra in ({"metadata": {"plan": "growth"}}, {"metadataDigest": META_DIGEST},
                  {"metadata": {"plan": "growth"}, "metadataDigest": META_DIGEST}):
        r = rebuild_delta(dict(line4, **extra))
        assert (r.fingerprint, r.problems) == (FP4, []), extra
    cases = [
        ({"metadataDigest": "0xABC"}, "delta.metadataDigest must be 0x + 64 lowercase hex digits, found '0xABC'"),
        ({"metadata": [1]}, "delta.metadata must be a JSON object"),
        ({"metadata": {"n": 2**60}}, "delta.metadata cannot be hashed: metadata.n: integer 1152921504606846976 is "
                                     "outside ±(2^53−1)"),
        ({"metadata": {"plan": "growth"}, "metadataDigest": EMPTY_HEX},
         f"delta.metadataDigest is {EMPTY_HEX}, H(JCS(metadata)) is {META_DIGEST}"),
    ]
    for extra, problem in cases:
        r = rebuild_delta(dict(line4, **extra))
        assert (r.fingerprint, r.problems) == (None, [problem]), extra
    amounts = [
        (Decimal("1E+40"), "delta.delta 1E+40 is far outside the allowed amounts"),
        (Decimal("1E-40"), "delta.delta 1E-40 is far outside the allowed amounts"),
        (Decimal("1E+39"), "delta: delta must satisfy |delta| <= 1000000000"),
        (Decimal("1E-39"), "delta: delta has 39 digits after the point; at most 18 are allowed"),
    ]
    for amount, problem in amounts:
        assert rebuild_delta(dict(line4, delta=amount)).problems == [problem], amount


def test_receipt_shape_problems_are_listed():
    def shape_messages(receipt) -> list[str]:
        report = verify_receipt(receipt)
        assert report.failed == ["shape"], report.messages
        return report.messages

    receipt = t12_receipt()
    del receipt["deltas"], receipt["proofRoot"]
    assert shape_messages(receipt) == ["[shape] the receipt lacks deltas, proofRoot"]
    assert shape_messages(dict(t12_receipt(), customerId=5, deltas={})) == [
        "[shape] customerId must be a string", "[shape] deltas must be an array"]
    assert shape_messages(dict(t12_receipt(), verification=[])) == [
        "[shape] verification.checkpoint (the object C) is missing"]
    receipt = t12_receipt()
    del receipt["customerId"]
    assert shape_messages(receipt) == ["[shape] the receipt lacks customerId"]


def test_checkpoint_problems_name_each_rule():
    """6.1 step 2 on malformed C objects: one sentence per broken rule, and never an exception."""
    feb = checkpoint_feb()

    def without(*names):
        return {k: v for k, v in feb.items() if k not in names}

    cases = [
        (5, ["the checkpoint is not a JSON object"]),
        (without("customerId", "netChange"), ["checkpoint lacks customerId, netChange"]),
        (dict(feb, extra=1, zzz=2), ["checkpoint has members outside proofs.md §3.4: extra, zzz"]),
        (dict(feb, ledgerId="0xABC"), ["checkpoint.ledgerId must be 0x + 64 lowercase hex digits, found '0xABC'"]),
        (dict(feb, customerId=5), ["checkpoint.customerId must be a string"]),
        (dict(feb, startDate="2026-02-01"),
         ["checkpoint.startDate must be a canonical timestamp, found '2026-02-01'",
          "checkpoint.period 2026-02 requires the window 2026-02-01T00:00:00.000Z .. 2026-03-01T00:00:00.000Z"]),
        (dict(without("period"), endDate="2026-01-01T00:00:00.000Z"),
         ["checkpoint.startDate must be before checkpoint.endDate"]),
        (dict(feb, period=5), ["checkpoint.period must be YYYY-MM, found 5"]),
        (dict(feb, treeSize="x"), ["checkpoint.treeSize must be an integer >= 0, found 'x'"]),
        (dict(without("fromSequence", "toSequence"), treeSize=1),
         ["checkpoint.fromSequence and toSequence are required when treeSize > 0"]),
        (dict(feb, treeSize=0, itemsRoot=EMPTY_HEX, netChange="0"),
         ["an empty checkpoint has no fromSequence / toSequence"]),
        (dict(feb, fromSequence=0), ["checkpoint.fromSequence must be an integer >= 1, found 0"]),
        (dict(feb, netChange="-1247.0"), ["checkpoint.netChange must be a canonical decimal string, found '-1247.0'"]),
    ]
    for c, problems in cases:
        assert checkpoint_problems(c) == problems, c
    # the integer ranges are inclusive
    assert checkpoint_problems(dict(feb, treeSize=3, toSequence=2**53 - 1)) == []
    assert checkpoint_problems(dict(feb, treeSize=2**53 - 1, fromSequence=1, toSequence=2**53 - 1)) == []


def test_period_window_rejects_with_the_value():
    from mockserver.proofs import period_window

    assert period_window("2026-12") == ("2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z")
    for bad in ("2026-13", 202602, None):
        with pytest.raises(ValueError, match=f"^{bad!r} is not a period YYYY-MM$"):
            period_window(bad)


def test_receipt_json_depth_limit_is_64():
    """Reply text is parsed with a nesting limit of 64 (deeper than the API's 32 for requests)."""
    text = json.dumps(t12_receipt())

    def nested(levels: int) -> str:
        return text[:-1] + ', "x": ' + "[" * levels + "]" * levels + "}"

    assert verify_receipt(nested(63)).ok  # the object and 63 arrays: depth 64
    report = verify_receipt(nested(64))
    assert report.failed == ["json"]
    assert report.messages == ["[json] the reply is not acceptable JSON: JSON nesting is deeper than 64"]


def test_unhashable_checkpoint_and_non_numbers_are_reported():
    receipt = t12_receipt()
    receipt["verification"]["checkpoint"]["treeSize"] = 2**60
    report = verify_receipt(receipt)
    assert ("[proofRoot] the checkpoint cannot be serialised canonically: checkpoint.treeSize: integer "
            "1152921504606846976 is outside ±(2^53−1)") in report.messages
    report = verify_receipt(dict(t12_receipt(), finalBalance=Decimal("NaN")))
    assert report.messages == ["[balances] finalBalance and startingBalance must be numbers"]
    from mockserver.proofs import rebuild_delta

    for junk in (float("inf"), float("nan"), Decimal("Infinity")):
        assert rebuild_delta(dict(LINE2, delta=junk)).problems == ["delta.delta must be a finite number"]


def test_integral_floats_are_integers_other_floats_are_not():
    """A verifier given doubles (JavaScript-parsed JSON) accepts 2.0 as the integer 2 only."""
    from mockserver.proofs import rebuild_delta

    assert rebuild_delta(dict(LINE2, sequence=2.0)).fingerprint == FP2
    for junk in (2.5, float("inf"), float("nan")):
        assert rebuild_delta(dict(LINE2, sequence=junk)).problems == [
            f"delta.sequence must be an integer >= 1, found {junk!r}"]


def test_metadata_errors_name_the_path():
    """metadata_to_json_value validates client metadata (proofs.md §2.4); the server's 400 names the
    offending member by its path."""
    assert metadata_to_json_value({"n": 2**53 - 1, "m": -(2**53 - 1)}) == {"n": 2**53 - 1, "m": -(2**53 - 1)}
    cases = [
        ({"a": {"b": [1, 2**53]}}, "metadata.a.b[1]: integer 9007199254740992 is outside ±(2^53−1)"),
        ({"a": [Decimal("9007199254740992")]}, "metadata.a[0]: integer 9007199254740992 is outside ±(2^53−1)"),
        ({"x": Decimal("NaN")}, "metadata.x: number must be finite"),
        ({"x": float("inf")}, "metadata.x: number must be finite"),
        ({"x": Decimal("1.5E+400")}, "metadata.x: number 1.5E+400 overflows a double"),
        ({1: 2}, "metadata: member names must be strings"),
        ({"s": "\ud800"}, "metadata.s: string contains a lone surrogate"),
        ({"\ud800": 1}, "metadata: string contains a lone surrogate"),
        ({"o": object()}, "metadata.o: object is not a JSON value"),
    ]
    for value, message in cases:
        with pytest.raises(ValueError) as info:
            metadata_to_json_value(value)
        assert str(info.value) == message
    with pytest.raises(ValueError, match=r"^checkpoint\.treeSize: "):
        metadata_to_json_value({"treeSize": 2**60}, "checkpoint")


def test_levels_size_and_the_public_api_fallback_of_the_tree():
    from mockserver.proofs import TreeHasher, levels_size
    from mockserver.proofs.merkle import _keccak_public

    assert levels_size(build_levels(raw([FP1, FP2, FP3]))) == 3 and levels_size([]) == 0
    assert levels_size(build_levels([])) == 0
    # the tree over pycryptodome's public API (used when the C fast path cannot be loaded) agrees with T.6
    slow = TreeHasher(keccak256, _keccak_public)
    assert slow.mth(raw([FP1, FP2, FP3])) == from_hex(ITEMS_ROOT)
    assert slow.build_levels(raw([FP1, FP2]))[1] == from_hex(MTH2)


def test_receipt_root_claims_and_starting_balance():
    """6.1 step 3: verification.proofRoot, when present, must equal the recomputed root too, and may
    be absent; step 8: startingBalance defaults to 0; a difference that cannot be computed exactly is
    a failed balance check, not an error."""
    receipt = t12_receipt()
    receipt["verification"]["proofRoot"] = PROOF_ROOT_MAR
    report = verify_receipt(receipt)
    assert report.failed == ["proofRoot"]
    assert report.messages == [f"[proofRoot] verification.proofRoot is {PROOF_ROOT_MAR!r}, H(checkpoint label ‖ 00 ‖ "
                               f"JCS(C)) is {PROOF_ROOT_FEB}"]
    receipt = t12_receipt()
    del receipt["verification"]["proofRoot"], receipt["startingBalance"]
    assert verify_receipt(receipt).ok
    report = verify_receipt(dict(t12_receipt(), finalBalance=Decimal("1E+60"), startingBalance=Decimal("1E-60")))
    assert report.failed == ["balances"]
    assert report.messages == ["[balances] finalBalance − startingBalance cannot be computed exactly"]


def test_a_check_that_failed_once_stays_failed():
    """Report.checks ANDs the outcomes of one check: a later passing claim cannot clear a failure."""
    receipt = t12_receipt()
    receipt["proofRoot"] = PROOF_ROOT_MAR  # first claim wrong, verification.proofRoot right
    report = verify_receipt(receipt)
    assert report.checks["proofRoot"] is False and report.failed == ["proofRoot"] and report.ok is False
    assert verify_batch_chain("x").checks == {"shape": False}
