"""Reply models: the `data` member of every success reply of the Balance API, the public routes and
the dashboard route, plus the envelopes (balance-api.md §1.4) and the webhook events (§7.3, §7.4).

They serve two purposes: the OpenAPI document publishes their JSON Schema, and tests validate the
exact bytes of every reply with `Model.model_validate_json(text)`. Both must accept and reject the
same replies, so every rule is written so that pydantic and JSON Schema (2020-12) agree:

* every model forbids unknown members (`extra="forbid"`);
* a member the contract always sends is required; `X | None` exactly where the contract allows
  `null` (§1.15: optional members of a field table are present, `null` when empty);
* a member the contract sometimes *omits* (the public receipt's removed members, optional members
  of the preimage objects C and B of proofs.md, `error.retryAfterSeconds`/`customerId`/`details`)
  is not required and does not accept `null` (see `absent()`);
* types are strict: integers reject `1.5`, `"1"` and `true`; booleans reject `1` and `"true"`;
  strings reject numbers; amounts are JSON numbers (`Amount`: a `Decimal` in Python whose JSON
  Schema is `{"type": "number"}`, so a string such as `"-1247"` is invalid for both validators);
  canonical decimal strings (`*Decimal`, preimage `netChange`) and `sequenceNumber` are strings;
* formats are patterns written with `[0-9]` (never `\\d`, which pydantic's regex engine reads as
  any Unicode digit); fixed-length formats also carry their length, so a JSON Schema validator
  built on Python `re` (whose `$` also matches before a final newline) rejects "…\\n" as well.

Known residual differences, inherent to JSON Schema: an integral float (`1.0`) is a valid
"integer" for JSON Schema but not for pydantic's strict int; a variable-length pattern (`CustomerId`,
`Url`, decimal strings) followed by a final newline passes a Python-`re` JSON Schema validator.

Member order follows the contract's examples; it is not validated (JSON objects are unordered).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, RootModel, WithJsonSchema, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

# --- shared annotated types -----------------------------------------------------------------------


def matching(regex: str, description: str | None = None, length: int | None = None) -> Any:
    """A pattern constraint; `length` also fixes the length, so that a JSON Schema validator whose
    regex `$` also matches before a final newline (Python `re`) still rejects "…\\n"."""
    return Field(pattern=regex, description=description, min_length=length, max_length=length)


TIMESTAMP_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
HASH_RE = r"^0x[0-9a-f]{64}$"
PERIOD_RE = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
DAY_RE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# canonical decimal string (balance-api.md §1.7, proofs.md §2.6): no exponent, no '+', no trailing
# fractional zeros, no trailing '.', no '-0', a leading 0 before '.' below 1
DECIMAL_STRING_RE = r"^(0|-?([1-9][0-9]*(\.[0-9]*[1-9])?|0\.[0-9]*[1-9]))$"

Timestamp = Annotated[str, matching(TIMESTAMP_RE, "UTC timestamp YYYY-MM-DDTHH:MM:SS.mmmZ (§1.13)", 24)]
Hash = Annotated[str, matching(HASH_RE, "0x + 64 lowercase hex digits", 66)]
Period = Annotated[str, matching(PERIOD_RE, "UTC month YYYY-MM", 7)]
Day = Annotated[str, matching(DAY_RE, "UTC day YYYY-MM-DD", 10)]
DecimalString = Annotated[str, matching(DECIMAL_STRING_RE, "canonical decimal string (§1.7)")]
SequenceNumber = Annotated[str, matching(r"^[1-9][0-9]*$", "a sequence as a decimal string")]
CustomerId = Annotated[str, matching(r"^[A-Za-z0-9_.:-]{1,128}$")]
RecordId = Annotated[str, matching(r"^rec_[a-z2-7]{24}$", "rec_ + b32 (§9)", 28)]
CheckpointId = Annotated[str, matching(r"^chk_[a-z2-7]{24}$", "chk_ + b32 (§9)", 28)]
EventId = Annotated[str, matching(r"^evt_[a-z2-7]{24}$", "evt_ + b32 (§9)", 28)]
RequestId = Annotated[str, matching(r"^req_[a-z2-7]{24}$", "req_ + b32 (§9)", 28)]
FaultRuleId = Annotated[str, matching(r"^flt_[1-9][0-9]*$", "flt_ + counter (§9)")]
Handle = Annotated[str, matching(r"^cus_[a-z2-7]{16}$", "customer handle (§9)", 20)]
TenantId = Annotated[str, matching(r"^ten_[a-z2-7]{16}$", "tenant id (§9)", 20)]
AccessCode = Annotated[str, matching(r"^[0-9A-Z]{6}$", "6-character access code (§9)", 6)]
CustomerReference = Annotated[str, matching(r"^0x[0-9a-fA-F]{40}$", "EIP-55 address (§9)", 42)]
PublicId = Annotated[str, matching(r"^[A-Za-z0-9_-]{1,64}$")]
Url = Annotated[str, matching(r"^https?://[^\s/]+(/\S*)?$", "absolute http(s) URL on the public origin")]
Host = Annotated[str, matching(r"^[^\s/]+$", "host[:port] of the public origin")]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(ge=1)]
ChainId = Literal[295, 296]
ProofScheme = Literal["pacspace-mock/v1"]
Environment = Literal["test", "live"]

#: `status` members (§3.2): only these four values exist anywhere in a reply.
DeltaStatus = Literal["QUEUED", "PROCESSING", "VERIFIED", "FAILED"]
#: a checkpoint is never PROCESSING (§3.2, §5.0.2).
CheckpointStatus = Literal["QUEUED", "VERIFIED", "FAILED"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
ScopeMode = Literal["period", "current_month", "custom", "checkpoint", "all_time"]
EventType = Literal["delta.verified", "delta.failed", "checkpoint.verified", "receipt.generated",
                    "customer.created", "customer.compare_run"]
CustomerSource = Literal["integration", "manual"]
#: Route names (§8.6): fault rule `match.route` and journal `route`.
RouteName = Literal[
    "balance.emit", "balance.emit_batch", "balance.delta_status", "balance.derive", "balance.compare",
    "balance.checkpoint", "balance.checkpoints_list", "balance.checkpoints_compare", "balance.receipt",
    "balance.invoice_proof", "balance.gaps", "balance.usage", "balance.limits", "balance.customers_list",
    "balance.customers_summary", "balance.customer", "balance.customer_receipts", "balance.receipt_document",
    "public.verify", "public.receipt", "public.receipt_pdf", "balance.webhooks_list", "balance.webhook_retry",
    "dashboard.customers_create", "page.shared_record", "page.receipt", "page.verify",
]
Side = Literal["yours", "theirs", "both"]
ResolutionCode = Literal["YOURS_DIFFERS_USE_NEUTRAL", "THEIRS_DIFFERS_USE_NEUTRAL", "BOTH_DIFFER_USE_NEUTRAL"]
Metadata = dict[str, Any]
# §5.0.5: timeout, connection_error, http_<status>, injected_<status>
DeliveryError = Annotated[str, matching(r"^(timeout|connection_error|http_[0-9]{3}|injected_[0-9]{3})$")]


def _json_number(value: Any) -> Decimal:
    """A JSON number (never a string, never a boolean), as an exact-enough Decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise PydanticCustomError("number_type", "Input should be a JSON number, not {kind}",
                                  {"kind": type(value).__name__})
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise PydanticCustomError("finite_number", "Input should be a finite number")
    return number


