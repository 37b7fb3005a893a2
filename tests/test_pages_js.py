"""The in-page verifier mockserver/pages/static/pacspace-verify.js (balance-api.md §6), run in Node.

Every proofs.md §7 vector the browser needs (T.1 Keccak and not SHA3, T.2 decimals read from JSON
text, T.3 timestamps, T.4 ledgerId, T.5 fingerprints and JCS bytes, T.6 roots and proofs, T.7
batch proof hashes, T.8 proofRoot and anchor, T.9 metadata digest and fingerprint4, T.10 empty
checkpoint, T.11 the tree code with SHA-256, T.12 the receipt and its tampered copies with exactly
the listed failing checks), the §6.5 tampering compared check for check with the Python reference
verifier, a randomized cross-check of fingerprints, JCS bytes and metadata digests against
mockserver.proofs, the public verify data islands (checkpoint and batch kinds), paged islands,
and the browser glue (data island -> #verification-result) in a fake DOM.

All pure cases run in ONE node process (module fixture `js`); one more runs the islands of real
pages served by the embedded server.
"""

from __future__ import annotations

import copy
import json
import random
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from mockserver.proofs import (
    ZERO_HASH,
    anchor_reference,
    batch_preimage,
    batch_proof_hash,
    build_levels,
    canonical_decimal,
    checkpoint_preimage,
    delta_preimage,
    fingerprint,
    from_hex,
    jcs,
    keccak256,
    metadata_digest,
    metadata_to_json_value,
    mth,
    parse_json_exact,
    path_from_levels,
    proof_root,
    to_hex,
    verify_receipt,
)
from mockserver.proofs.verifier import rebuild_delta

from conftest import require_tool

NODE = shutil.which("node")


@pytest.fixture(scope="module", autouse=True)
def _node():
    require_tool(NODE is not None, "node (Node.js) is not on PATH: the in-page verifier pacspace-verify.js cannot run")

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "mockserver" / "pages" / "static" / "pacspace-verify.js"
HARNESS = ROOT / "tests" / "js" / "harness.js"

# --- proofs.md §7 values ------------------------------------------------------------------------

CUSTOMER = "cust_acme_001"
LEDGER = "0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737"
EMPTY_HEX = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
SHA3_EMPTY = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
FP = ["0x92d1d27b38207fc8d751e6c42313490a0160c4181d5dd7c3ac74ee028408fd49",
      "0xb49479cc67f91a648b7c82a7d69b0925209c68393fd463e8deabed9aace9750f",
      "0xedb9a6181188796c1487496186b548ed56d627648ea31f8b21f18c6fe379017a"]
FP4 = "0x1e7c42495f7453cf62a693be621ffa03755b8ac152742cfb1ca22fc5beda28dc"
LH = ["0xc531018902c22f2b2d2e93fd0e2f893e24102e96330f3deef409cadebfae9b1d",
      "0x7232bf17c2a0fd75fcc433460e169e57303fbaed2e4d210c02143ae70c60d572",
      "0xe8dfb9e2361b037f05a448066ee4faccc8838a9a826a582099234528009037b9"]
LH4 = "0x8bcc48de56df611f648e5dcb24311a58545a9cca5aaed2cb2d92cac63097e59a"
MTH2 = "0x37596749e49785e29a3155c53cf630acf40cf1ab5684815f9ef48af3452092cd"
ITEMS_ROOT = "0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6"
PROOF_ROOT_FEB = "0x479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca"
ANCHOR_FEB = "0x9f125aaf857f0bc43e3063fd28f2873710ec2bee1aeaadfbdaeced8e0cdf63f0"
PROOF_ROOT_MAR = "0xea36c25b23ee560ea57eb8807e849e2bcaaf222ca111dd66768d92ec3b87c61a"
ANCHOR_MAR = "0xc2ace96a9b57788bc952d00b6f2bf946d3fc0ddcbb0b09bced2a7ea566720241"
META_DIGEST = "0xd4fe6f69833a79ed637bb6b994a863e8b8ad3302589a505470f5d2a477af863f"
RECEIPT_IDS = ["0x45ded7ae099093a42ad88c664cb22c2f5a6219e113f9baf283a9b0bc18360caa",
               "0x23de1bb13307017939f1cbbbaa2c4a50c4d3714be325df6001d2473e8f874367",
               "0x910884dbf1e7c320022b1244a15622532f98f4177e25264253794521f5233956",
               "0x7edc1108d36641febf841748f059658c03fcb50de6d59651875073d6989bd01b"]
ONE_BATCH_OF_THREE = "0x82127cf1bc2548a2d8b11d1afca275b2de2a4463f29a883335dd9623cb71ac0a"

LABELS = {
    "pacspace-mock:delta:v1": "70616373706163652d6d6f636b3a64656c74613a7631",
    "pacspace-mock:batch:v1": "70616373706163652d6d6f636b3a62617463683a7631",
    "pacspace-mock:checkpoint:v1": "70616373706163652d6d6f636b3a636865636b706f696e743a7631",
    "pacspace-mock:ledger:v1": "70616373706163652d6d6f636b3a6c65646765723a7631",
    "pacspace-mock:anchor:v1": "70616373706163652d6d6f636b3a616e63686f723a7631",
}

DAYS = [("-420", "01"), ("-390", "02"), ("-437", "03")]
# D as an emit would build it, member order deliberately not canonical: JCS must sort
D_TEXT = [
    f'{{"sequence": {i + 1}, "referenceId": "usage:cust_acme_001:2026-02-{day}", '
    f'"recordedAt": "2026-02-{day}T23:59:59.000Z", "reason": "daily_usage_flush:2026-02-{day}", '
    f'"delta": "{amount}", "customerId": "cust_acme_001"}}'
    for i, (amount, day) in enumerate(DAYS)
]
JCS_D = [
    '{"customerId":"cust_acme_001","delta":"%s","reason":"daily_usage_flush:2026-02-%s",'
    '"recordedAt":"2026-02-%sT23:59:59.000Z","referenceId":"usage:cust_acme_001:2026-02-%s","sequence":%d}'
    % (amount, day, day, day, i + 1) for i, (amount, day) in enumerate(DAYS)
]
T5_PREIMAGE = (
    "70616373706163652d6d6f636b3a64656c74613a7631007b22637573746f6d65724964223a22637573745f61636d655f"
    "303031222c2264656c7461223a222d343230222c22726561736f6e223a226461696c795f75736167655f666c7573683a"
    "323032362d30322d3031222c227265636f726465644174223a22323032362d30322d30315432333a35393a35392e3030"
    "305a222c227265666572656e63654964223a2275736167653a637573745f61636d655f3030313a323032362d30322d30"
    "31222c2273657175656e6365223a317d")

T2 = [  # JSON number text, canonical form, amount problem, significant digits
    ("-12.50", "-12.5", None, 3),
    ("1E+2", "100", None, 1),
    ("1e-7", "0.0000001", None, 1),
    ("100.000", "100", None, 1),
    ("-0.0", "0", "delta must be non-zero", 0),
    ("0.30000000000000004", "0.30000000000000004", "delta has 17 significant digits; at most 15 are allowed", 17),
    ("-420", "-420", None, 2),
    ("12.5e1", "125", None, 3),
    ("0.000001", "0.000001", None, 1),
    ("1000000000", "1000000000", None, 1),
    ("-1e9", "-1000000000", None, 1),
    ("1000000000.5", "1000000000.5", "delta must satisfy |delta| <= 1000000000", 11),
    ("123456789.123456", "123456789.123456", None, 15),
    ("0.123456789012345", "0.123456789012345", None, 15),
    ("1234567.890123456", "1234567.890123456", "delta has 16 significant digits; at most 15 are allowed", 16),
    ("1e-18", "0.000000000000000001", None, 1),
    ("0.000000000000000001", "0.000000000000000001", None, 1),
    ("1e-19", "0.0000000000000000001", "delta has 19 digits after the point; at most 18 are allowed", 1),
    ("0", "0", "delta must be non-zero", 0),
]

T3 = [
    ("2026-02-01T23:59:59Z", "2026-02-01T23:59:59.000Z"),
    ("2026-02-01T23:59:59.5Z", "2026-02-01T23:59:59.500Z"),
    ("2026-02-01T23:59:59.123456789Z", "2026-02-01T23:59:59.123Z"),
    ("2026-02-02T01:59:59.999+02:00", "2026-02-01T23:59:59.999Z"),
    ("2026-01-31T19:00:00-05:00", "2026-02-01T00:00:00.000Z"),
    ("2026-02-01t23:59:59.000z", "2026-02-01T23:59:59.000Z"),
    ("2026-02-01T23:59:59", None),
    ("2026-02-01 23:59:59Z", None),
    ("2026-02-30T00:00:00Z", None),
]

