"""Error codes of the contract (balance-api.md §1.6) and the one exception type that carries them.

Domain code raises ApiError with a code; the HTTP layer maps the code to its status here, in one
table, so ledger/ never talks HTTP.
"""

from __future__ import annotations

from typing import Any

CODE_STATUS: dict[str, int] = {
    "VALIDATION_ERROR": 400,
    "INVALID_SCOPE_COMBINATION": 400,
    "SCOPE_TOO_WIDE": 400,
    "CLOCK_BACKWARDS": 400,
    "INVALID_API_KEY": 401,
    "UNAUTHORIZED": 401,
    "INSUFFICIENT_CREDITS": 402,
    "API_KEY_ENVIRONMENT_HOST_MISMATCH": 403,
    "NOT_FOUND": 404,
    "CUSTOMER_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "IDEMPOTENCY_CONFLICT": 409,
    "IDEMPOTENCY_KEY_REUSED": 409,
    "CUSTOMER_ALREADY_EXISTS": 409,
    "CONTRACT_NOT_DEPLOYED": 412,
    "PAYLOAD_TOO_LARGE": 413,
    "CADENCE_LIMIT": 429,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "BAD_GATEWAY": 502,
    "SERVICE_UNAVAILABLE": 503,
    "IDEMPOTENCY_PENDING": 202,
}


class ApiError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        customer_id: str | None = None,
        retry_after: int | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.customer_id = customer_id
        self.retry_after = retry_after
        self.status = status or CODE_STATUS[code]
        self.headers = headers or {}

    def to_error(self) -> dict[str, Any]:
        """The `error` member, in contract order: code, message, retryAfterSeconds, customerId, details."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            out["retryAfterSeconds"] = self.retry_after
        if self.customer_id is not None:
            out["customerId"] = self.customer_id
        if self.details is not None:
            out["details"] = self.details
        return out


def validation(field: str, reason: str, message: str) -> ApiError:
    return ApiError("VALIDATION_ERROR", message, details={"field": field, "reason": reason})


def customer_not_found(customer_id: str) -> ApiError:
    return ApiError(
        "CUSTOMER_NOT_FOUND",
        f"Customer {customer_id!r} does not exist in this workspace",
        customer_id=customer_id,
    )


def not_found(what: str) -> ApiError:
    return ApiError("NOT_FOUND", f"{what} was not found")