#: Amounts (§1.7): JSON numbers whose text is the canonical decimal. Decimal in Python; the JSON
#: Schema says number, so a string amount is invalid for both validators.
Amount = Annotated[Decimal, PlainValidator(_json_number), WithJsonSchema({"type": "number"})]
#: Other JSON numbers that are not amounts (settings delays, fault probability): same rule.
Number = Amount


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent() -> Any:
    """A member that is sometimes omitted and never `null`: absent is valid, `null` is invalid.

    The default (None) is never validated, so `null` in the input still has to match the type;
    the JSON Schema lists the member in `properties` but not in `required`, without a default.
    """
    return Field(default=None, json_schema_extra=_drop_default)


class Reply(BaseModel):
    """Base of every reply model: unknown members fail, types are strict."""

    model_config = ConfigDict(extra="forbid", strict=True)


def derived_model(name: str, base: type[BaseModel], *, drop: tuple[str, ...] = (),
                  replace: dict[str, Any] | None = None, doc: str | None = None) -> type[BaseModel]:
    """A copy of `base` without the members in `drop` and with some annotations replaced, keeping
    the member order (used for the public receipt, which removes members of the receipt)."""
    replace = replace or {}
    fields: dict[str, Any] = {}
    for field_name, info in base.model_fields.items():
        if field_name in drop:
            continue
        if field_name in replace:
            fields[field_name] = (replace[field_name], FieldInfo.merge_field_infos(info, annotation=replace[field_name]))
        else:
            fields[field_name] = (info.annotation, info)
    model = create_model(name, __base__=Reply, __doc__=doc or base.__doc__, __module__=__name__, **fields)
    return model


# --- envelopes (§1.4) -----------------------------------------------------------------------------


class ErrorBody(Reply):
    """`error` of the error envelope. `retryAfterSeconds`, `customerId` and `details` are omitted
    when they do not apply (never `null`)."""

    code: str
    message: str
    retryAfterSeconds: NonNegInt = absent()
    customerId: str = absent()
    details: dict[str, Any] = absent()


class ErrorEnvelope(Reply):
    success: Literal[False]
    error: ErrorBody