T7_JCS = [
    '{"batchSequence":1,"itemCount":1,"itemsRoot":"0xc531018902c22f2b2d2e93fd0e2f893e24102e96330f3deef409cadebfae9b1d","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x0000000000000000000000000000000000000000000000000000000000000000"}',
    '{"batchSequence":2,"itemCount":1,"itemsRoot":"0x7232bf17c2a0fd75fcc433460e169e57303fbaed2e4d210c02143ae70c60d572","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x45ded7ae099093a42ad88c664cb22c2f5a6219e113f9baf283a9b0bc18360caa"}',
    '{"batchSequence":3,"itemCount":1,"itemsRoot":"0xe8dfb9e2361b037f05a448066ee4faccc8838a9a826a582099234528009037b9","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x23de1bb13307017939f1cbbbaa2c4a50c4d3714be325df6001d2473e8f874367"}',
    '{"batchSequence":4,"itemCount":1,"itemsRoot":"0x8bcc48de56df611f648e5dcb24311a58545a9cca5aaed2cb2d92cac63097e59a","ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","previousProofHash":"0x910884dbf1e7c320022b1244a15622532f98f4177e25264253794521f5233956"}',
]
T7_ANCHORS = ["0x66e609eb6ce6d1d141a842c19a7ca0366f36c7d8ad63eb043fd016f072ecf14e",
              "0xeeafa67fda537b2df4b24c75ac9f29268a43e6a747d1c1030f94f6120d5564ea",
              "0x769c8f59db44a04cb7a68b87508e1ecc7c160d5228a4abcb06489ec290506f08"]
T7_ONE_BATCH_JCS = (
    '{"batchSequence":1,"itemCount":3,"itemsRoot":"0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6",'
    '"ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737",'
    '"previousProofHash":"0x0000000000000000000000000000000000000000000000000000000000000000"}')

JCS_C_FEB = (
    '{"chainId":296,"customerId":"cust_acme_001","endDate":"2026-03-01T00:00:00.000Z","fromSequence":1,'
    '"itemsRoot":"0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6",'
    '"ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","netChange":"-1247",'
    '"period":"2026-02","startDate":"2026-02-01T00:00:00.000Z","toSequence":3,"treeSize":3}')
C_FEB_TEXT = """{
  "ledgerId": "0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737",
  "chainId": 296, "customerId": "cust_acme_001",
  "startDate": "2026-02-01T00:00:00.000Z", "endDate": "2026-03-01T00:00:00.000Z", "treeSize": 3,
  "itemsRoot": "0x6c6f9ac1c3fb1f8c81ee696ef21a621c264f81b7ae67d0d3425d8914e1cf09f6",
  "netChange": "-1247", "period": "2026-02", "fromSequence": 1, "toSequence": 3
}"""
ANCHOR_PREIMAGE_FEB = ("70616373706163652d6d6f636b3a616e63686f723a763100479195f4687b2917f36e38b6e60f85fcac24465093"
                       "bec03b86e5b1360dd9f7ca")

D4_TEXT = json.dumps({
    "sequence": 4, "metadataDigest": META_DIGEST, "adjusts": {"referenceId": "usage:cust_acme_001:2026-02-01"},
    "customerId": CUSTOMER, "delta": "12.5", "reason": "usage_correction:2026-02-01",
    "recordedAt": "2026-03-02T09:30:00.250Z", "referenceId": "usage_correction:cust_acme_001:2026-02-01"})
JCS_D4 = (
    '{"adjusts":{"referenceId":"usage:cust_acme_001:2026-02-01"},"customerId":"cust_acme_001","delta":"12.5",'
    '"metadataDigest":"0xd4fe6f69833a79ed637bb6b994a863e8b8ad3302589a505470f5d2a477af863f",'
    '"reason":"usage_correction:2026-02-01","recordedAt":"2026-03-02T09:30:00.250Z",'
    '"referenceId":"usage_correction:cust_acme_001:2026-02-01","sequence":4}')
JCS_C_MAR = (
    '{"chainId":296,"customerId":"cust_acme_001","endDate":"2026-04-01T00:00:00.000Z","fromSequence":4,'
    '"itemsRoot":"0x8bcc48de56df611f648e5dcb24311a58545a9cca5aaed2cb2d92cac63097e59a",'
    '"ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","netChange":"12.5",'
    '"period":"2026-03","previousProofRoot":"0x479195f4687b2917f36e38b6e60f85fcac24465093bec03b86e5b1360dd9f7ca",'
    '"startDate":"2026-03-01T00:00:00.000Z","toSequence":4,"treeSize":1}')
JCS_C_JAN = (
    '{"chainId":296,"customerId":"cust_acme_001","endDate":"2026-02-01T00:00:00.000Z",'
    '"itemsRoot":"0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",'
    '"ledgerId":"0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737","netChange":"0",'
    '"period":"2026-01","startDate":"2026-01-01T00:00:00.000Z","treeSize":0}')
PROOF_ROOT_JAN = "0x2e72ca2e25996c16d51064547c989c75844ac6ed8f35bb6b0a612787846d5283"
ANCHOR_JAN = "0x7e9468de30a9d2bc866023a708f15283d52bbf46d6ecd9706ab9f677dc7fcc28"

T11_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
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


def checkpoint_feb() -> dict:
    return checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z",
                               "2026-02", 3, ITEMS_ROOT, 1, 3, "-1247", None)


def checkpoint_mar() -> dict:
    return checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z",
                               "2026-03", 1, LH4, 4, 4, "12.5", PROOF_ROOT_FEB)


def checkpoint_jan() -> dict:
    return checkpoint_preimage(LEDGER, 296, CUSTOMER, "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z",
                               "2026-01", 0, EMPTY_HEX, None, None, "0", None)


# --- T.12: the receipt and its tampered copies, as tests/test_proofs.py builds them ------------

def receipt_line(i: int) -> dict:
    text, day = DAYS[i]
    return {"recordId": f"rec_demo_000{i + 1}", "customerId": CUSTOMER, "delta": int(text),
            "reason": f"daily_usage_flush:2026-02-{day}", "referenceId": f"usage:cust_acme_001:2026-02-{day}",
            "sequence": i + 1, "recordedAt": f"2026-02-{day}T23:59:59.000Z", "status": "VERIFIED",
            "fingerprint": FP[i], "itemHash": FP[i], "receiptId": RECEIPT_IDS[i]}


def t12_receipt() -> dict:
    return {"customerId": CUSTOMER, "period": "2026-02", "proofRoot": PROOF_ROOT_FEB, "itemsRoot": ITEMS_ROOT,
            "startingBalance": 0, "finalBalance": -1247, "deltaCount": 3, "deltasCount": 3,
            "deltas": [receipt_line(i) for i in range(3)],
            "verification": {"proofScheme": "pacspace-mock/v1", "itemHashes": list(FP),
                             "proofRoot": PROOF_ROOT_FEB, "verificationReference": ANCHOR_FEB,
                             "checkpoint": json.loads(C_FEB_TEXT)}}


# the T.12 tamperings and their failing checks: the same table the Python verifier is held to
# and the §6.5 tamper builders (the JS verifier must fail exactly the checks the Python one fails)
from test_proofs import (  # noqa: E402
    T12_TABLE, _add_line, _c, _change_amount, _delta_as_string, _duplicate, _line, _null_reference, _top,
)


def _scheme(r):
    r["verification"]["proofScheme"] = "pacspace/v1"


def _anchor(r):
    r["verification"]["verificationReference"] = ANCHOR_MAR


# proofs.md §6.5 (the list of tests/test_proofs.py): JS must fail exactly the checks Python fails.
TAMPERING_6_5 = [
    _line(0, reason="daily_usage_flush:2026-02-09"), _line(0, referenceId="x"), _line(1, sequence=5),
    _line(1, sequence=0), _line(1, recordedAt="2026-02-02T23:59:59Z"), _line(1, recordedAt="2026-02-02T23:59:58.000Z"),
    _line(1, customerId="cust_other"), _line(1, adjusts={"recordId": "rec_x"}), _line(1, metadata={"a": 1}),
    _line(1, status="FAILED"), _line(1, fingerprint=FP[1].upper().replace("0X", "0x")), _line(1, itemHash=FP[0]),
    _line(1, contentHash=FP[0]), _line(1, delta=0.1), _line(1, delta=0.30000000000000004),
    _line(1, deltaDecimal="-390.0"), _delta_as_string, _null_reference, _duplicate, _add_line,
    _top(startingBalance=1), _top(finalBalance=-1247.5), _top(itemsRoot=MTH2), _top(customerId="cust_other"),
    _top(period="2026-03"), _top(deltaCount=2), _top(deltasCount=4), _c(treeSize=4), _c(chainId=295),
    _c(ledgerId=RECEIPT_IDS[0]), _c(startDate="2026-02-02T00:00:00.000Z"), _c(period="2026-03"),
    _c(fromSequence=2), _c(toSequence=4), _c(previousProofRoot=PROOF_ROOT_MAR), _c(previousProofRoot=None),
    _c(itemsRoot=MTH2), _c(netChange=-1247), _c(netChange="-1247\n"), _c(period="2026-02\n"),
    _c(itemsRoot=ITEMS_ROOT.upper().replace("0X", "0x")), _scheme, _anchor,
    _line(1, metadataDigest=META_DIGEST), _line(2, adjusts={"referenceId": "a", "recordId": "b"}),
    _top(finalBalance="-1247"), _c(netChange="-1247.0"), _c(extra=1), _c(treeSize=1e400),
]

