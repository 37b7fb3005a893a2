"""Deterministic identifiers (balance-api.md §9): derived from seed, workspace and counters.

No randomness anywhere: the same seed, key and request order give the same ids.
"""

from __future__ import annotations

import base64
import hashlib

from .proofs.primitives import keccak256

COUNTED_KINDS = ("rec", "chk", "evt", "req", "cust", "flt", "batch")
_PREFIX = {"rec": "rec_", "chk": "chk_", "evt": "evt_", "req": "req_", "cust": "cust_"}


def _h(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_B32_PAIRS = [a + b for a in _B32 for b in _B32]  # 10 bits at a time: half the steps


def _b32(raw: bytes) -> str:
    """RFC 4648 base32, lower case, no padding, for lengths that are multiples of 5 bytes
    (ours: 10, 15, 20). Python 3.11's base64.b32encode is pure Python and ~10 µs per id; a
    request id is made on every request."""
    if len(raw) % 5:
        return base64.b32encode(raw).decode("ascii").lower().rstrip("=")
    value = int.from_bytes(raw, "big")
    pairs = len(raw) * 8 // 10
    return "".join([_B32_PAIRS[(value >> (10 * (pairs - 1 - i))) & 1023] for i in range(pairs)])


def counted_id(kind: str, seed: int, env: str, public_id: str, n: int) -> str:
    """rec_/chk_/evt_/req_/cust_ ids: b32 of the first 15 bytes of a labelled SHA-256."""
    digest = _h(f"pacspace-mock:id:v1|{kind}|{seed}|{env}|{public_id}|{n}")
    return _PREFIX[kind] + _b32(digest[:15])


def handle_candidate(seed: int, env: str, public_id: str, customer_id: str, k: int = 0) -> str:
    text = f"pacspace-mock:handle:v1|{seed}|{env}|{public_id}|{customer_id}"
    if k:
        text += f"|{k}"
    return "cus_" + _b32(_h(text)[:10])


_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def access_code(seed: int, env: str, public_id: str, customer_id: str) -> str:
    return base36_code(_h(f"pacspace-mock:access-code:v1|{seed}|{env}|{public_id}|{customer_id}"))


def base36_code(digest: bytes) -> str:
    """Six base-36 characters from the first 8 bytes of a digest (an access code, §9)."""
    value = int.from_bytes(digest[:8], "big") % 36**6
    out = ""
    for _ in range(6):
        value, digit = divmod(value, 36)
        out = _B36[digit] + out
    return out


def webhook_secret(seed: int, env: str, public_id: str, generation: int = 0) -> str:
    return "whsec_" + _b32(_h(f"pacspace-mock:whsec:v1|{seed}|{env}|{public_id}|{generation}")[:20])


def tenant_id(public_id: str) -> str:
    return "ten_" + _b32(_h(f"pacspace-mock:tenant:v1|{public_id}")[:10])


def _eip55(hex40: str) -> str:
    check = keccak256(hex40.encode("ascii")).hex()
    return "".join(c.upper() if c.isalpha() and int(check[i], 16) >= 8 else c for i, c in enumerate(hex40))


def customer_reference(env: str, public_id: str, customer_id: str) -> tuple[str, str]:
    """(customerReference as EIP-55 address, customerPartition as decimal string)."""
    digest = keccak256(f"pacspace-mock:customer:v1|{env}|{public_id}|{customer_id}".encode("utf-8"))
    return "0x" + _eip55(digest[-20:].hex()), str(int.from_bytes(digest[:4], "big"))