class IdempotencyPendingError(Reply):
    code: Literal["IDEMPOTENCY_PENDING"]
    message: str
    retryAfterSeconds: NonNegInt


class IdempotencyPendingEnvelope(Reply):
    """The 202 reply (§1.4, §4.2): the one 2xx reply that is not `success: true`."""

    success: Literal[False]
    error: IdempotencyPendingError


class SuccessEnvelope(Reply):
    """`{"success":true,"data":…}`; `data` is the route's reply model (the operation table names it)."""

    success: Literal[True]
    data: Any


# --- shared objects -------------------------------------------------------------------------------


class Scope(Reply):
    """The scope object (§2.6)."""

    mode: ScopeMode
    period: Optional[Period]
    startDate: Optional[Timestamp]
    endDate: Optional[Timestamp]
    startingCheckpoint: Optional[str]
    startingCheckpointType: Optional[Literal["proofRoot", "recordId"]]
    afterSequence: Optional[NonNegInt]
    defaulted: bool


class AdjustsReference(Reply):
    referenceId: str


class AdjustsRecord(Reply):
    recordId: str


#: `adjusts` (§1.8): exactly one member, `referenceId` or `recordId`.
Adjusts = Union[AdjustsReference, AdjustsRecord]


class OffsetPagination(Reply):
    """Offset-style pagination (§1.12)."""

    limit: PosInt
    offset: NonNegInt
    total: NonNegInt
    hasMore: bool


class PagePagination(Reply):
    """Page-style pagination (§1.12)."""

    total: NonNegInt
    page: PosInt
    limit: PosInt
    totalPages: NonNegInt


class Delta(Reply):
    """Delta object (§5.0.1): delta status; derive rows."""

    recordId: RecordId
    status: DeltaStatus
    receiptId: Hash
    customerId: CustomerId
    delta: Amount
    reason: str
    referenceId: Optional[str]
    metadata: Optional[Metadata]
    adjusts: Optional[Adjusts]
    sequence: PosInt
    sequenceNumber: SequenceNumber
    deltaIndex: PosInt
    period: Period
    fingerprint: Hash
    contentHash: Hash
    metadataDigest: Optional[Hash]
    recordedAt: Timestamp
    createdAt: Timestamp
    processingAt: Optional[Timestamp]
    verifiedAt: Optional[Timestamp]
    blockTimestamp: Optional[Timestamp]
    verificationReference: Optional[Hash]
    failedAt: Optional[Timestamp]
    error: Optional[Literal["VERIFICATION_FAILED"]]
    errorMessage: Optional[str]


class EmitReply(Delta):
    """Emit (§5.1): the Delta object, then `idempotent`."""

    idempotent: bool


class BatchResult(Reply):
    """One item of the batch reply (§5.2)."""

    index: NonNegInt
    status: DeltaStatus
    customerId: CustomerId
    delta: Amount
    referenceId: Optional[str]
    recordId: Optional[RecordId]
    receiptId: Optional[Hash]
    sequenceNumber: Optional[SequenceNumber]
    idempotent: bool
    error: Optional[Literal["CADENCE_LIMIT", "INSUFFICIENT_CREDITS", "IDEMPOTENCY_CONFLICT"]]
    message: Optional[str]


class BatchEfficiency(Reply):
    items: PosInt
    recorded: NonNegInt
    replayed: NonNegInt
    failed: NonNegInt


class BatchReply(Reply):
    """Emit a batch (§5.2)."""

    totalQueued: NonNegInt
    totalFailed: NonNegInt
    totalRecorded: NonNegInt
    totalReplayed: NonNegInt
    receiptId: Optional[Hash]
    batchSequence: Optional[PosInt]
    results: list[BatchResult]
    efficiency: BatchEfficiency = Field(alias="_efficiency")


class Bucket(Reply):
    """Breakdown bucket (§5.0.4)."""

    bucket: Annotated[str, matching(r"^[0-9]{4}-((0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?|W(0[1-9]|[1-4][0-9]|5[0-3]))$",
                                    "YYYY-MM-DD (day), YYYY-Www (ISO week) or YYYY-MM (month)")]
    startDate: Timestamp
    endDate: Timestamp
    netChange: Amount
    deltaCount: NonNegInt
    endingBalance: Amount


class DeriveReply(Reply):
    """Derive a balance (§5.4)."""

    customerId: CustomerId
    computedBalance: Amount
    startingBalance: Amount
    netChange: Amount
    deltasCount: NonNegInt
    deltaCount: NonNegInt
    pendingCount: NonNegInt
    failedCount: NonNegInt
    latestReceiptId: Optional[Hash]
    latestRecordId: Optional[RecordId]
    latestSequence: Optional[PosInt]
    scope: Scope
    deltas: list[Delta]
    pagination: OffsetPagination
    breakdown: Optional[list[Bucket]]
    computedAt: Timestamp