# Other spellings of the same values: not tampering, both verifiers accept them.
SAME_VALUES = [
    _line(1, delta=-390.0), _line(1, deltaDecimal="-390"), _top(finalBalance=-1247.0), _top(startingBalance=0.0),
    _line(0, metadata=None, adjusts=None, metadataDigest=None, contentHash=FP[0]), _top(period=None),
]

JUNK = [
    "", "{", "[]", "null", "5", '{"a":1,"a":2}', '{"x": NaN}', '{"x": Infinity}', "{}", '{"deltas": "x"}',
    '{"success": true, "data": {}}', '{"a": 01}', '{"a": "\u0001"}', '{"a": 1} x', "[" * 70 + "]" * 70,
    '{"customerId":"c","deltas":[1,null,"x",{}],"proofRoot":"0x","itemsRoot":3,"finalBalance":"a",'
    '"deltaCount":true,"verification":{"checkpoint":{"treeSize":1e400}}}',
    '{"customerId":"c","deltas":[{"delta":1e999999,"sequence":"1"}],"proofRoot":1,"itemsRoot":1,'
    '"finalBalance":1e-999999,"deltaCount":1,"verification":{"checkpoint":{"netChange":"\\ud800"}}}',
    '{"customerId":"c","deltas":[{"delta":1e-999999999,"sequence":1e999999999,"reason":"r",'
    '"recordedAt":"2026-02-01T00:00:00.000Z"}],"proofRoot":1,"itemsRoot":1,"finalBalance":1e999999999,'
    '"startingBalance":-1e-999999999,"deltaCount":1e999999999,'
    '"verification":{"checkpoint":{"treeSize":1e999999999,"fromSequence":1e999999999}}}',
]


def march_receipt(with_metadata=True, with_digest=True) -> dict:
    line = {"recordId": "rec_demo_0004", "customerId": CUSTOMER, "delta": Decimal("12.5"), "deltaDecimal": "12.5",
            "reason": "usage_correction:2026-02-01", "referenceId": "usage_correction:cust_acme_001:2026-02-01",
            "adjusts": {"referenceId": "usage:cust_acme_001:2026-02-01"}, "sequence": 4,
            "recordedAt": "2026-03-02T09:30:00.250Z", "status": "VERIFIED", "fingerprint": FP4, "itemHash": FP4,
            "contentHash": FP4, "receiptId": RECEIPT_IDS[3]}
    if with_metadata:
        line["metadata"] = {"plan": "growth"}
    if with_digest:
        line["metadataDigest"] = META_DIGEST
    return {"customerId": CUSTOMER, "period": "2026-03", "proofRoot": PROOF_ROOT_MAR, "itemsRoot": LH4,
            "startingBalance": Decimal(-1247), "finalBalance": Decimal("-1234.5"), "deltaCount": 1,
            "deltasCount": 1, "deltas": [line],
            "verification": {"proofScheme": "pacspace-mock/v1", "itemHashes": [FP4], "proofRoot": PROOF_ROOT_MAR,
                             "verificationReference": ANCHOR_MAR, "checkpoint": checkpoint_mar()}}


def empty_receipt() -> dict:
    return {"customerId": CUSTOMER, "period": "2026-01", "proofRoot": PROOF_ROOT_JAN, "itemsRoot": EMPTY_HEX,
            "startingBalance": 0, "finalBalance": 0, "deltaCount": 0, "deltasCount": 0, "deltas": [],
            "verification": {"proofScheme": "pacspace-mock/v1", "itemHashes": [], "proofRoot": PROOF_ROOT_JAN,
                             "verificationReference": ANCHOR_JAN, "checkpoint": checkpoint_jan()}}


def dumps(value) -> str:
    """JSON text with Decimal amounts written literally (like the server's own writer)."""
    def default(o):
        if isinstance(o, Decimal):
            return "__DEC__" + canonical_decimal(o) + "__"
        raise TypeError(o)
    return re.sub(r'"__DEC__(-?[0-9.]+)__"', r"\1", json.dumps(value, default=default, ensure_ascii=False))


def island_text(value) -> str:
    """The page's data island: JSON with <, >, &, U+2028, U+2029 escaped (balance-api.md §6)."""
    text = dumps(value) if not isinstance(value, str) else value
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


# --- server-shaped receipts and verify data built from any list of deltas ----------------------

def build_receipt(deltas: list[dict], period=None, start="2026-02-01T00:00:00.000Z", end="2026-03-01T00:00:00.000Z",
                  server_shape=True) -> dict:
    """A public receipt (balance-api.md §5.0.3 / §5.20) over deltas given as D members + amount text."""
    fps = [fingerprint(delta_preimage(d["customerId"], canonical_decimal(Decimal(d["amount"])), d["reason"],
                                      d.get("referenceId"), d["sequence"], d["recordedAt"], d.get("adjusts"),
                                      d.get("metadataDigest"))) for d in deltas]
    levels = build_levels([from_hex(f) for f in fps])
    items_root = to_hex(mth([from_hex(f) for f in fps]))
    net = sum((Decimal(d["amount"]) for d in deltas), Decimal(0))
    c = checkpoint_preimage(LEDGER, 296, deltas[0]["customerId"], start, end, period, len(deltas), items_root,
                            deltas[0]["sequence"], deltas[-1]["sequence"], canonical_decimal(net), None)
    root = proof_root(c)
    lines = []
    for i, (d, fp) in enumerate(zip(deltas, fps)):
        line = {"recordId": f"rec_{i}", "customerId": d["customerId"], "sequence": d["sequence"],
                "delta": Decimal(d["amount"]), "deltaDecimal": canonical_decimal(Decimal(d["amount"])),
                "reason": d["reason"], "referenceId": d.get("referenceId"), "metadataDigest": d.get("metadataDigest"),
                "adjusts": d.get("adjusts"), "status": "VERIFIED", "recordedAt": d["recordedAt"],
                "fingerprint": fp, "itemHash": fp, "contentHash": fp}
        if server_shape:
            line.update(itemsRoot=items_root, leafIndex=i,
                        merkleProof=[to_hex(p) for p in path_from_levels(levels, len(fps), i)])
        lines.append(line)
    return {"customerId": deltas[0]["customerId"], "receiptId": "chk_x", "status": "VERIFIED", "period": period,
            "startDate": start, "endDate": end, "proofRoot": root, "itemsRoot": items_root,
            "startingBalance": Decimal(0), "finalBalance": net, "netChange": net, "deltaCount": len(deltas),
            "deltasCount": len(deltas), "deltas": lines,
            "deltasPage": {"limit": 1000, "offset": 0, "total": len(deltas), "hasMore": False},
            "verification": {"proofScheme": "pacspace-mock/v1", "proofRoot": root, "itemsRoot": items_root,
                             "itemHashes": fps, "checkpoint": dict(sorted(c.items())),
                             "verificationReference": anchor_reference(root)}}


def page_of(receipt: dict, offset: int, limit: int) -> dict:
    """The receipt as GET …?offset=&limit= returns it: one page of lines and of itemHashes."""
    r = copy.deepcopy(receipt)
    r["deltas"] = r["deltas"][offset:offset + limit]
    r["verification"]["itemHashes"] = r["verification"]["itemHashes"][offset:offset + limit]
    r["deltasPage"] = {"limit": limit, "offset": offset, "total": receipt["deltaCount"],
                       "hasMore": offset + len(r["deltas"]) < receipt["deltaCount"]}
    return r


def verify_data_of(receipt: dict) -> dict:
    """The public verify data (balance-api.md §5.19) of the receipt's checkpoint."""
    c = receipt["verification"]["checkpoint"]
    records = [{"amount": line["delta"], "reason": line["reason"], "referenceId": line.get("referenceId"),
                "status": "VERIFIED", "time": line["recordedAt"], "recordId": line.get("recordId", f"rec_{i}"),
                "customerId": line["customerId"], "sequence": line["sequence"],
                "amountDecimal": canonical_decimal(Decimal(str(line["delta"]))), "recordedAt": line["recordedAt"],
                "fingerprint": line["fingerprint"], "metadataDigest": line.get("metadataDigest"),
                "adjusts": line.get("adjusts")} for i, line in enumerate(receipt["deltas"])]
    net = sum((Decimal(str(line["delta"])) for line in receipt["deltas"]), Decimal(0))
    root = receipt["proofRoot"]
    return {"verified": True, "proofRoot": root, "kind": "checkpoint", "status": "VERIFIED",
            "recordedAt": "2026-03-01T00:05:00.000Z", "customerId": receipt["customerId"],
            "period": receipt.get("period"), "startDate": c["startDate"], "endDate": c["endDate"], "source": "both",
            "checks": {"recomputed": True, "anchored": True, "chainAvailable": True},
            "summary": {"recordCount": len(records), "netChange": net, "startingBalance": Decimal(0),
                        "endingBalance": net, "firstRecordAt": records[0]["time"] if records else None,
                        "lastRecordAt": records[-1]["time"] if records else None},
            "records": records,
            "recordsPage": {"limit": 1000, "offset": 0, "total": len(records), "hasMore": False},
            "verification": {"proofScheme": "pacspace-mock/v1", "verificationReference": anchor_reference(root),
                             "reference": anchor_reference(root), "blockTimestamp": "2026-03-01T00:05:02.000Z",
                             "chainId": c["chainId"], "itemsRoot": c["itemsRoot"],
                             "itemHashes": [r["fingerprint"] for r in records], "checkpoint": c, "batch": None},
            "message": "ok"}


