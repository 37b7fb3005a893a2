"""Signature of a delivery (balance-api.md §7.5): v1=hex(HMAC-SHA256(secret, "<timestamp>.<body>"))."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: int | str, body: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.{body}".encode("utf-8"), hashlib.sha256).hexdigest()
    return "v1=" + digest


def signature_header(secrets: list[str], timestamp: int | str, body: str) -> str:
    """Current secret first, then the previous one during a rotation overlap."""
    return ",".join(sign(s, timestamp, body) for s in secrets)