class Resolution(Reply):
    code: ResolutionCode
    text: str


class FirstDivergence(Reply):
    bucket: Day
    side: Side
    neutralNetChange: Amount
    yourNetChange: Optional[Amount]
    theirNetChange: Optional[Amount]


class Discrepancy(Reply):
    side: Side
    amount: Amount
    yourDifference: Amount
    theirDifference: Amount
    resolution: Resolution
    firstDivergence: Optional[FirstDivergence]


class CompareReply(Reply):
    """Compare balances (§5.5)."""

    customerId: CustomerId
    computedBalance: Amount
    neutralBalance: Amount
    yourBalance: Amount
    theirBalance: Amount
    matchesYours: bool
    matchesTheirs: bool
    yourDifference: Amount
    theirDifference: Amount
    startingBalance: Amount
    deltasCount: NonNegInt
    deltaCount: NonNegInt
    pendingCount: NonNegInt
    scope: Scope
    discrepancy: Optional[Discrepancy]
    breakdown: Optional[list[Bucket]]
    comparedAt: Timestamp


# --- checkpoints ----------------------------------------------------------------------------------


class CheckpointPreimage(Reply):
    """Checkpoint object C of proofs.md §3.4, exactly as hashed: optional members are omitted
    (never `null`); `netChange` is a canonical decimal string."""

    chainId: ChainId
    customerId: CustomerId
    endDate: Timestamp
    fromSequence: PosInt = absent()
    itemsRoot: Hash
    ledgerId: Hash
    netChange: DecimalString
    period: Period = absent()
    previousProofRoot: Hash = absent()
    startDate: Timestamp
    toSequence: PosInt = absent()
    treeSize: NonNegInt


class BatchPreimage(Reply):
    """Batch object B of proofs.md §3.3 (all five members always present)."""

    batchSequence: PosInt
    itemCount: PosInt
    itemsRoot: Hash
    ledgerId: Hash
    previousProofHash: Hash


class Checkpoint(Reply):
    """Checkpoint object (§5.0.2): checkpoints list items."""

    checkpointId: CheckpointId
    status: CheckpointStatus
    customerId: CustomerId
    period: Optional[Period]
    startDate: Timestamp
    endDate: Timestamp
    scope: Scope
    selectionMode: Literal["all", "selected"]
    proofRoot: Hash
    merkleRoot: Hash
    itemsRoot: Hash
    treeSize: NonNegInt
    deltaCount: NonNegInt
    deltasCount: NonNegInt
    fromSequence: Optional[PosInt]
    toSequence: Optional[PosInt]
    netChange: Amount
    startingBalance: Amount
    endingBalance: Amount
    chainId: ChainId
    ledgerId: Hash
    previousProofRoot: Optional[Hash]
    supersedes: Optional[CheckpointId]
    supersededBy: Optional[CheckpointId]
    proofScheme: ProofScheme
    createdAt: Timestamp
    verifiedAt: Optional[Timestamp]
    blockTimestamp: Optional[Timestamp]
    verificationReference: Optional[Hash]
    failedAt: Optional[Timestamp]
    receiptId: CheckpointId
    receiptUrl: Url
    verificationApiUrl: Url


class CheckpointCommit(Checkpoint):
    """Checkpoint reply for one customer (§5.6): the Checkpoint object, then `idempotent`."""

    idempotent: bool


class CheckpointAllCustomers(Reply):
    """Checkpoint reply without `customerId` (§5.6)."""

    checkpoints: list[CheckpointCommit]
    count: NonNegInt
    createdCount: NonNegInt
    scope: Scope


class CheckpointCommitReply(RootModel[Union[CheckpointCommit, CheckpointAllCustomers]]):
    """Commit a checkpoint (§5.6): one customer's checkpoint, or the all-customers object."""


class CheckpointList(Reply):
    """List checkpoints (§5.7)."""

    checkpoints: list[Checkpoint]
    pagination: OffsetPagination


class CheckpointSummary(Reply):
    """`from` / `to` of the checkpoints compare reply (§5.8)."""

    checkpointId: CheckpointId
    proofRoot: Hash
    itemsRoot: Hash
    period: Optional[Period]
    startDate: Timestamp
    endDate: Timestamp
    treeSize: NonNegInt
    netChange: Amount
    fromSequence: Optional[PosInt]
    toSequence: Optional[PosInt]
    status: CheckpointStatus
    createdAt: Timestamp


class Consistency(Reply):
    """Consistency proof object of proofs.md §5.2, as the compare route sends it: both
    checkpoint preimages and proof roots included (§5.8)."""

    customerId: CustomerId
    firstTreeSize: NonNegInt
    firstItemsRoot: Hash
    secondTreeSize: NonNegInt
    secondItemsRoot: Hash
    consistencyProof: list[Hash]
    firstCheckpoint: CheckpointPreimage
    firstProofRoot: Hash
    secondCheckpoint: CheckpointPreimage
    secondProofRoot: Hash


