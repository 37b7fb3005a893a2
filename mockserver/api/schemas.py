"""Request models of the Balance API, public and dashboard routes (balance-api.md §1.8, §5): the
JSON bodies and the query parameters. Each field type is declared once, with the contract's
rule, and raises an error whose type is the contract's `details.reason` (see validation.py).

Bodies are parsed by us first (exact decimals, duplicate members rejected), then validated here;
unknown members and parameters are refused. Scope parameters are checked in the contract's order
(§2.3) before any other field (`ScopeQuery`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Optional

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from ..ledger.scope import PERIOD_RE, read_scope
from ..jsonout import dumpb
from ..proofs.objects import MetadataError, metadata_to_json_value
from ..proofs.primitives import amount_problem, canonical_decimal, delta_amount_problem, jcs
from ..validation import Body, Query, fail, query_enum, query_int, text
from ..validation import QueryBool

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
    """§1.8 metadata. Stored and returned as submitted: its numbers keep their literal text
    (`JSONNumber`), and are hashed as the doubles they stand for (proofs.md §2.4). The 8 192-byte
    bound holds for both forms, the compact text as submitted and the canonical (JCS) one, and the
    first is checked before any number is converted: no literal is ever expanded into digits."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fail("type", "{field} must be a JSON object or null")
    if _depth(value) > MAX_METADATA_DEPTH:
        raise fail("range", f"{{field}} must not nest deeper than {MAX_METADATA_DEPTH}")
    if not _strings_ok(value):
        raise fail("format", "{field} contains an invalid (lone surrogate) string")
    if len(dumpb(value)) > MAX_METADATA_BYTES:
        raise fail("too_long", f"{{field}} must be at most {MAX_METADATA_BYTES} bytes as submitted")
    try:
        json_value = metadata_to_json_value(value, path="")
    except MetadataError as exc:
        raise fail("range", "{field} {value}", member=exc.path, value=_metadata_problem(exc.problem)) from None
    if len(jcs(json_value)) > MAX_METADATA_BYTES:
        raise fail("too_long", f"{{field}} must be at most {MAX_METADATA_BYTES} bytes when serialized canonically")
    return value


def _metadata_problem(problem: str) -> str:
    """'number 1e999 overflows a double' -> 'must be a finite double: 1e999 overflows one'."""
    if problem.startswith("integer "):
        return "must be an integer within ±(2^53−1) (an integer literal is hashed exactly): " + problem[8:]
    if problem.startswith("number ") and problem.endswith(" overflows a double"):
        return "must be a finite double: " + problem[7:]
    return problem


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
            raise fail("format", "{field} key {value} is not a date YYYY-MM-DD", value=repr(day)) from None
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
NUMBER = WithJsonSchema({"type": "number"})  # a JSON number, read as an exact Decimal
DeltaAmount = Annotated[Decimal, BeforeValidator(check_delta), NUMBER]
Amount = Annotated[Decimal, BeforeValidator(check_amount), NUMBER]
Reason = Annotated[str, BeforeValidator(check_reason)]
ReferenceId = Annotated[Optional[str], BeforeValidator(check_reference_id)]
Metadata = Annotated[Optional[dict], BeforeValidator(check_metadata)]
Adjusts = Annotated[Optional[dict], BeforeValidator(check_adjusts)]
Fingerprint = Annotated[str, BeforeValidator(check_fingerprint)]
Breakdown = Annotated[Optional[dict], BeforeValidator(check_breakdown)]
ScopeValue = Annotated[Any, WithJsonSchema({"type": ["string", "null"]})]  # checked in order by read_scope
Granularity = Annotated[Optional[str], BeforeValidator(_enum("granularity", ("day", "week", "month")))]


class ApiBody(Body):
    """A body of the Balance API: `vendorAccountId` is refused by name (§1.9)."""

    @model_validator(mode="before")
    @classmethod
    def _no_vendor_account(cls, data: Any) -> Any:
        if isinstance(data, dict) and "vendorAccountId" in data:
            raise fail("not_allowed", "{field} is for billing-middleware tenants only; every mock workspace is a"
                                      " direct tenant", member="vendorAccountId")
        return data


