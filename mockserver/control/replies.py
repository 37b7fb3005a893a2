"""Reply models of the control plane (balance-api.md §8) and the global operations (§8.9): the
`data` member of each success reply. Same rules as mockserver.api.replies (strict types, unknown
members rejected, `X | None` exactly where the contract allows null)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field

from ..api.replies import (
    ChainId,
    Delivery,
    DeliveryError,
    Environment,
    EventType,
    FaultRuleId,
    Hash,
    NonNegInt,
    Number,
    OffsetPagination,
    PosInt,
    PublicId,
    Reply,
    RequestId,
    RouteName,
    TenantId,
    Timestamp,
    Url,
    matching,
    absent,
)

KEY_RE = r"^pk_(test|live)_[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,128})?$"
ApiKey = Annotated[str, Field(pattern=KEY_RE, max_length=256)]
Secret = Annotated[str, matching(r"^whsec_[A-Za-z0-9_-]{4,122}$", "webhook secret (§7.1)")]
Origin = Annotated[str, matching(r"^https?://[^\s/]+$", "http(s)://host[:port], no trailing /")]


# --- workspace, reset, seed (§8.1, §8.2) -----------------------------------------------------------


class WorkspaceCounts(Reply):
    customers: NonNegInt
    deltas: NonNegInt
    checkpoints: NonNegInt
    events: NonNegInt


class Workspace(Reply):
    """`GET /_mock/workspace` (§8.1)."""

    publicId: PublicId
    environment: Environment
    tenantId: TenantId
    ledgerId: Hash
    chainId: ChainId
    createdAt: Timestamp
    counts: WorkspaceCounts


class ResetReply(Reply):
    """`POST /_mock/reset` (§8.1)."""

    reset: Literal[True]
    workspace: Workspace


# --- settings (§8.4) -------------------------------------------------------------------------------


class SettingsLimits(Reply):
    maxScopeMonths: Annotated[int, Field(ge=1, le=1200)]
    maxLastNDays: Annotated[int, Field(ge=1, le=36500)]
    maxRetentionDays: Annotated[int, Field(ge=1, le=36500)]


class Settings(Reply):
    """The settings object (§8.4); also the seed reply (§8.2)."""

    seed: Annotated[int, Field(ge=0, le=2**63 - 1)]
    processingDelaySeconds: Number
    verifyDelaySeconds: Number
    sharedRecord: bool
    strictMode: bool
    cadenceLimitSeconds: Optional[Annotated[int, Field(ge=1, le=604_800)]]
    planAllotment: Optional[Annotated[int, Field(ge=0, le=10**9)]]
    limits: SettingsLimits
    publicOrigin: Optional[Origin]
    webhookDelivery: Literal["auto", "manual"]
    webhookTimestampClock: Literal["wall", "virtual"]
    idempotencyTtlSeconds: Annotated[int, Field(ge=1, le=604_800)]
    journalSize: Annotated[int, Field(ge=10, le=100_000)]
    embedOrigins: Annotated[list[Origin], Field(max_length=20)]


# --- clock (§8.3) ----------------------------------------------------------------------------------


class Clock(Reply):
    """The clock object: `offsetMs` is 0 in `real` mode and `null` when frozen."""

    now: Timestamp
    mode: Literal["real", "offset", "frozen"]
    offsetMs: Optional[int]


class ClockProcessed(Reply):
    transitions: NonNegInt
    events: NonNegInt
    deliveryAttempts: NonNegInt
    delivered: NonNegInt
    failed: NonNegInt


class ClockMove(Reply):
    """Reply of `clock/set` and `clock/advance` (§8.3)."""

    previous: Timestamp
    now: Timestamp
    mode: Literal["real", "offset", "frozen"]
    offsetMs: Optional[int]
    processed: ClockProcessed


# --- faults (§8.6) ---------------------------------------------------------------------------------


class FaultMatch(Reply):
    """Every criterion is present, `null` when unset."""

    method: Optional[str]
    route: Optional[RouteName]
    path: Optional[str]
    customerId: Optional[str]
    event: Optional[EventType]


class LatencyAction(Reply):
    type: Literal["latency"]
    ms: Annotated[int, Field(ge=1, le=60_000)]


class RateLimitedAction(Reply):
    type: Literal["rate_limited"]
    retryAfterSeconds: NonNegInt
    message: str = absent()


class CadenceLimitAction(Reply):
    type: Literal["cadence_limit"]
    retryAfterSeconds: NonNegInt
    message: str = absent()


class ErrorAction(Reply):
    type: Literal["error"]
    status: Literal[402, 403, 412, 500, 502, 503]
    code: str
    message: str = absent()
    retryAfterSeconds: NonNegInt = absent()


class CommitThenDropAction(Reply):
    type: Literal["commit_then_drop"]
    status: Literal[500, 502, 503]
    retryAfterSeconds: NonNegInt = absent()


class FailVerificationAction(Reply):
    type: Literal["fail_verification"]
    message: str = absent()


class ChainUnavailableAction(Reply):
    type: Literal["chain_unavailable"]


class WebhookFailureAction(Reply):
    """`status` is omitted when `timeout` is true."""

    type: Literal["webhook_failure"]
    timeout: bool
    status: Annotated[int, Field(ge=100, le=599)] = absent()


FaultAction = Annotated[
    Union[LatencyAction, RateLimitedAction, CadenceLimitAction, ErrorAction, CommitThenDropAction,
          FailVerificationAction, ChainUnavailableAction, WebhookFailureAction],
    Field(discriminator="type"),
]


class FaultRule(Reply):
    """A fault rule as replied: the request members with defaults filled, plus `ruleId`,
    `matched`, `fired`, `createdAt` (§8.6)."""

    ruleId: FaultRuleId
    match: FaultMatch
    nth: Optional[Annotated[list[PosInt], Field(min_length=1, max_length=1000)]]
    times: Optional[PosInt]
    probability: Optional[Number]
    actions: Annotated[list[FaultAction], Field(min_length=1, max_length=2)]
    description: Optional[Annotated[str, Field(max_length=200)]]
    matched: NonNegInt
    fired: NonNegInt
    createdAt: Timestamp


class FaultRules(Reply):
    """`GET /_mock/faults`."""

    rules: list[FaultRule]


class FaultDeleted(Reply):
    """`DELETE /_mock/faults/{ruleId}`."""

    deleted: FaultRuleId


class Cleared(Reply):
    """`DELETE /_mock/faults`, `DELETE /_mock/journal`."""

    cleared: NonNegInt


# --- journal (§8.7) --------------------------------------------------------------------------------


class JournalFault(Reply):
    ruleId: FaultRuleId
    actions: Annotated[list[Literal["latency", "rate_limited", "cadence_limit", "error", "commit_then_drop",
                                    "fail_verification", "chain_unavailable", "webhook_failure"]],
                       Field(min_length=1, max_length=2)]


class ExchangeBody(Reply):
    body: Optional[str]
    bodySize: NonNegInt
    truncated: bool
    binary: Optional[bool] = None
    parsed: Any = None  # the body parsed (exact decimals) when it is whole JSON


class ExchangeRequest(ExchangeBody):
    method: str
    path: str
    query: str
    headers: dict[str, str]


class ExchangeResponse(ExchangeBody):
    status: Annotated[int, Field(ge=100, le=599)]
    headers: dict[str, str]


class Exchange(Reply):
    """What a journaled request sent and got back (`GET /_mock/journal?exchange=true`)."""

    request: ExchangeRequest
    response: ExchangeResponse


class JournalEntry(Reply):
    seq: PosInt
    requestId: RequestId
    at: Timestamp
    method: str
    path: str
    query: str
    route: RouteName
    status: Annotated[int, Field(ge=100, le=599)]
    latencyMs: NonNegInt
    customerId: Optional[str]
    idempotencyKey: Optional[str]
    idempotentReplay: bool
    errorCode: Optional[str]
    fault: Optional[JournalFault]
    userAgent: Optional[str]
    chainId: Optional[str]
    exchange: Optional[Exchange] = None  # only with exchange=true (null: recorded before exchanges were)


class JournalList(Reply):
    """`GET /_mock/journal`."""

    entries: list[JournalEntry]
    total: NonNegInt


# --- webhook configuration, outbox, drain (§8.8) -------------------------------------------------------


class WebhookConfig(Reply):
    url: Optional[Url]
    mode: Literal["capture", "http"]
    secret: Secret
    previousSecret: Optional[Secret]
    previousSecretExpiresAt: Optional[Timestamp]


class AttemptLogEntry(Reply):
    attempt: PosInt
    at: Timestamp
    url: Optional[Url]
    captured: bool
    timestamp: Annotated[str, matching(r"^(0|[1-9][0-9]*)$", "X-PacSpace-Timestamp as sent")]
    signature: Annotated[str, matching(r"^v1=[0-9a-f]{64}(,v1=[0-9a-f]{64})?$", "X-PacSpace-Signature as sent")]
    responseStatus: Optional[Annotated[int, Field(ge=100, le=599)]]
    error: Optional[DeliveryError]
    durationMs: NonNegInt
    faultRuleId: Optional[FaultRuleId]


class OutboxEntry(Delivery):
    """An outbox entry: the Delivery object plus `body` (the exact body) and `attemptLog`."""

    body: str
    attemptLog: list[AttemptLogEntry]


class Outbox(Reply):
    """`GET /_mock/webhooks/outbox`."""

    entries: list[OutboxEntry]
    pagination: OffsetPagination


class DrainReply(Reply):
    """`POST /_mock/webhooks/drain`."""

    attempted: NonNegInt
    delivered: NonNegInt
    failed: NonNegInt
    pending: NonNegInt


# --- global operations (§8.9) ----------------------------------------------------------------------


class Health(Reply):
    status: Literal["ok"]
    version: str
    strict: bool
    workspaces: NonNegInt
    storage: Literal["file", "memory"]


class WorkspaceListItem(Reply):
    publicId: PublicId
    environment: Environment
    tenantId: TenantId
    createdAt: Timestamp
    deltaCount: NonNegInt


class WorkspaceList(Reply):
    workspaces: list[WorkspaceListItem]


class KeyRow(Reply):
    key: ApiKey
    environment: Environment
    publicId: PublicId
    active: bool


class KeyList(Reply):
    keys: list[KeyRow]


class KeyDeleted(Reply):
    deleted: ApiKey


class StateImported(Reply):
    imported: Literal[True]
    workspaces: NonNegInt