def batch_verify_data(b: dict, records: list[dict]) -> dict:
    root = batch_proof_hash(b)
    net = sum((Decimal(str(r["amount"])) for r in records), Decimal(0))
    return {"verified": True, "proofRoot": root, "kind": "batch", "status": "VERIFIED",
            "recordedAt": "2026-02-01T23:59:59.000Z", "customerId": None, "period": None, "startDate": None,
            "endDate": None, "source": "both", "checks": {"recomputed": True, "anchored": True, "chainAvailable": True},
            "summary": {"recordCount": len(records), "netChange": net, "startingBalance": Decimal(0),
                        "endingBalance": net},
            "records": records, "recordsPage": {"limit": 1000, "offset": 0, "total": len(records), "hasMore": False},
            "verification": {"proofScheme": "pacspace-mock/v1", "verificationReference": anchor_reference(root),
                             "reference": anchor_reference(root), "chainId": 296, "itemsRoot": b["itemsRoot"],
                             "itemHashes": [r["fingerprint"] for r in records], "checkpoint": None,
                             "batch": dict(sorted(b.items()))}}


def t12_deltas() -> list[dict]:
    return [{"customerId": CUSTOMER, "amount": amount, "reason": f"daily_usage_flush:2026-02-{day}",
             "referenceId": f"usage:cust_acme_001:2026-02-{day}", "sequence": i + 1,
             "recordedAt": f"2026-02-{day}T23:59:59.000Z"} for i, (amount, day) in enumerate(DAYS)]


def t12_records() -> list[dict]:
    return verify_data_of(build_receipt(t12_deltas(), "2026-02"))["records"]


def one_batch_of_three() -> dict:
    return batch_preimage(LEDGER, 1, 3, ITEMS_ROOT, ZERO_HASH)


def _rec(i, **change):
    def tamper(v):
        v["records"][i].update(change)
    tamper.__name__ = f"record{i}_" + "_".join(change)
    return tamper


def _ver(**change):
    def tamper(v):
        v["verification"].update(change)
    tamper.__name__ = "verification_" + "_".join(change)
    return tamper


def _vc(**change):
    def tamper(v):
        v["verification"]["checkpoint"].update(change)
    tamper.__name__ = "checkpoint_" + "_".join(change)
    return tamper


def _vb(**change):
    def tamper(v):
        v["verification"]["batch"].update(change)
    tamper.__name__ = "batch_" + "_".join(change)
    return tamper


def _vtop(**change):
    def tamper(v):
        v.update(change)
    tamper.__name__ = "top_" + "_".join(change)
    return tamper


def _vsummary(**change):
    def tamper(v):
        v["summary"].update(change)
    tamper.__name__ = "summary_" + "_".join(change)
    return tamper


def _vdrop(v):
    del v["records"][1]


def _vswap(v):
    v["records"][0], v["records"][1] = v["records"][1], v["records"][0]


VERIFY_CHECKPOINT_TAMPERING = [
    (_rec(0, amount=Decimal(-421), amountDecimal="-421"),
     ["deltas.fingerprints", "itemHashes", "itemsRoot", "netChange", "balances"]),
    (_rec(0, amountDecimal="-421"), ["deltas.wellFormed"]),
    (_rec(1, reason="other"), ["deltas.fingerprints", "itemHashes", "itemsRoot"]),
    (_rec(1, status="FAILED"), ["deltas.status"]),
    (_vdrop, ["completeness", "itemHashes", "itemsRoot", "netChange", "balances"]),
    (_vswap, ["deltas.order", "itemHashes", "itemsRoot"]),
    (_vsummary(endingBalance=Decimal(-1246)), ["balances"]),
    (_vsummary(netChange=Decimal(-1246)), ["netChange"]),
    (_vsummary(recordCount=4), ["completeness"]),
    (_vc(netChange="-1246"), ["proofRoot", "anchor", "netChange"]),
    (_vtop(proofRoot=PROOF_ROOT_MAR), ["proofRoot"]),
    (_vtop(customerId="cust_other"), ["checkpoint.customerId", "deltas.wellFormed"]),
    (_vtop(period="2026-03"), ["checkpoint.period"]),
    (_vtop(startDate="2026-02-02T00:00:00.000Z"), ["checkpoint.window"]),
    (_ver(chainId=295), ["chainId"]),
    (_ver(itemsRoot=MTH2), ["itemsRoot"]),
    (_ver(reference=ANCHOR_MAR), ["anchor"]),
    (_ver(proofScheme="x"), ["proofScheme"]),
    (_vtop(verified=False), []),  # the server's own flag is not read
]

VERIFY_BATCH_TAMPERING = [
    (_rec(2, amount=Decimal(-436), amountDecimal="-436"),
     ["deltas.fingerprints", "itemHashes", "itemsRoot", "netChange", "balances"]),
    (_rec(0, customerId="cust_other"), ["deltas.fingerprints", "itemHashes", "itemsRoot"]),
    (_vdrop, ["completeness", "itemHashes", "itemsRoot", "netChange", "balances"]),
    (_vswap, ["itemHashes", "itemsRoot"]),
    (_vb(previousProofHash=RECEIPT_IDS[0]), ["batch.wellFormed", "proofHash", "anchor"]),
    (_vb(itemCount=2), ["proofHash", "anchor", "completeness"]),
    (_vb(extra=1), ["batch.wellFormed", "proofHash", "anchor"]),
    (_vtop(proofRoot=RECEIPT_IDS[0]), ["proofHash"]),
    (_vsummary(endingBalance=Decimal(0)), ["balances"]),
    (_ver(verificationReference=ANCHOR_FEB), ["anchor"]),
    (_vtop(verified=False, checks={"recomputed": False}), []),
]


# --- random inputs for the cross-check with mockserver.proofs ----------------------------------

POOL = (list("abcxyzABC019_:-. ") + ['"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x01", "\x1f", "\x7f",
        "\u0080", "\u00e9", "e\u0301", "\u2028", "\u2029", "\u20ac", "\ufeff", "\uffff", "\u4e2d",
        "\U0001f600", "\U0001d11e", "\U0010ffff", "<", ">", "&", "</script>"])


def rand_text(rng: random.Random, low=0, high=12) -> str:
    return "".join(rng.choice(POOL) for _ in range(rng.randint(low, high)))


def rand_amount_text(rng: random.Random) -> str:
    """A delta literal within the §2.6 rules, in one of several spellings of the same value."""
    while True:
        digits = str(rng.randint(1, 10 ** rng.randint(1, 15) - 1))
        exponent = rng.randint(-18 - len(digits) + 1 if len(digits) < 18 else -18, 9 - len(digits) + 1)
        value = Decimal(f"{'-' if rng.random() < 0.5 else ''}{digits}e{exponent}")
        if value != 0 and abs(value) <= 10 ** 9 and -value.as_tuple().exponent <= 18:
            break
    canonical = canonical_decimal(value)
    style = rng.randrange(4)
    if style == 0:
        return canonical
    if style == 1:
        return canonical + ("." if "." not in canonical else "") + "0" * rng.randint(1, 3)
    if style == 2:
        return f"{value:E}".replace("E+", "e" if rng.random() < 0.5 else "E+")
    sign, coeff, exp = value.as_tuple()
    shift = rng.randint(0, 3)
    return f"{'-' if sign else ''}{''.join(map(str, coeff))}{'0' * shift}e{exp - shift}"