class EmitBody(ApiBody):
    customerId: CustomerId
    delta: DeltaAmount
    reason: Reason
    referenceId: ReferenceId = None
    metadata: Metadata = None
    adjusts: Adjusts = None


class BatchBody(ApiBody):
    deltas: Annotated[list[EmitBody], Field(min_length=1, max_length=MAX_BATCH)]


class CompareBody(ApiBody):
    customerId: CustomerId
    yourBalance: Amount
    theirBalance: Amount
    startingBalance: Amount = Field(default=Decimal(0), json_schema_extra={"default": 0})
    startingCheckpoint: ScopeValue = None
    startingCheckpointType: ScopeValue = None
    period: ScopeValue = None
    timePreset: ScopeValue = None
    startDate: ScopeValue = None
    endDate: ScopeValue = None
    granularity: Granularity = None
    yourBreakdown: Breakdown = None
    theirBreakdown: Breakdown = None


class CheckpointBody(ApiBody):
    customerId: Optional[CustomerId] = None
    period: ScopeValue = None
    timePreset: ScopeValue = None
    startDate: ScopeValue = None
    endDate: ScopeValue = None
    mode: Annotated[Optional[str], BeforeValidator(_enum("mode", ("all", "selected")))] = None
    fingerprints: Optional[Annotated[list[Fingerprint], Field(min_length=1, max_length=MAX_FINGERPRINTS)]] = None

    @model_validator(mode="after")
    def _selection(self) -> "CheckpointBody":
        """§5.6: fingerprints only with mode=selected, which needs customerId and distinct fingerprints."""
        mode = self.mode or "all"
        if self.fingerprints is not None and mode != "selected":
            raise fail("not_allowed", "fingerprints are allowed only with mode=selected", member="fingerprints")
        if mode == "selected":
            if self.customerId is None:
                raise fail("required", "mode=selected needs customerId", member="customerId")
            if self.fingerprints is None:
                raise fail("required", "mode=selected needs fingerprints", member="fingerprints")
            seen: set[str] = set()
            for i, fp in enumerate(self.fingerprints):
                if fp in seen:
                    raise fail("conflict", f"fingerprints[{i}] is listed twice", member=f"fingerprints[{i}]")
                seen.add(fp)
        return self


class DashboardCustomerBody(ApiBody):
    displayName: Annotated[str, BeforeValidator(_display_name)]
    customerId: Optional[CustomerId] = None
    sharingStateHint: Annotated[Optional[str], BeforeValidator(_enum("sharingStateHint", ("INHERIT", "ENABLED", "DISABLED")))] = None
    eventCadence: Annotated[Optional[str], BeforeValidator(_enum("eventCadence", ("PER_EVENT", "HOURLY", "DAILY", "WEEKLY", "MONTHLY")))] = None
    unitLabel: Annotated[Optional[str], BeforeValidator(_unit_label)] = None


# --- query parameters --------------------------------------------------------------------------------

AMOUNT_QUERY_RE = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z")
Offset = query_int(0, 1_000_000_000)
SCOPE_PARAMETERS = ("period", "timePreset", "startDate", "endDate")


def _query_amount(value: Any) -> Decimal:
    if not isinstance(value, str) or not AMOUNT_QUERY_RE.match(value):
        raise fail("type", "{field} must be a decimal number")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise fail("type", "{field} must be a decimal number") from None
    problem = amount_problem(number) if abs(number.adjusted()) < 10_000 else "{field} is out of range"
    if problem:
        raise fail("range", problem)
    return Decimal(canonical_decimal(number))


def _query_customer_id(value: Any) -> str:
    return check_customer_id(value)


def _period(value: Any) -> str:
    if not isinstance(value, str) or not PERIOD_RE.match(value):
        raise fail("format", "{field} must be a month in the form YYYY-MM")
    return value


