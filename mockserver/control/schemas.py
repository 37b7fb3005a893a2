"""Request models of the control plane (balance-api.md §8): clock, settings, seed, fault rules,
webhook configuration, drain, keys, and the journal's and outbox's query parameters.

Like the API's (api/schemas.py), every rule raises the contract's reason with a message naming
the field, unknown members are refused with the accepted ones listed, and a body must be a JSON
object (`null` is refused). One name means one thing: clock/set and clock/freeze both take the
instant as `at` (clock/set still accepts its first name, `now`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from ..faults import CHAIN_ROUTES, ERROR_CODES, EVENT_TYPES, FAIL_VERIFICATION_ROUTES
from ..operations import ROUTE_NAMES
from ..proofs.primitives import fraction_digits, parse_rfc3339
from ..runtime import parse_api_key
from ..errors import ApiError
from ..validation import Body, Query, QueryBool, fail, is_decimal, query_enum, query_int

# --- shared field types -----------------------------------------------------------------------------

def whole(lo: int, hi: int, nullable: bool = False, json_default: Any = None) -> Any:
    """A JSON integer within [lo, hi] (`null` too when nullable)."""
    def check(value: Any) -> Any:
        if value is None and nullable:
            return None
        if not is_decimal(value) or value != value.to_integral_value():
            raise fail("type", "{field} must be a whole number" + (" or null" if nullable else ""))
        if not lo <= value <= hi:
            raise fail("range", f"{{field}} must be between {lo} and {hi}")
        return int(value)

    schema: dict[str, Any] = {"type": ["integer", "null"] if nullable else "integer", "minimum": lo, "maximum": hi}
    return Annotated[Optional[int], BeforeValidator(check), WithJsonSchema(schema)]


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail("type", "{field} must be true or false")
    return value


Bool = Annotated[Optional[bool], BeforeValidator(boolean), WithJsonSchema({"type": "boolean"})]


def _instant(value: Any) -> int:
    if not isinstance(value, str):
        raise fail("type", "{field} must be an RFC 3339 timestamp")
    try:
        return parse_rfc3339(value)
    except ValueError as exc:
        raise fail("format", "{field}: {value}", value=str(exc)) from None


Instant = Annotated[Optional[int], BeforeValidator(_instant),
                    WithJsonSchema({"type": "string", "format": "date-time"})]


def text(max_length: int, nullable: bool = False) -> Any:
    def check(value: Any) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value:
            raise fail("type", f"{{field}} must be a string of 1-{max_length} characters")
        if len(value) > max_length:
            raise fail("too_long", f"{{field}} must be at most {max_length} characters")
        return value

    return Annotated[Optional[str], BeforeValidator(check), WithJsonSchema({"type": "string",
                                                                                   "maxLength": max_length})]


def choice(*allowed: str) -> Any:
    def check(value: Any) -> str:
        if value not in allowed:
            raise fail("format", "{field} must be one of " + ", ".join(allowed))
        return value

    return Annotated[Optional[str], BeforeValidator(check), WithJsonSchema({"type": "string", "enum": list(allowed)})]


def an_object(model_name: str):
    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            raise fail("type", f"{{field}} must be an object ({model_name})")
        return value

    return BeforeValidator(check)


# --- clock (§8.3) ----------------------------------------------------------------------------------

TEN_YEARS_MONTHS = 120  # at most 10 (calendar) years ahead: checked against the clock by the handler


class ClockSetBody(Body):
    at: Instant = None
    now: Instant = None  # the first name of `at`; still accepted

    @model_validator(mode="after")
    def _one_instant(self) -> "ClockSetBody":
        if self.at is None and self.now is None:  # named as the contract documents it (§8.3)
            raise fail("required", "{field} must be an RFC 3339 timestamp (also accepted as at)", member="now")
        if self.at is not None and self.now is not None and self.at != self.now:
            raise fail("conflict", "{field}: give the instant once, as at (its older name is now)", member="at")
        return self

    @property
    def target(self) -> int:
        return self.at if self.at is not None else self.now

    @property
    def field(self) -> str:
        return "at" if self.at is not None else "now"


def _seconds(value: Any) -> Decimal:
    if not is_decimal(value):
        raise fail("type", "{field} must be a number")
    # bounded before any arithmetic, and exact: 1e999999 must not become a million-digit integer,
    # 1e-999999999 must not underflow to a silent zero, and 1.0000000000000000000000000001 is not
    # a whole millisecond although `value * 1000` rounds it to one in a 28-digit context
    if value <= 0 or value.adjusted() > 9 or fraction_digits(value) > 3:
        raise fail("range", "{field} must be > 0, at most 10 years, in whole milliseconds")
    return Decimal(value)


class ClockAdvanceBody(Body):
    seconds: Annotated[Optional[Decimal], BeforeValidator(_seconds), WithJsonSchema({"type": "number"})] = None
    until: Instant = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("seconds" in data) == ("until" in data) and set(data) <= {"seconds", "until"}:
            raise fail("required", "give exactly one of seconds or until", member="seconds")
        return data


class ClockFreezeBody(Body):
    at: Instant = None


# --- settings (§8.4) --------------------------------------------------------------------------------

ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z")


def _delay(value: Any) -> Any:
    if not is_decimal(value):
        raise fail("type", "{field} must be a number")
    if not 0 <= value <= 86400 or fraction_digits(value) > 3:  # exact, never rounded (see _seconds)
        raise fail("range", "{field} must be 0-86400 seconds in whole milliseconds")
    return int(value) if value == value.to_integral_value() else float(value)


def _origin(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not ORIGIN_RE.match(value):
        raise fail("format", "{field} must be null or http(s)://host[:port]")
    return value


def _embed(value: Any) -> list[str]:
    message = "{field} must be a list of up to 20 http(s) origins"
    if not isinstance(value, list):
        raise fail("type", message)
    if len(value) > 20:
        raise fail("range", message)
    if not all(isinstance(v, str) and ORIGIN_RE.match(v) for v in value):
        raise fail("format", message)
    return value


Delay = Annotated[Optional[Any], BeforeValidator(_delay), WithJsonSchema({"type": "number", "minimum": 0,
                                                                                    "maximum": 86400})]


class LimitsPatch(Body):
    maxScopeMonths: whole(1, 1200) = None
    maxLastNDays: whole(1, 36500) = None
    maxRetentionDays: whole(1, 36500) = None


class SettingsPatch(Body):
    """Any subset of the settings; a member given as null means null (where that is allowed)."""

    seed: whole(0, 2**63 - 1) = None
    processingDelaySeconds: Delay = None
    verifyDelaySeconds: Delay = None
    sharedRecord: Bool = None
    strictMode: Bool = None
    cadenceLimitSeconds: whole(1, 604800, nullable=True) = None
    planAllotment: whole(0, 10**9, nullable=True) = None
    limits: Annotated[Optional[LimitsPatch], an_object("maxScopeMonths, maxLastNDays, maxRetentionDays")] = None
    publicOrigin: Annotated[Optional[str], BeforeValidator(_origin),
                            WithJsonSchema({"type": ["string", "null"]})] = None
    webhookDelivery: choice("auto", "manual") = None
    webhookTimestampClock: choice("wall", "virtual") = None
    idempotencyTtlSeconds: whole(1, 604800) = None
    journalSize: whole(10, 100000) = None
    embedOrigins: Annotated[Optional[list[str]], BeforeValidator(_embed)] = None

    def changes(self) -> dict[str, Any]:
        """The members given, with their checked values (limits: only the limits given)."""
        out = {name: getattr(self, name) for name in self.model_fields_set}
        if "limits" in out:
            out["limits"] = {name: getattr(self.limits, name) for name in self.limits.model_fields_set}
        return out


class SeedBody(Body):
    seed: whole(0, 2**63 - 1)

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        if isinstance(data, dict) and "seed" not in data and set(data) <= {"seed"}:
            raise fail("required", "seed is required", member="seed")
        return data


# --- fault rules (§8.6) -----------------------------------------------------------------------------

def _route(value: Any) -> Any:
    if value is not None and value not in ROUTE_NAMES:
        raise fail("format", "{field} {value} is not a route name", value=repr(value))
    return value


def _event(value: Any) -> Any:
    if value is not None and value not in EVENT_TYPES:
        raise fail("format", "{field} must be one of " + ", ".join(EVENT_TYPES))
    return value


MatchText = text(2048, nullable=True)


class Match(Body):
    method: MatchText = None
    route: Annotated[MatchText, BeforeValidator(_route)] = None
    path: MatchText = None
    customerId: MatchText = None
    event: Annotated[MatchText, BeforeValidator(_event)] = None

    @model_validator(mode="after")
    def _something(self) -> "Match":
        if self.method is None and self.route is None and self.path is None and self.event is None:
            raise fail("required", "match needs at least one of method, route, path or event")
        if self.method is not None:
            self.method = self.method.upper()
        return self


RetryAfter = whole(0, 86_400)
Message = text(500)


class LatencyAction(Body):
    type: Literal["latency"]
    ms: whole(1, 60_000)

    def stored(self) -> dict[str, Any]:
        return {"type": self.type, "ms": self.ms}


class RateLimitedAction(Body):
    type: Literal["rate_limited"]
    retryAfterSeconds: RetryAfter = 5
    message: Message = None

    def stored(self) -> dict[str, Any]:
        return _without_none({"type": self.type, "retryAfterSeconds": self.retryAfterSeconds, "message": self.message})


class CadenceLimitAction(RateLimitedAction):
    type: Literal["cadence_limit"]
    retryAfterSeconds: RetryAfter = 120


def _error_status(value: Any) -> int:
    status = whole_int(value, 400, 599)
    if status not in ERROR_CODES:
        raise fail("range", "{field} must be one of 402, 403, 412, 500, 502, 503")
    return status


def _drop_status(value: Any) -> int:
    status = whole_int(value, 500, 503)
    if status not in (500, 502, 503):
        raise fail("range", "{field} must be 500, 502 or 503")
    return status


def whole_int(value: Any, lo: int, hi: int) -> int:
    if not is_decimal(value) or value != value.to_integral_value():
        raise fail("type", "{field} must be a whole number")
    if not lo <= value <= hi:
        raise fail("range", f"{{field}} must be between {lo} and {hi}")
    return int(value)


class ErrorAction(Body):
    type: Literal["error"]
    status: Annotated[int, BeforeValidator(_error_status), WithJsonSchema({"enum": sorted(ERROR_CODES)})]
    code: text(64) = None
    message: Message = None
    retryAfterSeconds: RetryAfter = None

    def stored(self) -> dict[str, Any]:
        return _without_none({"type": self.type, "status": self.status, "code": self.code or ERROR_CODES[self.status],
                              "retryAfterSeconds": self.retryAfterSeconds, "message": self.message})


class CommitThenDropAction(Body):
    type: Literal["commit_then_drop"]
    status: Annotated[int, BeforeValidator(_drop_status), WithJsonSchema({"enum": [500, 502, 503]})] = 503
    retryAfterSeconds: RetryAfter = None

    def stored(self) -> dict[str, Any]:
        return _without_none({"type": self.type, "status": self.status, "retryAfterSeconds": self.retryAfterSeconds})


class FailVerificationAction(Body):
    type: Literal["fail_verification"]
    message: Message = None

    def stored(self) -> dict[str, Any]:
        return _without_none({"type": self.type, "message": self.message})


class ChainUnavailableAction(Body):
    type: Literal["chain_unavailable"]

    def stored(self) -> dict[str, Any]:
        return {"type": self.type}


class WebhookFailureAction(Body):
    type: Literal["webhook_failure"]
    status: whole(100, 599) = 500
    timeout: Bool = False

    def stored(self) -> dict[str, Any]:
        return {"type": self.type, "timeout": True} if self.timeout else {"type": self.type, "timeout": False,
                                                                             "status": self.status}


ACTION_MODELS = {m.model_fields["type"].annotation.__args__[0]: m for m in (
    LatencyAction, RateLimitedAction, CadenceLimitAction, ErrorAction, CommitThenDropAction, FailVerificationAction,
    ChainUnavailableAction, WebhookFailureAction)}


def _action_type(value: Any) -> Any:
    if not isinstance(value, dict):
        raise fail("type", "{field} must be an object")
    if not isinstance(value.get("type"), str) or value["type"] not in ACTION_MODELS:  # [] is unhashable
        raise fail("format", "{field} must be one of " + ", ".join(ACTION_MODELS), member="type")
    return value


Action = Annotated[Union[LatencyAction, RateLimitedAction, CadenceLimitAction, ErrorAction, CommitThenDropAction,
                         FailVerificationAction, ChainUnavailableAction, WebhookFailureAction],
                   Field(discriminator="type"), BeforeValidator(_action_type)]


def _nth(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, list):
        raise fail("type", "{field} must be null or a list of 1-1000 positive integers")
    if not 1 <= len(value) <= 1000:
        raise fail("range", "{field} must be null or a list of 1-1000 positive integers")
    return value


def _probability(value: Any) -> Any:
    if value is None:
        return None
    if not is_decimal(value) or not 0 <= value <= 1:
        raise fail("range", "{field} must be null or a number in [0, 1]")
    return float(value) + 0.0  # -0 is 0


def _actions(value: Any) -> Any:
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        raise fail("required", "{field}: list one action, or latency plus one other")
    return value


class FaultRuleBody(Body):
    match: Annotated[Match, an_object("method, route, path, customerId, event")]
    nth: Annotated[Optional[list[whole(1, 10**12)]], BeforeValidator(_nth)] = None
    times: whole(1, 10**12, nullable=True) = None
    probability: Annotated[Optional[float], BeforeValidator(_probability),
                           WithJsonSchema({"type": ["number", "null"], "minimum": 0, "maximum": 1})] = None
    actions: Annotated[list[Action], BeforeValidator(_actions)]
    description: text(200, nullable=True) = None

    @model_validator(mode="before")
    @classmethod
    def _required(cls, data: Any) -> Any:
        if isinstance(data, dict) and not isinstance(data.get("match"), dict) and set(data) <= set(cls.model_fields):
            raise fail("required", "match is required: an object with method, route, path or event", member="match")
        return data

    @model_validator(mode="after")
    def _combinations(self) -> "FaultRuleBody":
        kinds = [a.type for a in self.actions]
        if len(kinds) == 2 and kinds.count("latency") != 1:
            raise fail("conflict", "actions: only latency may accompany another action", member="actions")
        response = [k for k in kinds if k != "latency"]
        webhook_rule = self.match.event is not None or "webhook_failure" in kinds
        if webhook_rule and (response != ["webhook_failure"] or "latency" in kinds):
            raise fail("not_allowed", "actions: a webhook rule (match.event or webhook_failure) takes only"
                                      " webhook_failure", member="actions")
        if self.match.event is None and "webhook_failure" in kinds and self.match.route is not None:
            raise fail("not_allowed", "actions: webhook_failure applies to webhook attempts, not to routes",
                       member="actions")
        if "fail_verification" in kinds and self.match.route not in FAIL_VERIFICATION_ROUTES:
            raise fail("not_allowed", "actions: fail_verification needs match.route balance.emit, balance.emit_batch"
                                      " or balance.checkpoint", member="actions")
        if "chain_unavailable" in kinds and self.match.route not in CHAIN_ROUTES:
            raise fail("not_allowed", "actions: chain_unavailable needs match.route public.verify or page.verify",
                       member="actions")
        return self

    def stored(self) -> dict[str, Any]:
        """The rule as stored and replied (§8.6): defaults filled, every match member present."""
        return {"match": self.match.model_dump(), "nth": self.nth, "times": self.times,
                "probability": self.probability, "actions": [a.stored() for a in self.actions],
                "description": self.description}


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# --- webhooks, drain, keys (§8.8, §8.9) --------------------------------------------------------------

URL_RE = re.compile(r"https?://[^\s/?#]+[^\s]*")
SECRET_RE = re.compile(r"whsec_[A-Za-z0-9_-]{4,122}")


def _url(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or len(value) > 2048 or not URL_RE.fullmatch(value)):
        raise fail("format", "{field} must be null or an http(s) URL of at most 2048 characters")
    return value


def _secret(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or not SECRET_RE.fullmatch(value)):
        raise fail("format", "{field} must be whsec_ followed by 4-122 characters of A-Z a-z 0-9 _ -")
    return value


class WebhookConfigBody(Body):
    url: Annotated[Optional[str], BeforeValidator(_url), WithJsonSchema({"type": ["string", "null"],
                                                                                   "maxLength": 2048})] = None
    secret: Annotated[Optional[str], BeforeValidator(_secret), WithJsonSchema({"type": ["string", "null"]})] = None
    rotateSecret: Bool = False


class DrainBody(Body):
    force: Bool = False


def _key(value: Any) -> str:
    try:
        parse_api_key(value if isinstance(value, str) else None)
    except ApiError:
        raise fail("format", "{field} must be a full API key: pk_test_… or pk_live_…") from None
    return value


class KeyBody(Body):
    key: Annotated[Optional[str], BeforeValidator(_key), WithJsonSchema({"type": "string"})] = None
    active: Bool = True

    @model_validator(mode="after")
    def _required(self) -> "KeyBody":
        if self.key is None:
            raise fail("format", "{field} must be a full API key: pk_test_… or pk_live_…", member="key")
        return self


# --- query parameters ---------------------------------------------------------------------------------

class JournalQuery(Query):
    limit: query_int(1, 1000) = 100
    route: Optional[str] = None
    status: query_int(100, 599) = None
    sinceSeq: query_int(0, 2**62) = None
    # recorded exchanges: by what the request named, by its virtual time, with bodies on request
    customerId: Optional[str] = None
    referenceId: Optional[str] = None
    since: Instant = None  # at or after (the workspace's virtual clock)
    until: Instant = None  # before
    exchange: QueryBool = False


class OutboxQuery(Query):
    event: Optional[str] = None
    deliveryStatus: query_enum("pending", "delivered", "failed") = None
    limit: query_int(1, 1000) = 100
    offset: query_int(0, 1_000_000_000) = 0