class CheckpointsCompareReply(Reply):
    """Compare two checkpoints (§5.8)."""

    customerId: CustomerId
    from_: CheckpointSummary = Field(alias="from")
    to: CheckpointSummary
    relation: Literal["equal", "extends", "superset", "subset", "overlap", "disjoint"]
    balanceDelta: Amount
    deltaCountDelta: int
    addedCount: NonNegInt
    removedCount: NonNegInt
    added: Annotated[list[RecordId], Field(max_length=1000)]
    removed: Annotated[list[RecordId], Field(max_length=1000)]
    consistency: Optional[Consistency]


# --- receipts -------------------------------------------------------------------------------------


class ReceiptLine(Reply):
    """One `deltas[]` row of a receipt (§5.0.3)."""

    recordId: RecordId
    anchorId: RecordId
    customerId: CustomerId
    sequence: PosInt
    sequenceNumber: SequenceNumber
    delta: Amount
    deltaDecimal: DecimalString
    reason: str
    referenceId: Optional[str]
    metadata: Optional[Metadata]
    metadataDigest: Optional[Hash]
    adjusts: Optional[Adjusts]
    status: Literal["VERIFIED"]
    window: Period
    recordedAt: Timestamp
    createdAt: Timestamp
    verifiedAt: Timestamp
    fingerprint: Hash
    itemHash: Hash
    contentHash: Hash
    receiptId: Hash
    itemsRoot: Hash
    verificationReference: Hash
    leafIndex: NonNegInt
    merkleProof: Annotated[list[Hash], Field(max_length=64)]


class WindowSummary(Reply):
    period: Period
    totalCredits: Amount
    totalDebits: Amount
    netChange: Amount
    deltasCount: NonNegInt
    deltaCount: NonNegInt


class ReceiptVerification(Reply):
    """`verification` of a receipt (§5.0.3)."""

    proofScheme: ProofScheme
    proofRoot: Hash
    itemsRoot: Hash
    itemHashes: list[Hash]
    checkpoint: CheckpointPreimage
    verificationReference: Optional[Hash]
    blockTimestamp: Optional[Timestamp]
    verifyUrl: Url
    verificationApiUrl: Url


class ReceiptLinks(Reply):
    permalink: Url
    json_: Url = Field(alias="json")
    pdf: Url
    verify: Url


class Receipt(Reply):
    """Receipt object (§5.0.3): receipt, invoice-proof."""

    customerId: CustomerId
    receiptId: CheckpointId
    checkpointId: CheckpointId
    status: CheckpointStatus
    generatedAt: Timestamp
    period: Optional[Period]
    scope: Scope
    startDate: Timestamp
    endDate: Timestamp
    proofRoot: Hash
    itemsRoot: Hash
    latestCheckpoint: Hash
    startingBalance: Amount
    finalBalance: Amount
    netChange: Amount
    totalCredits: Amount
    totalDebits: Amount
    deltaCount: NonNegInt
    deltasCount: NonNegInt
    pendingDeltaCount: NonNegInt
    uncoveredDeltaCount: NonNegInt
    deltas: list[ReceiptLine]
    deltasPage: OffsetPagination
    windowSummaries: list[WindowSummary]
    verification: ReceiptVerification
    verifyUrl: Url
    verificationApiUrl: Url
    verificationExplorerUrl: Url
    accessHint: Optional[AccessCode]
    customerLinkUrl: Optional[Url]
    customerLinkHost: Optional[Host]
    links: ReceiptLinks


class Presentation(Reply):
    """`presentation` of the receipt document (§5.18)."""

    locale: str
    timezone: str
    unit: str
    customerDisplayName: Optional[str]
    generatedAtLocal: Annotated[str, matching(
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}$",
        "generatedAt in the requested zone, ISO 8601 with offset")]


class ReceiptDocument(Receipt):
    """Receipt document (§5.18): the Receipt object, then `presentation`."""

    presentation: Presentation


PublicReceiptLine = derived_model(
    "PublicReceiptLine", ReceiptLine, drop=("metadata",),
    doc="A receipt line of the public receipt (§5.20): `metadata` is removed (absent, not null).")

PublicReceipt = derived_model(
    "PublicReceipt", Receipt, drop=("accessHint",), replace={"deltas": list[PublicReceiptLine]},
    doc="Public receipt (§5.20): the Receipt without `accessHint` and without `deltas[].metadata` "
        "(members absent, not null).")


class CustomerReceiptItem(Reply):
    receiptId: CheckpointId
    checkpointId: CheckpointId
    customerId: CustomerId
    period: Optional[Period]
    startDate: Timestamp
    endDate: Timestamp
    proofRoot: Hash
    status: CheckpointStatus
    deltaCount: NonNegInt
    finalBalance: Amount
    createdAt: Timestamp
    supersededBy: Optional[CheckpointId]
    links: ReceiptLinks