def _locale(value: Any) -> str:
    if not isinstance(value, str) or not LOCALE_RE.match(value):
        raise fail("format", "{field} must be a language tag such as en-US")
    return value


def _timezone(value: Any) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(value)
    except Exception:  # noqa: BLE001 - any failure means the name is not a zone we know
        raise fail("format", "{field} {value} is not an IANA zone known to the server", value=repr(value)) from None
    return value


QueryAmount = Annotated[Decimal, BeforeValidator(_query_amount), WithJsonSchema({"type": "string"})]
QueryCustomerId = Annotated[Optional[str], BeforeValidator(_query_customer_id)]
ScopeText = Annotated[Optional[str], WithJsonSchema({"type": "string"})]


class ScopeQuery(Query):
    """The scope parameters of §2: checked in the contract's order before any other field."""

    allow_checkpoint: ClassVar[bool] = False
    period: ScopeText = None
    timePreset: ScopeText = None
    startDate: ScopeText = None
    endDate: ScopeText = None

    @model_validator(mode="before")
    @classmethod
    def _scope_first(cls, data: Any) -> Any:
        if isinstance(data, dict):
            read_scope(data, allow_checkpoint=cls.allow_checkpoint)
        return data

    def has_scope(self) -> bool:
        return any(getattr(self, name) is not None for name in SCOPE_PARAMETERS)


class DeriveQuery(ScopeQuery):
    allow_checkpoint: ClassVar[bool] = True
    startingBalance: QueryAmount = Field(default=Decimal(0), json_schema_extra={"default": "0"})
    startingCheckpoint: ScopeText = None
    startingCheckpointType: ScopeText = None
    granularity: query_enum("day", "week", "month") = None
    limit: query_int(1, 1000) = 100
    offset: Offset = 0


class ReceiptQuery(ScopeQuery):
    limit: query_int(1, 1000) = 1000
    offset: Offset = 0


class CheckpointsQuery(ScopeQuery):
    customerId: QueryCustomerId = None
    limit: query_int(1, 100) = 20
    offset: Offset = 0


class CustomerPath(Query):
    """Routes addressed to a customer: a customerId that breaks its grammar is 400, not 404 (§1.10)."""

    customerId: CustomerId


class CheckpointsCompareQuery(Query):
    customerId: Annotated[str, BeforeValidator(_query_customer_id)]
    from_: Annotated[str, Field(alias="from")]
    to: str


class GapsQuery(Query):
    fromSequence: query_int(1, 2**53 - 1) = 1
    toSequence: Optional[query_int(0, 2**53 - 1)] = None
    limit: query_int(1, 1000) = 100


class CustomersQuery(Query):
    search: text(128) = None
    limit: query_int(1, 100) = 25
    page: query_int(1, 1_000_000_000) = 1


class CustomerQuery(Query):
    deltaPage: query_int(1, 1_000_000_000) = 1
    deltaLimit: query_int(1, 100) = 20
    period: Annotated[Optional[str], BeforeValidator(_period)] = None


class PageQuery25(Query):
    limit: query_int(1, 100) = 25
    offset: Offset = 0


class PageQuery1000(Query):
    limit: query_int(1, 1000) = 1000
    offset: Offset = 0


class ReceiptDocumentQuery(Query):
    customerDisplayName: QueryBool = False
    locale: Annotated[str, BeforeValidator(_locale)] = "en-US"
    timezone: Annotated[str, BeforeValidator(_timezone)] = "UTC"
    unit: text(32) = None
    limit: query_int(1, 1000) = 1000
    offset: Offset = 0


class VerifyQuery(Query):
    source: query_enum("db", "chain", "both") = "db"
    limit: query_int(1, 1000) = 1000
    offset: Offset = 0


class WebhooksQuery(Query):
    status: query_enum("pending", "delivered", "failed", lower=True) = None
    limit: query_int(1, 100) = 20
    offset: Offset = 0
