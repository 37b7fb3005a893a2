"""Every JSON reply checked against the schema the OpenAPI document publishes for it: the test
suite turns this on (ServerConfig.check_replies, env PACSPACE_MOCK_CHECK_REPLIES=1), so a reply
that drifts from its reply model fails the test that received it."""

from __future__ import annotations

from typing import Callable

from .api.replies import ErrorEnvelope, IdempotencyPendingEnvelope
from .operations import Operation, resolve

SUCCESS_PREFIX = '{"success":true,"data":'


def reply_checker(op: Operation) -> Callable[[int, bytes], None]:
    """Validate a JSON reply against the operation's reply model (success), the 202 pending body or
    the error envelope; a reply that breaks its schema raises (a bug, answered as a 500)."""
    model = None if op.lazy else resolve(op.reply)  # a lazy operation's model: at its first reply

    def check(status: int, payload: bytes) -> None:
        nonlocal model
        if model is None and op.reply is not None:
            model = resolve(op.reply)
        if status == 202:
            IdempotencyPendingEnvelope.model_validate_json(payload)
        elif status >= 300:
            ErrorEnvelope.model_validate_json(payload)
        elif model is not None:
            text = payload.decode("utf-8")
            if not text.startswith(SUCCESS_PREFIX):
                raise AssertionError(f"{op.key}: not a success envelope: {text[:200]}")
            model.model_validate_json(text[len(SUCCESS_PREFIX):-1])

    return check