class CustomerReceipts(Reply):
    """Customer receipts (§5.17)."""

    receipts: list[CustomerReceiptItem]
    pagination: OffsetPagination


# --- gaps, usage, limits --------------------------------------------------------------------------


class GapRun(Reply):
    fromSequence: PosInt
    toSequence: PosInt
    count: PosInt
    state: Literal["failed", "pending"]


class GapsReply(Reply):
    """Sequence gaps (§5.11)."""

    customerId: CustomerId
    fromSequence: PosInt
    toSequence: NonNegInt
    highestSequence: NonNegInt
    verifiedThrough: NonNegInt
    gaps: list[GapRun]
    gapCount: NonNegInt
    hasGaps: bool
    truncated: bool


class UsageReply(Reply):
    """Usage (§5.12)."""

    remaining: Optional[NonNegInt]
    allowed: bool
    plan: Literal["unlimited", "allotment"]
    period: Period
    periodStart: Timestamp
    periodEnd: Timestamp
    monthlyAllotment: Optional[NonNegInt]
    includedDeltas: Optional[NonNegInt]
    consumedDeltas: NonNegInt
    remainingDeltas: Optional[NonNegInt]
    overageCount: Literal[0]


class LimitsReply(Reply):
    """Limits (§5.13)."""

    maxScopeMonths: PosInt
    maxLastNDays: PosInt
    maxRetentionDays: PosInt
    maxBatchSize: PosInt
    maxDeltaMagnitude: PosInt
    maxDeltaSignificantDigits: PosInt
    maxPageSize: PosInt


# --- customers ------------------------------------------------------------------------------------


class CustomerListItem(Reply):
    customerId: CustomerId
    customerReference: CustomerReference
    ledgerIdentifier: CustomerReference
    displayName: Optional[str]
    totalDeltas: NonNegInt
    verifiedDeltas: NonNegInt
    computedBalance: Amount
    firstDeltaAt: Optional[Timestamp]
    lastDeltaAt: Optional[Timestamp]
    handle: Handle
    source: CustomerSource
    createdAt: Timestamp


class CustomerList(Reply):
    """List customers (§5.14), page-style pagination."""

    customers: list[CustomerListItem]
    pagination: PagePagination


class CustomersSummary(Reply):
    """Customers summary (§5.15)."""

    totalCustomers: NonNegInt
    activeCustomers: NonNegInt
    period: Period
    deltasThisPeriod: NonNegInt
    totalDeltas: NonNegInt
    verifiedDeltas: NonNegInt
    pendingDeltas: NonNegInt
    failedDeltas: NonNegInt
    netBalance: Amount
    checkpointCount: NonNegInt
    asOf: Timestamp


class SharedRecord(Reply):
    enabled: bool
    url: Optional[Url]
    accessHint: Optional[AccessCode]
    policy: Literal["TWO_TIER"]


class ActivityItem(Reply):
    recordId: RecordId
    sequence: PosInt
    delta: Amount
    reason: str
    referenceId: Optional[str]
    status: DeltaStatus
    time: Timestamp
    verificationReference: Optional[Hash]


class RecentActivity(Reply):
    items: list[ActivityItem]
    pagination: PagePagination


class CustomerDetail(Reply):
    """Customer detail (§5.16)."""

    customerId: CustomerId
    displayName: Optional[str]
    customerReference: CustomerReference
    ledgerIdentifier: CustomerReference
    customerPartition: Annotated[str, matching(r"^(0|[1-9][0-9]*)$", "decimal string of 4 bytes")]
    handle: Handle
    source: CustomerSource
    totalDeltas: NonNegInt
    computedBalance: Amount
    latestCheckpoint: Optional[CheckpointId]
    period: Period
    recordsThisPeriod: NonNegInt
    recordedThisPeriod: Amount
    verifiedThisPeriod: Amount
    verifiedCountThisPeriod: NonNegInt
    sharedRecord: SharedRecord
    recentActivity: RecentActivity


class DashboardCustomer(Reply):
    """Create a customer (dashboard, §5.23); also the `customer.created` event data."""

    customerId: CustomerId
    displayName: str
    sharingStateHint: Literal["INHERIT", "ENABLED", "DISABLED"]
    eventCadence: Literal["PER_EVENT", "HOURLY", "DAILY", "WEEKLY", "MONTHLY"]
    unitLabel: str
    source: Literal["manual"]
    handle: Handle
    customerReference: CustomerReference
    createdAt: Timestamp


# --- public verify (§5.19) ------------------------------------------------------------------------


class VerifyChecks(Reply):
    recomputed: bool
    anchored: bool
    chainAvailable: bool