def rand_json(rng: random.Random, depth=0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randint(-(2 ** 53 - 1), 2 ** 53 - 1) if rng.random() < 0.5 else rng.randint(-1000, 1000)
    if kind == 3:
        return rng.choice([0.1, -2.5, 1e21, 1e-7, 123456.789, 5.0, -0.0, 1.7976931348623157e308, 5e-324,
                           rng.uniform(-1e6, 1e6), rng.random() * 10 ** rng.randint(-30, 30)])
    if kind in (4, 5):
        return rand_text(rng)
    if kind in (6, 7):
        return {rand_text(rng, 0, 4): rand_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [rand_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def rand_timestamp(rng: random.Random) -> str:
    return f"{rng.randint(1970, 2099):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T" \
           f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z"


def random_cases(count=300, seed=20260201):
    """(line JSON text, expected fingerprint, canonical amount) and (metadata text, JCS hex, digest)."""
    rng = random.Random(seed)
    lines, metas = [], []
    for _ in range(count):
        fields = {"customerId": rand_text(rng, 1), "delta": "__AMOUNT__", "reason": rand_text(rng),
                  "sequence": rng.choice([1, 2, rng.randint(1, 10 ** 6), 2 ** 53 - 1]),
                  "recordedAt": rand_timestamp(rng)}
        if rng.random() < 0.5:
            fields["referenceId"] = rand_text(rng, 1)
        elif rng.random() < 0.5:
            fields["referenceId"] = None
        if rng.random() < 0.3:
            fields["adjusts"] = {rng.choice(["referenceId", "recordId"]): rand_text(rng, 1)}
        metadata = None
        if rng.random() < 0.4:
            metadata = {rand_text(rng, 0, 5): rand_json(rng) for _ in range(rng.randint(0, 5))}
            if rng.random() < 0.5:
                fields["metadata"] = metadata
            else:
                fields["metadataDigest"] = metadata_digest(metadata)
        amount = rand_amount_text(rng)
        members = list(fields.items())
        rng.shuffle(members)
        text = json.dumps(dict(members), ensure_ascii=rng.random() < 0.5).replace('"__AMOUNT__"', amount)
        parsed = parse_json_exact(text)
        rebuilt = rebuild_delta(parsed, None, "line")
        assert rebuilt.fingerprint is not None and not rebuilt.problems, (text, rebuilt.problems)
        lines.append((text, rebuilt.fingerprint, canonical_decimal(Decimal(amount))))
        if metadata is not None:
            meta_text = json.dumps(metadata, ensure_ascii=rng.random() < 0.5)
            value = metadata_to_json_value(parse_json_exact(meta_text))
            metas.append((meta_text, jcs(value).hex(), metadata_digest(parse_json_exact(meta_text))))
    return lines, metas


def random_keccak_inputs(seed=7):
    rng = random.Random(seed)
    lengths = list(range(0, 140)) + [271, 272, 273, 407, 408, 409, 1000, 4097]
    return [bytes(rng.randrange(256) for _ in range(n)).hex() for n in lengths]


def big_receipt(n=1000) -> dict:
    deltas = [{"customerId": "cust_big", "amount": f"{(-1) ** i * (i + 1)}.{i % 100:02d}", "reason": f"usage {i}",
               "referenceId": f"ref-{i}", "sequence": i + 1,
               "recordedAt": f"2026-02-{1 + i // 40:02d}T{(i // 2) % 24:02d}:{i % 60:02d}:00.000Z"}
              for i in range(n)]
    return build_receipt(deltas, "2026-02")


# --- the one node run ---------------------------------------------------------------------------

RANDOM_LINES, RANDOM_METAS = random_cases()
KECCAK_INPUTS = random_keccak_inputs()
SERVER_RECEIPT = build_receipt(
    t12_deltas() + [{"customerId": CUSTOMER, "amount": "0.000000000000000001", "reason": "tiny </script> & \u2028",
                     "sequence": 7, "recordedAt": "2026-02-28T23:59:59.999Z",
                     "adjusts": {"recordId": "rec_0"}, "metadataDigest": META_DIGEST},
                    {"customerId": CUSTOMER, "amount": "1000000000", "reason": "big", "sequence": 9,
                     "recordedAt": "2026-02-28T23:59:59.999Z"}], "2026-02")
BIG = big_receipt()


def _tasks() -> list[list]:
    t: list[list] = []

    def add(task_id, op, *args):
        t.append([task_id, op, *args])

    add("t1.empty", "keccakText", "")
    add("t1.abc", "keccakText", "abc")
    add("t1.sha3node", "sha3Node", "")
    for label in LABELS:
        add(f"t1.label.{label}", "label", label)
    add("keccak.random", "keccakMany", KECCAK_INPUTS)
    for text, *_ in T2:
        add(f"t2.{text}", "decimal", f'{{"x": {text}}}')
        add(f"t2.double.{text}", "decimalFromDouble", f'{{"x": {text}}}')
    for text, _ in T3:
        add(f"t3.{text}", "timestamp", text)
        add(f"t3.canonical.{text}", "canonicalTs", text)
    add("t4.preimage", "ledgerPreimage", "test", "pk_test_demo")
    add("t4.ledgerId", "ledgerId", "test", "pk_test_demo")
    for i, text in enumerate(D_TEXT):
        add(f"t5.jcs.{i}", "jcsHex", text)
        add(f"t5.fp.{i}", "fingerprint", text)
        add(f"t5.leaf.{i}", "leafHash", FP[i])
    add("t5.preimage", "fingerprintPreimage", D_TEXT[0])
    add("t5.asNumber", "fingerprint", D_TEXT[0].replace('"-420"', "-420"))
    add("t5.nonCanonical", "fingerprint", D_TEXT[0].replace('"-420"', '"-420.0"'))
    add("t5.nfd", "fingerprint", D_TEXT[0].replace("daily_usage_flush", "cafe\u0301"))
    add("t5.nfc", "fingerprint", D_TEXT[0].replace("daily_usage_flush", "caf\u00e9"))
    for n in (1, 2, 3):
        add(f"t6.mth.{n}", "mth", FP[:n])
    add("t6.empty", "mth", [])
    t6_paths = [[LH[1], LH[2]], [LH[0], LH[2]], [MTH2]]
    for i, path in enumerate(t6_paths):
        add(f"t6.incl.{i}", "verifyInclusion", i, 3, FP[i], path, ITEMS_ROOT)
        add(f"t6.incl.badsize.{i}", "verifyInclusion", i, 5, FP[i], path, ITEMS_ROOT)
        add(f"t6.incl.badleaf.{i}", "verifyInclusion", i, 3, FP[(i + 1) % 3], path, ITEMS_ROOT)
        add(f"t6.incl.short.{i}", "verifyInclusion", i, 3, FP[i], path[:-1], ITEMS_ROOT)
    add("t6.cons.1", "verifyConsistency", 1, 3, LH[0], ITEMS_ROOT, [LH[1], LH[2]])
    add("t6.cons.2", "verifyConsistency", 2, 3, MTH2, ITEMS_ROOT, [LH[2]])
    add("t6.cons.swapped", "verifyConsistency", 2, 3, ITEMS_ROOT, MTH2, [LH[2]])
    add("t6.cons.empty", "verifyConsistency", 2, 3, MTH2, ITEMS_ROOT, [])
    for i, text in enumerate(T7_JCS):
        shuffled = json.dumps(dict(reversed(list(json.loads(text).items()))))
        add(f"t7.jcs.{i}", "jcsHex", shuffled)
        add(f"t7.hash.{i}", "batchProofHash", shuffled)
        add(f"t7.anchor.{i}", "anchor", RECEIPT_IDS[i])
    add("t7.one.jcs", "jcsHex", json.dumps(one_batch_of_three()))
    add("t7.one.hash", "batchProofHash", json.dumps(one_batch_of_three()))
    add("t8.jcs", "jcsHex", C_FEB_TEXT)
    add("t8.root", "proofRoot", C_FEB_TEXT)
    add("t8.anchorPreimage", "anchorPreimage", PROOF_ROOT_FEB)
    add("t8.anchor", "anchor", PROOF_ROOT_FEB)
    add("t9.metaJcs", "jcsHex", '{ "plan" : "growth" }')
    add("t9.meta", "metadataDigest", '{ "plan" : "growth" }')
    add("t9.metaEmpty", "metadataDigest", "{}")
    add("t9.jcs", "jcsHex", D4_TEXT)
    add("t9.fp", "fingerprint", D4_TEXT)
    add("t9.leaf", "leafHash", FP4)
    add("t9.rebuild", "rebuild", json.dumps({
        "customerId": CUSTOMER, "delta": "__A__", "reason": "usage_correction:2026-02-01",
        "referenceId": "usage_correction:cust_acme_001:2026-02-01",
        "adjusts": {"referenceId": "usage:cust_acme_001:2026-02-01"}, "metadata": {"plan": "growth"},
        "sequence": 4, "recordedAt": "2026-03-02T09:30:00.250Z"}).replace('"__A__"', "12.50"), CUSTOMER)
    add("t9.batch", "batchProofHash", T7_JCS[3])
    add("t9.cjcs", "jcsHex", json.dumps(checkpoint_mar()))
    add("t9.croot", "proofRoot", json.dumps(checkpoint_mar()))
    add("t9.canchor", "anchor", PROOF_ROOT_MAR)
    add("t9.receipt", "verify", dumps(march_receipt()), {"ledgerId": LEDGER})
    add("t9.receipt.digestOnly", "verify", dumps(march_receipt(with_metadata=False)))
    add("t9.receipt.metadataOnly", "verify", dumps(march_receipt(with_digest=False)))
    add("t9.receipt.asDoubles", "verifyParsed", dumps(march_receipt()))
    add("t10.jcs", "jcsHex", json.dumps(checkpoint_jan()))
    add("t10.root", "proofRoot", json.dumps(checkpoint_jan()))
    add("t10.anchor", "anchor", PROOF_ROOT_JAN)
    add("t10.receipt", "verify", dumps(empty_receipt()))
    add("t11.roots", "sha256Roots", T11_LEAVES)
    add("t11.incl", "sha256Inclusion", T11_LEAVES, 5, T11_INCLUSION_5_8, T11_ROOTS[8])
    add("t11.cons", "sha256Consistency", 6, 8, T11_ROOTS[6], T11_ROOTS[8], T11_CONSISTENCY_6_8)
    add("t11.cons.bad", "sha256Consistency", 6, 8, T11_ROOTS[5], T11_ROOTS[8], T11_CONSISTENCY_6_8)

    receipt = t12_receipt()
    add("t12.ok", "verify", json.dumps(receipt, indent=2), {"ledgerId": LEDGER})
    add("t12.ok.envelope", "verify", json.dumps({"success": True, "data": receipt}))
    add("t12.ok.receiptOnly", "verifyReceipt", json.dumps(receipt))
    add("t12.ok.parsed", "verifyParsed", json.dumps(receipt))
    add("t12.wrongLedger", "verify", json.dumps(receipt), {"ledgerId": RECEIPT_IDS[0]})
    for tamper, _ in T12_TABLE:
        r = t12_receipt()
        tamper(r)
        add(f"t12.{tamper.__name__}", "verify", json.dumps(r), {"ledgerId": LEDGER})
    for i, tamper in enumerate(TAMPERING_6_5):
        r = t12_receipt()
        tamper(r)
        add(f"6.5.{i}", "verify", json.dumps(r), {"ledgerId": LEDGER})
    for i, tamper in enumerate(SAME_VALUES):
        r = t12_receipt()
        tamper(r)
        add(f"same.{i}", "verify", json.dumps(r), {"ledgerId": LEDGER})
    for i, junk in enumerate(JUNK):
        add(f"junk.{i}", "verify", junk)
    add("dup", "verify", '{"a": 1, "a": 2}')
    add("dup.nested", "verify", json.dumps(receipt).replace('"status": "VERIFIED"', '"status": "VERIFIED", "status": "X"', 1))
    add("proto", "verify", json.dumps(receipt).replace('"recordId"', '"__proto__": {"x": 1}, "recordId"', 1))
    add("parse.loneSurrogate", "parseFails", '{"a": "\\ud800"}')
    add("parse.raw2028", "parseFails", '{"a": "\u2028"}')

    for i, (text, _, _) in enumerate(RANDOM_LINES):
        add(f"rand.line.{i}", "rebuild", text, None)
    for i, (text, _, _) in enumerate(RANDOM_METAS):
        add(f"rand.metaJcs.{i}", "jcsHex", text)
        add(f"rand.meta.{i}", "metadataDigest", text)

    add("server.ok", "verify", dumps(SERVER_RECEIPT))
    add("server.island", "verify", island_text(SERVER_RECEIPT))
    bad = copy.deepcopy(SERVER_RECEIPT)
    bad["deltas"][1].update(delta=Decimal(-391), deltaDecimal="-391")
    add("server.amount", "verify", dumps(bad))
    bad = copy.deepcopy(SERVER_RECEIPT)
    bad["deltas"][2]["merkleProof"][0] = LH[0]
    add("server.proof", "verify", dumps(bad))
    bad = copy.deepcopy(SERVER_RECEIPT)
    bad["deltas"][2]["leafIndex"] = 1
    add("server.leafIndex", "verify", dumps(bad))
    bad = copy.deepcopy(SERVER_RECEIPT)
    bad["netChange"] = Decimal("-1246")
    add("server.netChange", "verify", dumps(bad))
    bad = copy.deepcopy(SERVER_RECEIPT)
    bad["endDate"] = "2026-04-01T00:00:00.000Z"
    add("server.endDate", "verify", dumps(bad))
    add("paged.first", "verify", dumps(page_of(SERVER_RECEIPT, 0, 2)))
    add("paged.middle", "verify", dumps(page_of(SERVER_RECEIPT, 2, 2)))
    add("paged.last", "verify", dumps(page_of(SERVER_RECEIPT, 4, 2)))
    add("paged.pastEnd", "verify", dumps(page_of(SERVER_RECEIPT, 9, 2)))
    add("paged.whole", "verify", dumps(page_of(SERVER_RECEIPT, 0, 5)))
    bad = page_of(SERVER_RECEIPT, 2, 2)
    bad["deltas"][0]["reason"] = "changed"
    add("paged.tampered", "verify", dumps(bad))
    bad = page_of(SERVER_RECEIPT, 2, 2)
    bad["deltas"][0]["merkleProof"] = bad["deltas"][0]["merkleProof"][1:]
    add("paged.badProof", "verify", dumps(bad))
    bad = page_of(SERVER_RECEIPT, 2, 2)
    bad["verification"]["checkpoint"]["netChange"] = "1"
    add("paged.checkpoint", "verify", dumps(bad))

    vdata = verify_data_of(build_receipt(t12_deltas(), "2026-02"))
    add("vc.ok", "verify", dumps(vdata), {"ledgerId": LEDGER})
    add("vc.root", "verify", dumps({**vdata, "proofRoot": "x"}))
    for tamper, _ in VERIFY_CHECKPOINT_TAMPERING:
        v = copy.deepcopy(vdata)
        tamper(v)
        add(f"vc.{tamper.__name__}", "verify", dumps(v))
    v = copy.deepcopy(vdata)
    v["records"] = v["records"][:2]
    v["verification"]["itemHashes"] = v["verification"]["itemHashes"][:2]
    v["recordsPage"] = {"limit": 2, "offset": 0, "total": 3, "hasMore": True}
    add("vc.paged", "verify", dumps(v))
    v = copy.deepcopy(vdata)
    for record in v["records"]:
        del record["amount"]
    add("vc.amountDecimalOnly", "verify", dumps(v))
    empty_v = verify_data_of(empty_receipt())
    add("vc.empty", "verify", dumps(empty_v))

    bdata = batch_verify_data(one_batch_of_three(), t12_records())
    assert bdata["proofRoot"] == ONE_BATCH_OF_THREE
    add("vb.ok", "verify", dumps(bdata))
    for tamper, _ in VERIFY_BATCH_TAMPERING:
        v = copy.deepcopy(bdata)
        tamper(v)
        add(f"vb.{tamper.__name__}", "verify", dumps(v))
    single = batch_preimage(LEDGER, 2, 1, LH[1], RECEIPT_IDS[0])
    bsingle = batch_verify_data(single, t12_records()[1:2])
    assert bsingle["proofRoot"] == RECEIPT_IDS[1]
    add("vb.single", "verify", dumps(bsingle))
    v = copy.deepcopy(bsingle)
    v["records"][0]["status"] = "QUEUED"
    add("vb.queued", "verify", dumps(v))
    v = copy.deepcopy(bdata)
    v["records"] = v["records"][2:]
    v["verification"]["itemHashes"] = v["verification"]["itemHashes"][2:]
    v["recordsPage"] = {"limit": 2, "offset": 2, "total": 3, "hasMore": False}
    add("vb.paged", "verify", dumps(v))

    add("page.ok", "page", island_text(SERVER_RECEIPT), "loading")
    add("page.ok.interactive", "page", island_text(t12_receipt()), "interactive")
    bad = t12_receipt()
    _change_amount(bad)
    add("page.fail", "page", island_text(bad), "loading")
    add("page.paged", "page", island_text(page_of(SERVER_RECEIPT, 2, 2)), "complete")
    add("page.verify", "page", island_text(vdata), "loading")
    add("page.batch", "page", island_text(bdata), "loading")
    add("page.noIsland", "page", None, "complete")
    add("page.garbage", "page", "<b>not json</b>", "complete")
    add("page.markup", "page", island_text(_with_markup_reason()), "complete")
    add("timing.big", "timing", dumps(BIG), 1)
    return t


def _with_markup_reason() -> dict:
    """A tampered line whose reason is markup: the message must stay text."""
    r = t12_receipt()
    r["deltas"][0]["status"] = "<img src=x onerror=alert(1)>"
    return r


def run_node(tasks: list[list]) -> dict:
    job = json.dumps({"script": str(SCRIPT), "tasks": tasks}, ensure_ascii=True)
    proc = subprocess.run([NODE, str(HARNESS)], input=job, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    assert not errors, errors
    return results


@pytest.fixture(scope="module")
def js() -> dict:
    return run_node(_tasks())


# --- T.1 Keccak-256, not SHA3 -------------------------------------------------------------------

def test_script_is_self_contained_ascii():
    source = SCRIPT.read_text(encoding="utf-8")
    assert source.isascii()
    assert not re.search(r"\brequire\(|\bimport\s|https?://|\bfetch\(|\beval\(|new Function|innerHTML", source)
    assert 'module.exports' in source and "DOMContentLoaded" in source


def test_t1_keccak_not_sha3(js):
    assert "0x" + js["t1.empty"] == EMPTY_HEX
    assert js["t1.abc"] == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    assert js["t1.sha3node"] == SHA3_EMPTY  # node's sha3-256 is FIPS 202: a different function
    assert js["t1.empty"] != SHA3_EMPTY
    for label, hex_ in LABELS.items():
        assert js[f"t1.label.{label}"] == hex_


def test_keccak_matches_python_on_random_inputs_across_block_boundaries(js):
    assert js["keccak.random"] == [keccak256(bytes.fromhex(h)).hex() for h in KECCAK_INPUTS]


# --- T.2 decimals, T.3 timestamps, T.4 ledgerId ---------------------------------------------------

@pytest.mark.parametrize("text, canonical, problem, sig", T2)
def test_t2_decimals_read_from_json_text(js, text, canonical, problem, sig):
    assert js[f"t2.{text}"] == {"canonical": canonical, "problem": problem, "sig": sig}


@pytest.mark.parametrize("text, canonical, problem, sig", [row for row in T2 if row[2] is None])
def test_t2_valid_deltas_survive_the_double_fallback(js, text, canonical, problem, sig):
    """JSON.parse + String(x) recovers every valid delta (at most 15 significant digits) exactly."""
    assert js[f"t2.double.{text}"] == canonical


@pytest.mark.parametrize("text, normalized", T3)
def test_t3_timestamps(js, text, normalized):
    assert js[f"t3.{text}"] == normalized
    assert js[f"t3.canonical.{text}"] == (normalized == text)


def test_t4_ledger_id(js):
    assert js["t4.preimage"] == "70616373706163652d6d6f636b3a6c65646765723a763100746573743a706b5f746573745f64656d6f"
    assert js["t4.ledgerId"] == LEDGER


# --- T.5 - T.11 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("i", [0, 1, 2])
def test_t5_jcs_fingerprint_leaf(js, i):
    assert bytes.fromhex(js[f"t5.jcs.{i}"]).decode() == JCS_D[i]
    assert len(bytes.fromhex(js[f"t5.jcs.{i}"])) == 185
    assert js[f"t5.fp.{i}"] == FP[i]
    assert js[f"t5.leaf.{i}"] == LH[i]


def test_t5_preimage_and_pitfalls(js):
    assert js["t5.preimage"] == T5_PREIMAGE
    assert js["t5.asNumber"] != FP[0] and js["t5.nonCanonical"] != FP[0]
    assert js["t5.nfc"] != js["t5.nfd"]


def test_t6_roots_and_proofs(js):
    assert [js[f"t6.mth.{n}"] for n in (1, 2, 3)] == [LH[0], MTH2, ITEMS_ROOT]
    assert js["t6.empty"] == EMPTY_HEX
    for i in range(3):
        assert js[f"t6.incl.{i}"] is True
        assert js[f"t6.incl.badsize.{i}"] is False or i == 0  # 4.5: leaf 0's path also fits other sizes
        assert js[f"t6.incl.badleaf.{i}"] is False
        assert js[f"t6.incl.short.{i}"] is False
    assert js["t6.cons.1"] is True and js["t6.cons.2"] is True
    assert js["t6.cons.swapped"] is False and js["t6.cons.empty"] is False


def test_t7_batch_proof_hashes(js):
    for i, text in enumerate(T7_JCS):
        assert bytes.fromhex(js[f"t7.jcs.{i}"]).decode() == text
        assert js[f"t7.hash.{i}"] == RECEIPT_IDS[i]
        if i < 3:
            assert js[f"t7.anchor.{i}"] == T7_ANCHORS[i]
    assert bytes.fromhex(js["t7.one.jcs"]).decode() == T7_ONE_BATCH_JCS
    assert js["t7.one.hash"] == ONE_BATCH_OF_THREE


def test_t8_proof_root_and_anchor(js):
    assert bytes.fromhex(js["t8.jcs"]).decode() == JCS_C_FEB
    assert len(bytes.fromhex(js["t8.jcs"])) == 365
    assert js["t8.root"] == PROOF_ROOT_FEB
    assert js["t8.anchorPreimage"] == ANCHOR_PREIMAGE_FEB
    assert js["t8.anchor"] == ANCHOR_FEB


def test_t9_metadata_digest_and_fingerprint4(js):
    assert bytes.fromhex(js["t9.metaJcs"]).decode() == '{"plan":"growth"}'
    assert js["t9.meta"] == META_DIGEST
    assert js["t9.metaEmpty"] == to_hex(keccak256(b"{}"))
    assert bytes.fromhex(js["t9.jcs"]).decode() == JCS_D4
    assert js["t9.fp"] == FP4 and js["t9.leaf"] == LH4
    assert js["t9.rebuild"] == {"fingerprint": FP4, "problems": [], "canonical": "12.5"}
    assert js["t9.batch"] == RECEIPT_IDS[3]
    assert bytes.fromhex(js["t9.cjcs"]).decode() == JCS_C_MAR
    assert js["t9.croot"] == PROOF_ROOT_MAR and js["t9.canchor"] == ANCHOR_MAR


@pytest.mark.parametrize("case", ["t9.receipt", "t9.receipt.digestOnly", "t9.receipt.metadataOnly",
                                  "t9.receipt.asDoubles", "t10.receipt"])
def test_t9_t10_receipts_verify(js, case):
    assert js[case]["ok"], js[case]["messages"]
    assert js[case]["failed"] == []


def test_t10_empty_checkpoint(js):
    assert bytes.fromhex(js["t10.jcs"]).decode() == JCS_C_JAN
    assert js["t10.root"] == PROOF_ROOT_JAN
    assert js["t10.anchor"] == ANCHOR_JAN


def test_t11_tree_code_with_sha256(js):
    assert js["t11.roots"] == T11_ROOTS  # MTH of the first n leaves, n = 0 .. 8
    assert js["t11.incl"] is True and js["t11.cons"] is True and js["t11.cons.bad"] is False


# --- T.12 and §6.5 ------------------------------------------------------------------------------

RECEIPT_CHECKS = ["json", "shape", "proofScheme", "checkpoint.wellFormed", "checkpoint.customerId",
                  "checkpoint.period", "proofRoot", "anchor", "ledgerId", "deltas.wellFormed",
                  "deltas.fingerprints", "deltas.window", "deltas.status", "deltas.order", "completeness",
                  "itemHashes", "itemsRoot", "netChange", "balances"]


def test_t12_receipt_verifies(js):
    report = js["t12.ok"]
    assert report["ok"] and report["failed"] == [] and report["messages"] == []
    assert list(report["checks"]) == RECEIPT_CHECKS  # the checks of §6.1, in the reference's order
    assert all(report["checks"].values())
    assert report["summary"].startswith("Verification passed")
    for case in ("t12.ok.envelope", "t12.ok.receiptOnly", "t12.ok.parsed"):
        assert js[case]["ok"], js[case]["messages"]
    assert js["t12.wrongLedger"]["failed"] == ["ledgerId"]


@pytest.mark.parametrize("tamper, failing", T12_TABLE, ids=[t.__name__.strip("_") for t, _ in T12_TABLE])
def test_t12_tampered_copies_fail_exactly_the_listed_checks(js, tamper, failing):
    report = js[f"t12.{tamper.__name__}"]
    assert not report["ok"]
    assert report["failed"] == failing, report["messages"]
    assert report["messages"]
    assert report["summary"].startswith("Verification failed: " + ", ".join(failing))
    r = t12_receipt()
    tamper(r)
    assert verify_receipt(json.dumps(r), ledger_id=LEDGER).failed == failing  # the Python reference agrees


@pytest.mark.parametrize("i", range(len(TAMPERING_6_5)), ids=[t.__name__.strip("_") for t in TAMPERING_6_5])
def test_6_5_tampering_fails_the_same_checks_as_python(js, i):
    r = t12_receipt()
    TAMPERING_6_5[i](r)
    text = json.dumps(r)
    expected = verify_receipt(text, ledger_id=LEDGER)
    report = js[f"6.5.{i}"]
    assert not report["ok"] and not expected.ok
    assert report["failed"] == expected.failed, (report["messages"], expected.messages)


@pytest.mark.parametrize("i", range(len(JUNK)))
def test_malformed_islands_fail_like_python(js, i):
    report = js[f"junk.{i}"]
    expected = verify_receipt(JUNK[i])
    assert not report["ok"] and report["failed"] and report["messages"]
    assert report["failed"] == expected.failed, (report["messages"], expected.messages)


@pytest.mark.parametrize("i", range(len(SAME_VALUES)), ids=[t.__name__.strip("_") for t in SAME_VALUES])
def test_other_spellings_of_the_same_values_verify(js, i):
    r = t12_receipt()
    SAME_VALUES[i](r)
    assert verify_receipt(json.dumps(r), ledger_id=LEDGER).ok
    assert js[f"same.{i}"]["ok"], js[f"same.{i}"]["messages"]


def test_strict_json(js):
    assert js["dup"]["failed"] == ["json"] and "duplicate" in js["dup"]["messages"][0]
    assert js["dup.nested"]["failed"] == ["json"]
    assert js["proto"]["ok"], js["proto"]["messages"]  # "__proto__" is an ordinary member name
    assert js["parse.loneSurrogate"] is None  # parses (as Python's json does); hashing it is what fails
    assert js["parse.raw2028"] is None


# --- randomized cross-check with mockserver.proofs ----------------------------------------------

def test_random_lines_fingerprints_match_python(js):
    mismatches = []
    for i, (text, fp, canonical) in enumerate(RANDOM_LINES):
        got = js[f"rand.line.{i}"]
        if got != {"fingerprint": fp, "problems": [], "canonical": canonical}:
            mismatches.append((text, fp, got))
    assert not mismatches, mismatches[:3]
    assert len(RANDOM_LINES) >= 300


def test_random_metadata_jcs_and_digests_match_python(js):
    assert len(RANDOM_METAS) > 50
    for i, (text, jcs_hex, digest) in enumerate(RANDOM_METAS):
        assert js[f"rand.metaJcs.{i}"] == jcs_hex, text
        assert js[f"rand.meta.{i}"] == digest, text


# --- server-shaped receipts, inclusion proofs, paging ---------------------------------------------

def test_server_shaped_receipt_verifies_with_inclusion_proofs(js):
    for case in ("server.ok", "server.island"):
        report = js[case]
        assert report["ok"], report["messages"]
        assert report["checks"]["deltas.inclusion"] and report["checks"]["checkpoint.window"]
        assert verify_receipt(dumps(SERVER_RECEIPT)).ok


@pytest.mark.parametrize("case, failing", [
    ("server.amount", ["deltas.fingerprints", "deltas.inclusion", "itemHashes", "itemsRoot", "netChange", "balances"]),
    ("server.proof", ["deltas.inclusion"]),
    ("server.leafIndex", ["deltas.inclusion"]),
    ("server.netChange", ["netChange"]),
    ("server.endDate", ["checkpoint.window"]),
])
def test_server_shaped_receipt_tampering(js, case, failing):
    assert js[case]["failed"] == failing, js[case]["messages"]


@pytest.mark.parametrize("case", ["paged.first", "paged.middle", "paged.last", "paged.pastEnd"])
def test_a_paged_receipt_is_reported_incomplete(js, case):
    """Paging: the lines present are checked, the whole set cannot be: fail with page.complete."""
    report = js[case]
    assert not report["ok"] and report["partial"]
    assert report["failed"] == ["page.complete"], report["messages"]
    assert "incomplete page" in report["messages"][0]
    assert report["summary"].startswith("Verification failed: incomplete page")
    for skipped in ("completeness", "netChange", "balances"):
        assert skipped not in report["checks"]
    if case != "paged.pastEnd":
        assert report["checks"]["deltas.fingerprints"] and report["checks"]["deltas.inclusion"]
        assert report["checks"]["proofRoot"] and report["checks"]["itemHashes"]


def test_a_single_page_holding_everything_verifies(js):
    assert js["paged.whole"]["ok"], js["paged.whole"]["messages"]


@pytest.mark.parametrize("case, failing", [
    ("paged.tampered", ["page.complete", "deltas.fingerprints", "deltas.inclusion", "itemHashes"]),
    ("paged.badProof", ["page.complete", "deltas.inclusion"]),
    ("paged.checkpoint", ["page.complete", "proofRoot", "anchor"]),
])
def test_a_tampered_page_names_its_failures(js, case, failing):
    assert js[case]["failed"] == failing, js[case]["messages"]
    assert "Failed checks on this page" in js[case]["summary"]


# --- the public verify data (balance-api.md §5.19) ------------------------------------------------

def test_verify_data_checkpoint_kind_verifies(js):
    report = js["vc.ok"]
    assert report["ok"] and report["kind"] == "checkpoint", report["messages"]
    assert {"proofRoot", "anchor", "ledgerId", "chainId", "deltas.fingerprints", "completeness", "itemHashes",
            "itemsRoot", "netChange", "balances"} <= set(report["checks"])
    assert js["vc.root"]["failed"] == ["proofRoot"]
    assert js["vc.amountDecimalOnly"]["ok"], js["vc.amountDecimalOnly"]["messages"]
    assert js["vc.empty"]["ok"], js["vc.empty"]["messages"]


@pytest.mark.parametrize("tamper, failing", VERIFY_CHECKPOINT_TAMPERING,
                         ids=[t.__name__ for t, _ in VERIFY_CHECKPOINT_TAMPERING])
def test_verify_data_checkpoint_kind_tampering(js, tamper, failing):
    report = js[f"vc.{tamper.__name__}"]
    assert report["failed"] == failing, report["messages"]
    assert report["ok"] == (not failing)


def test_verify_data_paged(js):
    assert js["vc.paged"]["failed"] == ["page.complete"], js["vc.paged"]["messages"]
    assert js["vb.paged"]["failed"] == ["page.complete"], js["vb.paged"]["messages"]


def test_verify_data_batch_kind_verifies(js):
    for case in ("vb.ok", "vb.single", "vb.queued"):
        report = js[case]
        assert report["ok"] and report["kind"] == "batch", report["messages"]
        assert {"batch.wellFormed", "proofHash", "anchor", "deltas.fingerprints", "completeness", "itemHashes",
                "itemsRoot", "netChange", "balances"} <= set(report["checks"])


@pytest.mark.parametrize("tamper, failing", VERIFY_BATCH_TAMPERING, ids=[t.__name__ for t, _ in VERIFY_BATCH_TAMPERING])
def test_verify_data_batch_kind_tampering(js, tamper, failing):
    report = js[f"vb.{tamper.__name__}"]
    assert report["failed"] == failing, report["messages"]
    assert report["ok"] == (not failing)


# --- the browser glue -----------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["page.ok", "page.ok.interactive", "page.verify", "page.batch"])
def test_page_result_becomes_pass(js, case):
    page = js[case]
    assert page["verification"] == "pass", page["text"]
    assert page["text"].startswith("Verification passed")
    assert page["failedChecks"] == "" and page["exposed"]
    # with readyState "loading" the script waits for DOMContentLoaded
    assert page["before"] == ("pending" if case != "page.ok.interactive" else "pass")


@pytest.mark.parametrize("case, check", [
    ("page.fail", "deltas.fingerprints"), ("page.paged", "page.complete"), ("page.noIsland", "json"),
    ("page.garbage", "json"), ("page.markup", "deltas.status"),
])
def test_page_result_becomes_fail_naming_the_check(js, case, check):
    page = js[case]
    assert page["verification"] == "fail"
    assert page["text"].startswith("Verification failed")
    assert check in page["text"] and check in page["failedChecks"].split()
    if case == "page.markup":  # markup from the data is shown as text, never parsed
        assert "<img src=x onerror=alert(1)>" in page["text"]


def test_a_thousand_line_receipt_is_fast(js):
    assert js["timing.big"]["ok"]
    assert js["timing.big"]["ms"] < 3000


# --- real pages from the embedded server ----------------------------------------------------------

ISLAND_RE = re.compile(r'<script type="application/json" id="pacspace-data">(.*?)</script>', re.S)
RESULT_RE = re.compile(r'<div id="verification-result" data-verification="pending"')


def _emit(mock, customer, amount: str, **extra) -> dict:
    body = json.dumps({"customerId": customer, "delta": "__A__", "reason": "usage </script> & <b>\u2028", **extra})
    return mock.ok("POST", "/api/v1/balance/delta", 201, data=body.replace('"__A__"', amount),
                   headers={"Content-Type": "application/json"})


def test_islands_of_served_pages_verify(mock, server):
    mock.freeze("2026-03-05T10:00:00.000Z")
    amounts = ["-100", "12.50", "1e-7", "-42", "7", "-0.25"]
    emitted = []
    for i, amount in enumerate(amounts):
        mock.clock_set(f"2026-03-05T10:00:{i:02d}.000Z")
        extra = {"metadata": {"plan": "growth", "n": i}} if i % 2 == 0 else {"referenceId": f"js-{i}"}
        emitted.append(_emit(mock, "cust_js", amount, **extra))
    mock.clock_set("2026-03-06T00:00:00.000Z")
    mock.ok("GET", "/api/v1/balance/invoice-proof/cust_js", params={"period": "2026-03"})
    mock.clock_set("2026-03-06T00:00:05.000Z")
    receipt = mock.ok("GET", "/api/v1/balance/invoice-proof/cust_js", params={"period": "2026-03"})
    assert receipt["status"] == "VERIFIED"

    pages = {
        "receipt": f"/receipt/{receipt['checkpointId']}",
        "verify.checkpoint": f"/verify/{receipt['proofRoot']}",
        "verify.batch": f"/verify/{emitted[1]['receiptId']}",
    }
    tasks, islands = [], {}
    for name, path in pages.items():
        response = requests.get(server.url + path)
        assert response.status_code == 200, (path, response.text[:300])
        assert RESULT_RE.search(response.text), "the served result element must start pending"
        match = ISLAND_RE.search(response.text)
        assert match, path
        islands[name] = match.group(1)
        assert "</script" not in islands[name].lower()
        tasks.append([f"{name}.page", "page", islands[name], "loading"])
        tasks.append([f"{name}.verify", "verify", islands[name]])
    # a paged public receipt: verified as far as it goes, reported incomplete
    paged = requests.get(f"{server.url}/api/v1/receipt/{receipt['checkpointId']}", params={"limit": 2, "offset": 2})
    tasks.append(["paged", "verify", paged.text])
    # the island with one amount changed by hand
    changed = islands["receipt"].replace('"delta":-42,', '"delta":-43,', 1)
    assert changed != islands["receipt"]
    tasks.append(["changed", "page", changed, "complete"])

    results = run_node(tasks)
    for name in pages:
        assert results[f"{name}.page"]["verification"] == "pass", results[f"{name}.verify"]["messages"]
        assert results[f"{name}.verify"]["ok"], results[f"{name}.verify"]["messages"]
    assert results["receipt.verify"]["checks"]["deltas.inclusion"]
    assert results["verify.batch.verify"]["kind"] == "batch"
    assert results["paged"]["failed"] == ["page.complete"], results["paged"]["messages"]
    assert results["changed"]["verification"] == "fail"
    assert "deltas.fingerprints" in results["changed"]["failedChecks"].split()
