"""Signature of a delivery (balance-api.md §7.5): v1=hex(HMAC-SHA256(secret, "<timestamp>.<body>"))."""

from __future__ import annotations

import hmac


def sign(secret: str, timestamp: int | str, body: str | bytes) -> str:
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    return "v1=" + hmac.digest(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + raw, "sha256").hex()


def signature_header(secrets: list[str], timestamp: int | str, body: str | bytes) -> str:
    """Current secret first, then the previous one during a rotation overlap."""
    return ",".join(sign(s, timestamp, body) for s in secrets)


class Signer:
    """signature_header for many bodies with the same secrets and timestamp: the HMAC state after
    the key and the "<timestamp>." prefix is computed once and copied for each body."""

    def __init__(self, secrets: list[str], timestamp: int | str):
        prefix = f"{timestamp}.".encode("ascii")
        self._states = []
        for secret in secrets:
            state = hmac.new(secret.encode("utf-8"), digestmod="sha256")
            state.update(prefix)
            self._states.append(state)

    def sign(self, body: bytes) -> str:
        out = []
        for state in self._states:
            h = state.copy()
            h.update(body)
            out.append("v1=" + h.hexdigest())
        return ",".join(out)