class VerifySummary(Reply):
    recordCount: NonNegInt
    netChange: Amount
    startingBalance: Amount
    endingBalance: Amount
    firstRecordAt: Optional[Timestamp]
    lastRecordAt: Optional[Timestamp]


class VerifyRecord(Reply):
    """A verify record: never carries `metadata` (public)."""

    amount: Amount
    reason: str
    referenceId: Optional[str]
    status: DeltaStatus
    time: Timestamp
    recordId: RecordId
    customerId: CustomerId
    sequence: PosInt
    amountDecimal: DecimalString
    recordedAt: Timestamp
    fingerprint: Hash
    metadataDigest: Optional[Hash]
    adjusts: Optional[Adjusts]


VerifyMessage = Literal["ok", "stored records do not match the proof root", "chain unavailable",
                        "anchoring failed", "not anchored yet"]


class _VerificationBase(Reply):
    proofScheme: ProofScheme
    verificationReference: Optional[Hash]
    reference: Optional[Hash]
    blockTimestamp: Optional[Timestamp]
    chainId: ChainId
    itemsRoot: Hash
    itemHashes: list[Hash]


class CheckpointRootVerification(_VerificationBase):
    checkpoint: CheckpointPreimage
    batch: None
    publicLedgerUrl: Url
    verificationExplorerUrl: Url


class BatchRootVerification(_VerificationBase):
    checkpoint: None
    batch: BatchPreimage
    publicLedgerUrl: Url
    verificationExplorerUrl: Url


class VerifyCheckpointReply(Reply):
    """Public verify of a checkpoint proof root."""

    verified: bool
    proofRoot: Hash
    kind: Literal["checkpoint"]
    status: CheckpointStatus
    recordedAt: Timestamp
    customerId: CustomerId
    period: Optional[Period]
    startDate: Timestamp
    endDate: Timestamp
    source: Literal["db", "chain", "both"]
    checks: VerifyChecks
    summary: VerifySummary
    records: list[VerifyRecord]
    recordsPage: OffsetPagination
    verification: CheckpointRootVerification
    message: VerifyMessage


class VerifyBatchReply(Reply):
    """Public verify of a batch receipt (proof hash)."""

    verified: bool
    proofRoot: Hash
    kind: Literal["batch"]
    status: DeltaStatus
    recordedAt: Timestamp
    customerId: None
    period: None
    startDate: None
    endDate: None
    source: Literal["db", "chain", "both"]
    checks: VerifyChecks
    summary: VerifySummary
    records: list[VerifyRecord]
    recordsPage: OffsetPagination
    verification: BatchRootVerification
    message: VerifyMessage


class VerifyReply(RootModel[Annotated[Union[VerifyCheckpointReply, VerifyBatchReply], Field(discriminator="kind")]]):
    """Public verify (§5.19): `kind` `checkpoint` or `batch`."""


# --- webhooks: deliveries (§5.0.5, §5.21, §5.22) ---------------------------------------------------


class Delivery(Reply):
    """Delivery object (§5.0.5); no member named `status`."""

    eventId: EventId
    event: EventType
    deliveryStatus: DeliveryStatus
    attempts: NonNegInt
    maxAttempts: Literal[11]
    url: Optional[Url]
    createdAt: Timestamp
    lastAttemptAt: Optional[Timestamp]
    lastResponseStatus: Optional[Annotated[int, Field(ge=100, le=599)]]
    lastError: Optional[DeliveryError]
    nextAttemptAt: Optional[Timestamp]
    deliveredAt: Optional[Timestamp]
    captured: bool


class DeliveryList(Reply):
    """Webhook deliveries (§5.21)."""

    deliveries: list[Delivery]
    pagination: OffsetPagination


class RetriedDelivery(Delivery):
    """Retry a delivery (§5.22): the Delivery object, then `retriedAt`."""

    retriedAt: Timestamp


# --- webhook events (§7.3, §7.4) -------------------------------------------------------------------


class EventDelta(Reply):
    customerId: CustomerId
    amount: Amount
    reason: str
    referenceId: Optional[str]
    metadata: Optional[Metadata]
    submittedAt: Timestamp


class EventProof(Reply):
    proofHash: Hash
    contentHash: Hash
    itemHashes: list[Hash]
    previousProofHash: Hash
    itemsRoot: Hash
    batchSequence: PosInt
    ledgerId: Hash
    proofScheme: ProofScheme


class EventVerification(Reply):
    verified: Literal[True]
    latencyMs: NonNegInt
    discrepancies: Annotated[list[Any], Field(max_length=0)]


class EventPeriod(Reply):
    id: Period
    deltaCount: NonNegInt
    netDelta: Amount


class EventUsage(Reply):
    plan: Literal["unlimited", "allotment"]
    periodId: Period
    includedDeltas: Optional[NonNegInt]
    consumedDeltas: NonNegInt
    remainingDeltas: Optional[NonNegInt]
    overageRate: None


