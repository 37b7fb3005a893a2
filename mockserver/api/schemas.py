"""Request bodies as pydantic models: each field type is declared once, with the contract's rule
(balance-api.md §1.8), and raises an error whose type is the contract's `details.reason`.

Bodies are parsed by us first (exact decimals, duplicate members rejected), then validated here;
`extra="forbid"` rejects unknown members.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from ..errors import ApiError, validation
from ..jsonout import dumps_sorted
from ..proofs.objects import metadata_to_json_value
from ..proofs.primitives import canonical_decimal, delta_amount_problem, fraction_digits, significant_digits

CUSTOMER_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}\Z")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}\Z")
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
MAX_REASON = 500
MAX_REFERENCE = 256
MAX_METADATA_BYTES = 8192
MAX_METADATA_DEPTH = 5
MAX_BATCH = 100
MAX_FINGERPRINTS = 10_000
MAX_BREAKDOWN_DAYS = 800
AMOUNT_LIMIT = Decimal(10) ** 21


def fail(reason: str, template: str) -> PydanticCustomError:
    """`template` names the field as {field}; the HTTP layer fills in the request path."""
    return PydanticCustomError(reason, "{tmpl}", {"tmpl": template})


def _has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def check_customer_id(value: Any) -> str:
    if not isinstance(value, str):
        raise fail("type", "{field} must be a string")
    if len(value) > 128:
        raise fail("too_long", "{field} must be at most 128 characters")
    if not CUSTOMER_ID_RE.match(value):
        raise fail("format", "{field} must be 1-128 characters of A-Z a-z 0-9 _ . : -")
    return value


def customer_id_problem(value: str) -> tuple[str, str] | None:
    """For path parameters: (reason, message) when a customerId breaks its grammar."""
    try:
        check_customer_id(value)
    except PydanticCustomError as exc:
        return exc.type, exc.context["tmpl"].format(field="customerId")
    return None


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise fail("type", "{field} must be a number")
    return Decimal(value)


def check_delta(value: Any) -> Decimal:
    number = _number(value)
    problem = delta_amount_problem(number)
    if problem is not None:
        raise fail("range", problem.replace("delta", "{field}", 1) if number.is_zero() is False else
                   "{field} must be a non-zero number")
    return number


def amount_problem(number: Decimal) -> str | None:
    if not number.is_finite() or number.copy_abs() >= AMOUNT_LIMIT:  # exact: abs() rounds to 28 digits
        return "{field} must be a finite number with |x| < 10^21"
    if significant_digits(number) > 30:
        return "{field} has more than 30 significant digits"
    if fraction_digits(number) > 18:
        return "{field} has more than 18 digits after the point"
    return None


def check_amount(value: Any) -> Decimal:
    number = _number(value)
    problem = amount_problem(number)
    if problem:
        raise fail("range", problem)
    return Decimal(canonical_decimal(number))


def check_reason(value: Any) -> str:
    if not isinstance(value, str):
        raise fail("type", "{field} must be a string")
    if value == "":
        raise fail("required", "{field} must not be empty")
    if len(value) > MAX_REASON:
        raise fail("too_long", f"{{field}} must be at most {MAX_REASON} characters")
    if CONTROL_RE.search(value) or _has_lone_surrogate(value):
        raise fail("format", "{field} must not contain control characters")
    return value


def check_reference_id(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail("type", "{field} must be a string or null")
    if value == "" or CONTROL_RE.search(value) or _has_lone_surrogate(value):
        raise fail("format", "{field} must be a non-empty string without control characters")
    if len(value) > MAX_REFERENCE:
        raise fail("too_long", f"{{field}} must be at most {MAX_REFERENCE} characters")
    return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _strings_ok(value: Any) -> bool:
    if isinstance(value, str):
        return not _has_lone_surrogate(value)
    if isinstance(value, dict):
        return all(_strings_ok(k) and _strings_ok(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_strings_ok(v) for v in value)
    return True


def check_metadata(value: Any) -> Optional[dict]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("type", "{field} must be a JSON object or null")
    if _depth(value) > MAX_METADATA_DEPTH:
        raise fail("range", f"{{field}} must not nest deeper than {MAX_METADATA_DEPTH}")
    if not _strings_ok(value):
        raise fail("format", "{field} contains an invalid (lone surrogate) string")
    try:
        json_value = metadata_to_json_value(value)
    except ValueError as exc:
        raise fail("range", "{field}: " + str(exc).replace("{", "(").replace("}", ")")) from None
    import rfc8785

    if len(rfc8785.dumps(json_value)) > MAX_METADATA_BYTES:
        raise fail("too_long", f"{{field}} must be at most {MAX_METADATA_BYTES} bytes when serialized")
    return value


def check_adjusts(value: Any) -> Optional[dict]:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) != 1:
        raise fail("format", "{field} must be null or an object with exactly one member, referenceId or recordId")
    (member, target), = value.items()
    if member not in ("referenceId", "recordId") or not isinstance(target, str) or target == "":
        raise fail("format", "{field} must be null or an object with exactly one member, referenceId or recordId")
    return {member: target}


def check_fingerprint(value: Any) -> str:
    if not isinstance(value, str) or not HASH_RE.match(value):
        raise fail("format", "{field} must be a hash: 0x followed by 64 hex digits")
    return value.lower()


def check_breakdown(value: Any) -> Optional[dict]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("type", "{field} must be an object of YYYY-MM-DD keys and amounts")
    if len(value) > MAX_BREAKDOWN_DAYS:
        raise fail("range", f"{{field}} must have at most {MAX_BREAKDOWN_DAYS} days")
    out = {}
    from ..proofs.primitives import parse_date_or_datetime

    for day, amount in value.items():
        try:
            if not DAY_RE.match(day):
                raise ValueError(day)
            parse_date_or_datetime(day)
        except ValueError:
            raise fail("format", f"{{field}} key {day!r} is not a date YYYY-MM-DD") from None
        out[day] = check_amount(amount)
    return out


def _enum(name: str, allowed: tuple[str, ...]):
    def check(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or value not in allowed:
            raise fail("format", "{field} must be one of " + ", ".join(allowed))
        return value

    check.__name__ = f"check_{name}"
    return check


def _display_name(value: Any) -> str:
    if not isinstance(value, str):
        raise fail("type", "{field} must be a string")
    if value == "":
        raise fail("required", "{field} must not be empty")
    if len(value) > 200:
        raise fail("too_long", "{field} must be at most 200 characters")
    if CONTROL_RE.search(value) or _has_lone_surrogate(value):
        raise fail("format", "{field} must not contain control characters")
    return value


def _unit_label(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail("type", "{field} must be a string")
    if value == "" or CONTROL_RE.search(value):
        raise fail("format", "{field} must be 1-32 characters without control characters")
    if len(value) > 32:
        raise fail("too_long", "{field} must be at most 32 characters")
    return value


CustomerId = Annotated[str, BeforeValidator(check_customer_id)]
DeltaAmount = Annotated[Decimal, BeforeValidator(check_delta)]
Amount = Annotated[Decimal, BeforeValidator(check_amount)]
Reason = Annotated[str, BeforeValidator(check_reason)]
ReferenceId = Annotated[Optional[str], BeforeValidator(check_reference_id)]
Metadata = Annotated[Optional[dict], BeforeValidator(check_metadata)]
Adjusts = Annotated[Optional[dict], BeforeValidator(check_adjusts)]
Fingerprint = Annotated[str, BeforeValidator(check_fingerprint)]
Breakdown = Annotated[Optional[dict], BeforeValidator(check_breakdown)]
ScopeValue = Annotated[Any, Field(json_schema_extra={"type": ["string", "null"]})]  # checked in order by resolve_scope
Granularity = Annotated[Optional[str], BeforeValidator(_enum("granularity", ("day", "week", "month")))]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class EmitBody(Body):
    customerId: CustomerId
    delta: DeltaAmount
    reason: Reason
    referenceId: ReferenceId = None
    metadata: Metadata = None
    adjusts: Adjusts = None


class BatchBody(Body):
    deltas: Annotated[list[EmitBody], Field(min_length=1, max_length=MAX_BATCH)]


class CompareBody(Body):
    customerId: CustomerId
    yourBalance: Amount
    theirBalance: Amount
    startingBalance: Amount = Decimal(0)
    startingCheckpoint: ScopeValue = None
    startingCheckpointType: ScopeValue = None
    period: ScopeValue = None
    timePreset: ScopeValue = None
    startDate: ScopeValue = None
    endDate: ScopeValue = None
    granularity: Granularity = None
    yourBreakdown: Breakdown = None
    theirBreakdown: Breakdown = None


class CheckpointBody(Body):
    customerId: Optional[CustomerId] = None
    period: ScopeValue = None
    timePreset: ScopeValue = None
    startDate: ScopeValue = None
    endDate: ScopeValue = None
    mode: Annotated[Optional[str], BeforeValidator(_enum("mode", ("all", "selected")))] = None
    fingerprints: Optional[Annotated[list[Fingerprint], Field(min_length=1, max_length=MAX_FINGERPRINTS)]] = None


class DashboardCustomerBody(Body):
    displayName: Annotated[str, BeforeValidator(_display_name)]
    customerId: Optional[CustomerId] = None
    sharingStateHint: Annotated[Optional[str], BeforeValidator(_enum("sharingStateHint", ("INHERIT", "ENABLED", "DISABLED")))] = None
    eventCadence: Annotated[Optional[str], BeforeValidator(_enum("eventCadence", ("PER_EVENT", "HOURLY", "DAILY", "WEEKLY", "MONTHLY")))] = None
    unitLabel: Annotated[Optional[str], BeforeValidator(_unit_label)] = None


class EmptyBody(Body):
    pass


# --- turning pydantic errors into the contract's VALIDATION_ERROR ----------------------------------

PYDANTIC_REASON = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "too_short": "range",
    "too_long": "range",
}


def field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _error_for(err: dict[str, Any], prefix: str) -> ApiError:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = prefix + field_path(loc)
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if "tmpl" in ctx:
        return validation(path, kind, ctx["tmpl"].format(field=path))
    reason = PYDANTIC_REASON.get(kind, "type")
    if kind == "missing":
        message = f"{path} is required"
    elif kind == "extra_forbidden":
        message = f"{path} is not a known field"
    elif kind in ("too_short", "too_long"):
        message = f"{path} must have between {_bounds(path)} items"
    else:
        message = f"{path} has the wrong type: {err['msg']}"
    return validation(path, reason, message)


def _bounds(path: str) -> str:
    return f"1 and {MAX_BATCH}" if path.endswith("deltas") else f"1 and {MAX_FINGERPRINTS}"


def validate_body(model: type[Body], body: Any, prefix: str = "") -> Body:
    """Validate a parsed JSON body; the first problem (in field order) becomes the 400."""
    if not isinstance(body, dict):
        raise validation(prefix or "body", "type", "the request body must be a JSON object")
    _reject_vendor(body, prefix)
    if model is BatchBody and isinstance(body.get("deltas"), list):
        for i, item in enumerate(body["deltas"]):
            if isinstance(item, dict):
                _reject_vendor(item, f"deltas[{i}].")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise _error_for(_first(errors), prefix) from None


def _reject_vendor(body: dict, prefix: str) -> None:
    if "vendorAccountId" in body:
        raise validation(
            prefix + "vendorAccountId", "not_allowed",
            f"{prefix}vendorAccountId is for billing-middleware tenants only; every mock workspace is a direct tenant",
        )


def _first(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Unknown fields first (the body's shape), then the first error in field order."""
    for err in errors:
        if err["type"] == "extra_forbidden":
            return err
    return errors[0]


def body_identity(body: Any) -> str:
    """Idempotency-Key body identity: keys sorted, no whitespace, canonical decimals (§4.2)."""
    return dumps_sorted(body)