class DeltaVerifiedData(Reply):
    """`delta.verified` payload (§7.4)."""

    receiptId: Hash
    deltaIndex: PosInt
    status: Literal["VERIFIED"]
    verifiedAt: Timestamp
    verificationId: Hash
    delta: EventDelta
    proof: EventProof
    verification: EventVerification
    period: EventPeriod
    usage: EventUsage
    recordId: RecordId
    customerId: CustomerId
    sequenceNumber: SequenceNumber
    referenceId: Optional[str]
    verificationReference: Hash
    blockTimestamp: Timestamp


class DeltaFailedData(Reply):
    """`delta.failed` payload (§7.4)."""

    recordId: RecordId
    customerId: CustomerId
    delta: Amount
    reason: str
    referenceId: Optional[str]
    sequenceNumber: SequenceNumber
    receiptId: Hash
    status: Literal["FAILED"]
    error: Literal["VERIFICATION_FAILED"]
    message: str
    failedAt: Timestamp


class CheckpointVerifiedData(Reply):
    """`checkpoint.verified` payload (§7.4)."""

    checkpointId: CheckpointId
    customerId: CustomerId
    period: Optional[Period]
    startDate: Timestamp
    endDate: Timestamp
    proofRoot: Hash
    itemsRoot: Hash
    treeSize: NonNegInt
    deltaCount: NonNegInt
    netChange: Amount
    status: Literal["VERIFIED"]
    verifiedAt: Timestamp
    verificationReference: Hash
    blockTimestamp: Timestamp
    chainId: ChainId
    supersedes: Optional[CheckpointId]


class ReceiptGeneratedData(Reply):
    """`receipt.generated` payload (§7.4)."""

    receiptId: CheckpointId
    checkpointId: CheckpointId
    customerId: CustomerId
    period: Optional[Period]
    startDate: Timestamp
    endDate: Timestamp
    proofRoot: Hash
    deltaCount: NonNegInt
    finalBalance: Amount
    verifyUrl: Url
    verificationApiUrl: Url
    generatedAt: Timestamp


class CompareRunData(Reply):
    """`customer.compare_run` payload (§7.4)."""

    customerId: CustomerId
    initiator: Literal["tenant", "customer"]
    neutralBalance: Amount
    yourBalance: Optional[Amount]
    theirBalance: Amount
    matchesYours: Optional[bool]
    matchesTheirs: bool
    discrepancySide: Optional[Side]
    resolutionCode: Optional[ResolutionCode]
    scope: Scope
    comparedAt: Timestamp


#: `customer.created` data is the §5.23 reply object.
CustomerCreatedData = DashboardCustomer

#: The `data` of any event (each variant forbids the members of the others).
EventData = Union[DeltaVerifiedData, DeltaFailedData, CheckpointVerifiedData, ReceiptGeneratedData,
                  DashboardCustomer, CompareRunData]


class _EnvelopeBase(Reply):
    id: EventId
    tenantId: TenantId
    createdAt: Timestamp
    timestamp: Timestamp


class DeltaVerifiedEvent(_EnvelopeBase):
    event: Literal["delta.verified"]
    data: DeltaVerifiedData


class DeltaFailedEvent(_EnvelopeBase):
    event: Literal["delta.failed"]
    data: DeltaFailedData


class CheckpointVerifiedEvent(_EnvelopeBase):
    event: Literal["checkpoint.verified"]
    data: CheckpointVerifiedData


class ReceiptGeneratedEvent(_EnvelopeBase):
    event: Literal["receipt.generated"]
    data: ReceiptGeneratedData


class CustomerCreatedEvent(_EnvelopeBase):
    event: Literal["customer.created"]
    data: DashboardCustomer


class CompareRunEvent(_EnvelopeBase):
    event: Literal["customer.compare_run"]
    data: CompareRunData


class EventEnvelope(RootModel[Annotated[
    Union[DeltaVerifiedEvent, DeltaFailedEvent, CheckpointVerifiedEvent, ReceiptGeneratedEvent,
          CustomerCreatedEvent, CompareRunEvent],
    Field(discriminator="event"),
]]):
    """Event envelope (§7.3): `id`, `event`, `tenantId`, `createdAt`, `timestamp`, `data`. `data`
    is the union of the six payloads, tied to `event` (one envelope variant per event type)."""


#: `event` type → the model of its `data`.
EVENT_DATA_MODELS: dict[str, type[BaseModel]] = {
    "delta.verified": DeltaVerifiedData,
    "delta.failed": DeltaFailedData,
    "checkpoint.verified": CheckpointVerifiedData,
    "receipt.generated": ReceiptGeneratedData,
    "customer.created": DashboardCustomer,
    "customer.compare_run": CompareRunData,
}
