"""Reply models (mockserver/api/replies.py, mockserver/control/replies.py): every normative example
of balance-api.md validates, both with pydantic (`model_validate_json`) and with the generated JSON
Schema (Draft 2020-12, as published in OpenAPI 3.1); broken replies are rejected by both; and one
real reply of every route of the running server validates against its model."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from mockserver.api import replies as api
from mockserver.control import replies as ctl
from mockserver.embedded import EmbeddedServer
from mockserver.operations import OPERATIONS, resolve
from mockserver.runtime import Runtime, ServerConfig

B = "/api/v1/balance"
SPEC = {k: json.loads(v) for k, v in json.loads(
    (Path(__file__).parent / "data" / "spec_examples.json").read_text(encoding="utf-8")).items()}
# the operation table names each route's reply model
ALL_MODELS: dict[str, type[BaseModel]] = {op.name: resolve(op.reply) for op in OPERATIONS if op.reply}
API_ROUTES = [op.name for op in OPERATIONS if op.reply and op.plane in ("api", "public", "dashboard")]
CONTROL_ROUTES = [op.name for op in OPERATIONS if op.reply and op.plane in ("control", "global")]


# --- the two validators ------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def schema_validator(model: type[BaseModel]) -> Draft202012Validator:
    """The model's JSON Schema as OpenAPI would publish it: `$defs` moved to components/schemas and
    referenced as #/components/schemas/{name}."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components[model.__name__] = schema
    document = {"$ref": f"#/components/schemas/{model.__name__}", "components": {"schemas": components}}
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pydantic_errors(model: type[BaseModel], value: Any) -> list[str]:
    try:
        model.model_validate_json(text_of(value))
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []


def schema_errors(model: type[BaseModel], value: Any) -> list[str]:
    instance = json.loads(text_of(value))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in schema_validator(model).iter_errors(instance)]


def assert_valid(model: type[BaseModel], value: Any, what: str = "") -> None:
    problems = pydantic_errors(model, value)
    assert not problems, f"{what} {model.__name__} (pydantic): {problems}"
    problems = schema_errors(model, value)
    assert not problems, f"{what} {model.__name__} (JSON Schema): {problems}"


def assert_invalid(model: type[BaseModel], value: Any, what: str = "") -> None:
    assert pydantic_errors(model, value), f"{what}: pydantic accepted it"
    assert schema_errors(model, value), f"{what}: the JSON Schema accepted it"


def every_model() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for module in (api, ctl):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__name__}"] = value
    return list(found.values())


@pytest.mark.parametrize("model", every_model(), ids=lambda m: m.__name__)
def test_json_schema_generates_and_resolves(model):
    validator = schema_validator(model)
    known = validator.schema["components"]["schemas"]

    def refs(node: Any):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(validator.schema):
        prefix, _, name = ref.rpartition("/")
        assert prefix == "#/components/schemas" and name in known, ref


def test_component_names_are_unambiguous():
    """Published together under components/schemas: one name, one definition (request bodies too)."""
    from mockserver.api import schemas as bodies

    components: dict[str, Any] = {}
    models = [*ALL_MODELS.values(), api.SuccessEnvelope, api.ErrorEnvelope, api.IdempotencyPendingEnvelope,
              api.EventEnvelope, *(v for v in vars(bodies).values()
                                   if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == bodies.__name__)]
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            assert components.setdefault(name, definition) == definition, f"two different schemas named {name}"


def test_every_json_operation_has_a_reply_model():
    json_ops = [op.name for op in OPERATIONS if op.media == "application/json" and op.name != "mock.state_export"]
    assert sorted(ALL_MODELS) == sorted(set(json_ops))
    assert sorted(API_ROUTES) == sorted([
        "balance.emit", "balance.emit_batch", "balance.delta_status", "balance.derive", "balance.compare",
        "balance.checkpoint", "balance.checkpoints_list", "balance.checkpoints_compare", "balance.receipt",
        "balance.invoice_proof", "balance.gaps", "balance.usage", "balance.limits", "balance.customers_list",
        "balance.customers_summary", "balance.customer", "balance.customer_receipts", "balance.receipt_document",
        "public.verify", "public.receipt", "balance.webhooks_list", "balance.webhook_retry",
        "dashboard.customers_create"])
    assert sorted(CONTROL_ROUTES) == sorted([
        "mock.workspace", "mock.reset", "mock.seed", "mock.clock", "mock.clock_set", "mock.clock_advance",
        "mock.clock_freeze", "mock.clock_unfreeze", "mock.settings", "mock.settings_update", "mock.faults_list",
        "mock.faults_create", "mock.faults_clear", "mock.faults_delete", "mock.journal", "mock.journal_clear",
        "mock.webhooks_config", "mock.webhooks_config_update", "mock.outbox", "mock.drain", "mock.health",
        "mock.workspaces", "mock.keys_list", "mock.keys_register", "mock.keys_delete", "mock.state_import"])
    for model in ALL_MODELS.values():
        model.model_json_schema(ref_template="#/components/schemas/{model}")


# --- the contract's examples --------------------------------------------------------------------------

ERROR_CODES = {402: "INSUFFICIENT_CREDITS", 403: "API_KEY_ENVIRONMENT_HOST_MISMATCH", 412: "CONTRACT_NOT_DEPLOYED",
               500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE"}


def _fault_rule_reply(rule: dict) -> dict:
    """The reply to a rule request (§8.6): ruleId added, defaults filled (an error action's code),
    matched, fired and createdAt added."""
    actions = [{**a, "code": ERROR_CODES[a["status"]]} if a["type"] == "error" and "code" not in a else a
               for a in rule["actions"]]
    return {"ruleId": "flt_1", **rule, "actions": actions, "matched": 0, "fired": 0,
            "createdAt": "2026-02-01T23:59:00.000Z"}


#: Every key of tests/data/spec_examples.json: (model, how the example becomes an instance of it,
#: why a transformation is needed). None = the example as it is.
EXAMPLES: dict[str, tuple[type[BaseModel], Callable[[Any], Any] | None, str | None]] = {
    "envelope_ok": (api.SuccessEnvelope, None, None),
    "envelope_error": (api.ErrorEnvelope, None, None),
    "idempotency_pending": (api.IdempotencyPendingEnvelope, None, None),
    "scope": (api.Scope, None, "a part of every scoped reply (§2.6): the Scope model"),
    "delta_verified": (api.Delta, None, None),
    "checkpoint": (api.Checkpoint, None, None),
    "receipt": (api.Receipt, None, None),
    "bucket": (api.Bucket, None, "a part of DeriveReply/CompareReply `breakdown` (§5.0.4)"),
    "delivery": (api.Delivery, None, None),
    "emit": (api.EmitReply, None, None),
    "batch": (api.BatchReply, None, None),
    "derive": (api.DeriveReply, None, None),
    "compare": (api.CompareReply, None, None),
    "checkpoint_all": (api.CheckpointCommitReply, None, None),
    "checkpoints_compare": (api.CheckpointsCompareReply, None, None),
    "gaps": (api.GapsReply, None, None),
    "usage": (api.UsageReply, None, None),
    "limits": (api.LimitsReply, None, None),
    "customers": (api.CustomerList, None, None),
    "customers_summary": (api.CustomersSummary, None, None),
    "customer_detail": (api.CustomerDetail, None, None),
    "customer_receipts": (api.CustomerReceipts, None, None),
    "receipt_document_presentation": (api.Presentation, lambda e: e["presentation"],
                                      "a fragment {\"presentation\": …}: its member is the Presentation model"),
    "verify": (api.VerifyReply, None, None),
    "dashboard_customer": (api.DashboardCustomer, None, None),
    "event_envelope": (api.EventEnvelope, lambda e: {**e, "data": SPEC["event_delta_verified"]},
                       "its `data` is the placeholder {}: the delta.verified payload example is put in"),
    "event_delta_verified": (api.DeltaVerifiedData, None, None),
    "event_delta_failed": (api.DeltaFailedData, None, None),
    "event_checkpoint_verified": (api.CheckpointVerifiedData, None, None),
    "event_receipt_generated": (api.ReceiptGeneratedData, None, None),
    "event_compare_run": (api.CompareRunData, None, None),
    "clock_move": (ctl.ClockMove, None, None),
    "settings": (ctl.Settings, None, None),
    "fault_rule": (ctl.FaultRule, _fault_rule_reply,
                   "the example is the request body: the reply adds ruleId, fills defaults (code), adds matched, fired, createdAt"),
    "journal_entry": (ctl.JournalEntry, None, None),
}

#: Examples written inline in the contract's text (not in the JSON file), as printed there.
INLINE_EXAMPLES: list[tuple[type[BaseModel], Any]] = [
    (ctl.Workspace, {"publicId": "demo", "environment": "test", "tenantId": "ten_u5cudsnzzgsivxxl",
                     "ledgerId": "0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737", "chainId": 296,
                     "createdAt": "2026-01-31T09:00:00.000Z",
                     "counts": {"customers": 1, "deltas": 3, "checkpoints": 1, "events": 5}}),
    (ctl.Clock, {"now": "2026-02-01T23:59:59.000Z", "mode": "frozen", "offsetMs": None}),
    (ctl.WebhookConfig, {"url": None, "mode": "capture", "secret": "whsec_qehlwtdettk2wtkc2f3mihwfgtp444ud",
                         "previousSecret": None, "previousSecretExpiresAt": None}),
    (ctl.DrainReply, {"attempted": 3, "delivered": 3, "failed": 0, "pending": 0}),
    (ctl.Health, {"status": "ok", "version": "0.1.0", "strict": False, "workspaces": 3, "storage": "file"}),
    (ctl.KeyList, {"keys": [{"key": "pk_test_demo.s3cret", "environment": "test", "publicId": "demo", "active": True}]}),
    (ctl.KeyDeleted, {"deleted": "pk_test_demo.s3cret"}),
    (ctl.StateImported, {"imported": True, "workspaces": 3}),
    (ctl.FaultDeleted, {"deleted": "flt_1"}),
    (ctl.Cleared, {"cleared": 3}),
    (api.CheckpointList, {"checkpoints": [SPEC["checkpoint"]],
                          "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False}}),
    (api.Presentation, {"locale": "en-US", "timezone": "UTC", "unit": "units", "customerDisplayName": None,
                        "generatedAtLocal": "2026-03-01T00:06:00.000+00:00"}),
]


def test_every_example_is_mapped():
    assert sorted(EXAMPLES) == sorted(SPEC)
    for key, (_model, transform, reason) in EXAMPLES.items():
        assert (transform is None) or reason, f"{key}: a transformed example needs its reason"


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_spec_example_validates(key):
    model, transform, _ = EXAMPLES[key]
    example = SPEC[key] if transform is None else transform(copy.deepcopy(SPEC[key]))
    assert_valid(model, example, key)


@pytest.mark.parametrize("model,example", INLINE_EXAMPLES, ids=lambda v: getattr(v, "__name__", ""))
def test_inline_spec_example_validates(model, example):
    assert_valid(model, example)


def test_raw_examples_that_need_a_transformation_are_not_replies():
    # the envelope example's placeholder data {} is no event payload; the fault rule request lacks ruleId
    assert_invalid(api.EventEnvelope, SPEC["event_envelope"], "event envelope with data {}")
    assert_invalid(ctl.FaultRule, SPEC["fault_rule"], "fault rule request body")


# examples the contract describes in words: derived from the printed ones


def public_receipt(receipt: dict) -> dict:
    out = {k: v for k, v in receipt.items() if k != "accessHint"}
    out["deltas"] = [{k: v for k, v in line.items() if k != "metadata"} for line in receipt["deltas"]]
    return out


BATCH_PREIMAGE = {"batchSequence": 1, "itemCount": 1,
                  "itemsRoot": "0xc531018902c22f2b2d2e93fd0e2f893e24102e96330f3deef409cadebfae9b1d",
                  "ledgerId": "0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737",
                  "previousProofHash": "0x0000000000000000000000000000000000000000000000000000000000000000"}


def batch_verify() -> dict:
    """§5.19 for a batch root (T.7 batch 1), built from the checkpoint example as the text says."""
    out = copy.deepcopy(SPEC["verify"])
    out.update(kind="batch", proofRoot="0x45ded7ae099093a42ad88c664cb22c2f5a6219e113f9baf283a9b0bc18360caa",
               customerId=None, period=None, startDate=None, endDate=None, recordedAt="2026-02-01T23:59:59.000Z")
    out["verification"].update(checkpoint=None, batch=BATCH_PREIMAGE,
                               itemHashes=["0x92d1d27b38207fc8d751e6c42313490a0160c4181d5dd7c3ac74ee028408fd49"])
    return out


EMPTY_C = {"chainId": 296, "customerId": "cust_acme_001", "endDate": "2026-02-01T00:00:00.000Z",
           "itemsRoot": "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
           "ledgerId": "0xe645fd15b376ab2f03a1367a0296f7d859b6d7ac957bb3956ad9d5956db99737", "netChange": "0",
           "period": "2026-01", "startDate": "2026-01-01T00:00:00.000Z", "treeSize": 0}
CUSTOM_C = SPEC["checkpoints_compare"]["consistency"]["secondCheckpoint"]  # no period, with previousProofRoot

DERIVED_EXAMPLES: list[tuple[str, type[BaseModel], Any]] = [
    ("public receipt", api.PublicReceipt, public_receipt(SPEC["receipt"])),
    ("receipt document", api.ReceiptDocument, {**SPEC["receipt"], **SPEC["receipt_document_presentation"]}),
    ("receipt, shared record off", api.Receipt,
     {**SPEC["receipt"], "accessHint": None, "customerLinkUrl": None, "customerLinkHost": None}),
    ("checkpoint reply", api.CheckpointCommitReply, {**SPEC["checkpoint"], "idempotent": False}),
    ("all customers with one", api.CheckpointCommitReply,
     {**SPEC["checkpoint_all"], "checkpoints": [{**SPEC["checkpoint"], "idempotent": True}], "count": 1}),
    ("verify, batch root", api.VerifyReply, batch_verify()),
    ("retried delivery", api.RetriedDelivery, {**SPEC["delivery"], "retriedAt": "2026-02-02T00:01:00.000Z"}),
    ("derive with breakdown", api.DeriveReply, {**SPEC["derive"], "breakdown": [SPEC["bucket"]]}),
    ("empty checkpoint preimage (T.10)", api.CheckpointPreimage, EMPTY_C),
    ("custom checkpoint preimage", api.CheckpointPreimage, CUSTOM_C),
    ("batch preimage (T.7)", api.BatchPreimage, BATCH_PREIMAGE),
    ("customer.created", api.EventEnvelope,
     {**SPEC["event_envelope"], "event": "customer.created", "data": SPEC["dashboard_customer"]}),
    ("error with every member", api.ErrorEnvelope,
     {"success": False, "error": {"code": "CADENCE_LIMIT", "message": "m", "retryAfterSeconds": 120,
                                  "customerId": "cust_acme_001", "details": {}}}),
    ("compare with firstDivergence", api.CompareReply,
     {**SPEC["compare"], "discrepancy": {**SPEC["compare"]["discrepancy"], "firstDivergence": {
         "bucket": "2026-02-02", "side": "theirs", "neutralNetChange": -390, "yourNetChange": None,
         "theirNetChange": -343}}}),
]


@pytest.mark.parametrize("what,model,example", DERIVED_EXAMPLES, ids=[d[0] for d in DERIVED_EXAMPLES])
def test_derived_example_validates(what, model, example):
    assert_valid(model, example, what)


# --- negative cases: each rejected by both validators ---------------------------------------------------

DROP = object()


def mutated(example: Any, path: tuple, value: Any) -> Any:
    """A deep copy with the member at `path` set to `value` (DROP removes it)."""
    out = copy.deepcopy(example)
    target = out
    for part in path[:-1]:
        target = target[part]
    if value is DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


UPPER_HASH = "0x45DED7AE099093A42AD88C664CB22C2F5A6219E113F9BAF283A9B0BC18360CAA"
NEGATIVE: list[tuple[str, type[BaseModel], Any, tuple, Any]] = [
    # Delta / emit
    ("emit: extra member", api.EmitReply, SPEC["emit"], ("status2",), "QUEUED"),
    ("emit: missing idempotent", api.EmitReply, SPEC["emit"], ("idempotent",), DROP),
    ("emit: missing processingAt (nullable, still required)", api.EmitReply, SPEC["emit"], ("processingAt",), DROP),
    ("emit: string amount", api.EmitReply, SPEC["emit"], ("delta",), "-420"),
    ("emit: boolean amount", api.EmitReply, SPEC["emit"], ("delta",), True),
    ("emit: float sequence", api.EmitReply, SPEC["emit"], ("sequence",), 1.5),
    ("emit: string sequence", api.EmitReply, SPEC["emit"], ("sequence",), "1"),
    ("emit: boolean sequence", api.EmitReply, SPEC["emit"], ("sequence",), True),
    ("emit: integer sequenceNumber", api.EmitReply, SPEC["emit"], ("sequenceNumber",), 1),
    ("emit: integer idempotent", api.EmitReply, SPEC["emit"], ("idempotent",), 1),
    ("emit: string idempotent", api.EmitReply, SPEC["emit"], ("idempotent",), "true"),
    ("emit: uppercase hash", api.EmitReply, SPEC["emit"], ("receiptId",), UPPER_HASH),
    ("emit: short hash", api.EmitReply, SPEC["emit"], ("fingerprint",), "0x1234"),
    ("emit: timestamp without ms", api.EmitReply, SPEC["emit"], ("recordedAt",), "2026-02-01T23:59:59Z"),
    ("emit: timestamp with offset", api.EmitReply, SPEC["emit"], ("recordedAt",), "2026-02-01T23:59:59.000+00:00"),
    ("emit: timestamp with a final newline", api.EmitReply, SPEC["emit"], ("recordedAt",), "2026-02-01T23:59:59.000Z\n"),
    ("emit: hash with a final newline", api.EmitReply, SPEC["emit"], ("receiptId",), SPEC["emit"]["receiptId"] + "\n"),
    ("emit: numeric reason", api.EmitReply, SPEC["emit"], ("reason",), 42),
    ("emit: null status", api.EmitReply, SPEC["emit"], ("status",), None),
    ("emit: lower-case status", api.EmitReply, SPEC["emit"], ("status",), "queued"),
    ("emit: null recordedAt", api.EmitReply, SPEC["emit"], ("recordedAt",), None),
    ("emit: bad record id", api.EmitReply, SPEC["emit"], ("recordId",), "rec_1"),
    ("emit: adjusts with two members", api.EmitReply, SPEC["emit"], ("adjusts",), {"referenceId": "a", "recordId": "b"}),
    ("emit: bad period", api.EmitReply, SPEC["emit"], ("period",), "2026-13"),
    ("delta: error other than VERIFICATION_FAILED", api.Delta, SPEC["delta_verified"], ("error",), "OOPS"),
    # batch
    ("batch: extra member", api.BatchReply, SPEC["batch"], ("results", 0, "extra"), 1),
    ("batch: missing _efficiency", api.BatchReply, SPEC["batch"], ("_efficiency",), DROP),
    ("batch: efficiency without underscore", api.BatchReply,
     {**{k: v for k, v in SPEC["batch"].items() if k != "_efficiency"}, "efficiency": SPEC["batch"]["_efficiency"]},
     ("totalQueued",), 2),
    ("batch: string delta", api.BatchReply, SPEC["batch"], ("results", 0, "delta"), "-390"),
    ("batch: float index", api.BatchReply, SPEC["batch"], ("results", 0, "index"), 0.5),
    ("batch: null idempotent", api.BatchReply, SPEC["batch"], ("results", 0, "idempotent"), None),
    # derive, compare, buckets, scope
    ("derive: extra member", api.DeriveReply, SPEC["derive"], ("extra",), None),
    ("derive: string computedBalance", api.DeriveReply, SPEC["derive"], ("computedBalance",), "-1247"),
    ("derive: null computedBalance", api.DeriveReply, SPEC["derive"], ("computedBalance",), None),
    ("derive: missing breakdown", api.DeriveReply, SPEC["derive"], ("breakdown",), DROP),
    ("derive: bool hasMore as integer", api.DeriveReply, SPEC["derive"], ("pagination", "hasMore"), 0),
    ("derive: row extra member", api.DeriveReply, SPEC["derive"], ("deltas", 0, "anchorId"), "x"),
    ("scope: extra member", api.Scope, SPEC["scope"], ("extra",), 1),
    ("scope: unknown mode", api.Scope, SPEC["scope"], ("mode",), "month"),
    ("scope: itemsRoot type reported", api.Scope, SPEC["scope"], ("startingCheckpointType",), "itemsRoot"),
    ("scope: string defaulted", api.Scope, SPEC["scope"], ("defaulted",), "false"),
    ("scope: integer defaulted", api.Scope, SPEC["scope"], ("defaulted",), 0),
    ("bucket: string endingBalance", api.Bucket, SPEC["bucket"], ("endingBalance",), "-810"),
    ("bucket: bad bucket", api.Bucket, SPEC["bucket"], ("bucket",), "2026-02-02T00"),
    ("compare: missing discrepancy", api.CompareReply, SPEC["compare"], ("discrepancy",), DROP),
    ("compare: unknown resolution code", api.CompareReply, SPEC["compare"], ("discrepancy", "resolution", "code"), "X"),
    ("compare: string amount", api.CompareReply, SPEC["compare"], ("discrepancy", "amount"), "47"),
    ("compare: null matchesYours", api.CompareReply, SPEC["compare"], ("matchesYours",), None),
    # checkpoints
    ("checkpoint: extra member", api.Checkpoint, SPEC["checkpoint"], ("idempotent",), True),
    ("checkpoint: PROCESSING", api.Checkpoint, SPEC["checkpoint"], ("status",), "PROCESSING"),
    ("checkpoint: string chainId", api.Checkpoint, SPEC["checkpoint"], ("chainId",), "296"),
    ("checkpoint: unknown chainId", api.Checkpoint, SPEC["checkpoint"], ("chainId",), 1),
    ("checkpoint: null proofRoot", api.Checkpoint, SPEC["checkpoint"], ("proofRoot",), None),
    ("checkpoint: string netChange", api.Checkpoint, SPEC["checkpoint"], ("netChange",), "-1247"),
    ("checkpoint reply: missing idempotent", api.CheckpointCommitReply, SPEC["checkpoint"], ("checkpointId",),
     SPEC["checkpoint"]["checkpointId"]),
    ("all customers: extra member", api.CheckpointCommitReply, SPEC["checkpoint_all"], ("extra",), 1),
    ("all customers: item without idempotent", api.CheckpointCommitReply,
     {**SPEC["checkpoint_all"], "checkpoints": [SPEC["checkpoint"]]}, ("count",), 1),
    ("checkpoints compare: unknown relation", api.CheckpointsCompareReply, SPEC["checkpoints_compare"], ("relation",), "same"),
    ("checkpoints compare: missing consistency", api.CheckpointsCompareReply, SPEC["checkpoints_compare"],
     ("consistency",), DROP),
    ("consistency: C period null", api.CheckpointsCompareReply, SPEC["checkpoints_compare"],
     ("consistency", "firstCheckpoint", "period"), None),
    # preimage C (optional members omitted, never null; netChange a string)
    ("C: period null", api.CheckpointPreimage, EMPTY_C, ("period",), None),
    ("C: fromSequence null", api.CheckpointPreimage, EMPTY_C, ("fromSequence",), None),
    ("C: previousProofRoot null", api.CheckpointPreimage, EMPTY_C, ("previousProofRoot",), None),
    ("C: numeric netChange", api.CheckpointPreimage, EMPTY_C, ("netChange",), 0),
    ("C: non-canonical netChange", api.CheckpointPreimage, EMPTY_C, ("netChange",), "-1247.0"),
    ("C: missing treeSize", api.CheckpointPreimage, EMPTY_C, ("treeSize",), DROP),
    ("C: extra member", api.CheckpointPreimage, EMPTY_C, ("proofRoot",), UPPER_HASH.lower()),
    ("B: missing previousProofHash", api.BatchPreimage, BATCH_PREIMAGE, ("previousProofHash",), DROP),
    # receipts
    ("receipt: extra member", api.Receipt, SPEC["receipt"], ("extra",), 1),
    ("receipt: missing accessHint", api.Receipt, SPEC["receipt"], ("accessHint",), DROP),
    ("receipt: string finalBalance", api.Receipt, SPEC["receipt"], ("finalBalance",), "-1247"),
    ("receipt: numeric deltaDecimal", api.Receipt, SPEC["receipt"], ("deltas", 0, "deltaDecimal"), -420),
    ("receipt: line not VERIFIED", api.Receipt, SPEC["receipt"], ("deltas", 0, "status"), "QUEUED"),
    ("receipt: C netChange number", api.Receipt, SPEC["receipt"], ("verification", "checkpoint", "netChange"), -1247),
    ("receipt: C toSequence null", api.Receipt, SPEC["receipt"], ("verification", "checkpoint", "toSequence"), None),
    ("receipt: uppercase merkle proof", api.Receipt, SPEC["receipt"], ("deltas", 0, "merkleProof", 0), UPPER_HASH),
    ("receipt: links extra", api.Receipt, SPEC["receipt"], ("links", "html"), "http://127.0.0.1:8787/x"),
    ("public receipt: accessHint present", api.PublicReceipt, public_receipt(SPEC["receipt"]), ("accessHint",), "24YUQB"),
    ("public receipt: accessHint null", api.PublicReceipt, public_receipt(SPEC["receipt"]), ("accessHint",), None),
    ("public receipt: metadata present", api.PublicReceipt, public_receipt(SPEC["receipt"]),
     ("deltas", 0, "metadata"), {"plan": "growth"}),
    ("public receipt: metadata null", api.PublicReceipt, public_receipt(SPEC["receipt"]), ("deltas", 0, "metadata"), None),
    ("receipt document: missing presentation", api.ReceiptDocument, SPEC["receipt"], ("checkpointId",),
     SPEC["receipt"]["checkpointId"]),
    ("presentation: UTC Z form", api.Presentation, SPEC["receipt_document_presentation"]["presentation"],
     ("generatedAtLocal",), "2026-03-01T00:06:00.000Z"),
    # verify
    ("verify: record with metadata", api.VerifyReply, SPEC["verify"], ("records", 0, "metadata"), None),
    ("verify: checkpoint kind with batch object", api.VerifyReply, SPEC["verify"], ("verification", "batch"),
     BATCH_PREIMAGE),
    ("verify: checkpoint kind without C", api.VerifyReply, SPEC["verify"], ("verification", "checkpoint"), None),
    ("verify: batch kind with customerId", api.VerifyReply, batch_verify(), ("customerId",), "cust_acme_001"),
    ("verify: batch kind with C", api.VerifyReply, batch_verify(), ("verification", "checkpoint"), EMPTY_C),
    ("verify: unknown kind", api.VerifyReply, SPEC["verify"], ("kind",), "receipt"),
    ("verify: unknown message", api.VerifyReply, SPEC["verify"], ("message",), "fine"),
    ("verify: string amount", api.VerifyReply, SPEC["verify"], ("records", 0, "amount"), "-420"),
    ("verify: integer verified", api.VerifyReply, SPEC["verify"], ("verified",), 1),
    # customers, usage, limits, gaps
    ("customers: extra", api.CustomerList, SPEC["customers"], ("customers", 0, "status"), "x"),
    ("customers: page-style only", api.CustomerList, SPEC["customers"], ("pagination", "offset"), 0),
    ("customers: short customerReference", api.CustomerList, SPEC["customers"],
     ("customers", 0, "customerReference"), "0x1234"),
    ("customer detail: null period", api.CustomerDetail, SPEC["customer_detail"], ("period",), None),
    ("customer detail: numeric partition", api.CustomerDetail, SPEC["customer_detail"], ("customerPartition",), 3306683275),
    ("customer detail: other policy", api.CustomerDetail, SPEC["customer_detail"], ("sharedRecord", "policy"), "OPEN"),
    ("summary: string netBalance", api.CustomersSummary, SPEC["customers_summary"], ("netBalance",), "-1247"),
    ("usage: float consumed", api.UsageReply, SPEC["usage"], ("consumedDeltas",), 1.5),
    ("usage: missing remaining", api.UsageReply, SPEC["usage"], ("remaining",), DROP),
    ("limits: boolean", api.LimitsReply, SPEC["limits"], ("maxPageSize",), True),
    ("gaps: unknown state", api.GapsReply, SPEC["gaps"], ("gaps", 0, "state"), "queued"),
    ("customer receipts: extra", api.CustomerReceipts, SPEC["customer_receipts"], ("receipts", 0, "extra"), 1),
    ("dashboard customer: integration source", api.DashboardCustomer, SPEC["dashboard_customer"], ("source",), "integration"),
    ("dashboard customer: null unitLabel", api.DashboardCustomer, SPEC["dashboard_customer"], ("unitLabel",), None),
    # deliveries
    ("delivery: member named status", api.Delivery, SPEC["delivery"], ("status",), "delivered"),
    ("delivery: unknown deliveryStatus", api.Delivery, SPEC["delivery"], ("deliveryStatus",), "sent"),
    ("delivery: string attempts", api.Delivery, SPEC["delivery"], ("attempts",), "1"),
    ("delivery: unknown lastError", api.Delivery, SPEC["delivery"], ("lastError",), "boom"),
    ("delivery: integer captured", api.Delivery, SPEC["delivery"], ("captured",), 0),
    ("retried delivery: missing retriedAt", api.RetriedDelivery, SPEC["delivery"], ("attempts",), 1),
    # events
    ("delta.verified: metadata in wrong place", api.DeltaVerifiedData, SPEC["event_delta_verified"], ("metadata",), None),
    ("delta.verified: string amount", api.DeltaVerifiedData, SPEC["event_delta_verified"], ("delta", "amount"), "-420"),
    ("delta.verified: discrepancies not empty", api.DeltaVerifiedData, SPEC["event_delta_verified"],
     ("verification", "discrepancies"), ["x"]),
    ("delta.failed: numeric sequenceNumber", api.DeltaFailedData, SPEC["event_delta_failed"], ("sequenceNumber",), 5),
    ("checkpoint.verified: QUEUED", api.CheckpointVerifiedData, SPEC["event_checkpoint_verified"], ("status",), "QUEUED"),
    ("receipt.generated: extra", api.ReceiptGeneratedData, SPEC["event_receipt_generated"], ("accessHint",), "24YUQB"),
    ("compare_run: unknown initiator", api.CompareRunData, SPEC["event_compare_run"], ("initiator",), "admin"),
    ("envelope: data of another event", api.EventEnvelope,
     {**SPEC["event_envelope"], "data": SPEC["event_delta_verified"]}, ("event",), "delta.failed"),
    ("envelope: extra member", api.EventEnvelope,
     {**SPEC["event_envelope"], "data": SPEC["event_delta_verified"]}, ("extra",), 1),
    ("envelope: missing timestamp", api.EventEnvelope,
     {**SPEC["event_envelope"], "data": SPEC["event_delta_verified"]}, ("timestamp",), DROP),
    # envelopes
    ("success envelope: success false", api.SuccessEnvelope, SPEC["envelope_ok"], ("success",), False),
    ("success envelope: extra", api.SuccessEnvelope, SPEC["envelope_ok"], ("error",), None),
    ("error envelope: retryAfterSeconds null", api.ErrorEnvelope, SPEC["envelope_error"], ("error", "retryAfterSeconds"), None),
    ("error envelope: customerId null", api.ErrorEnvelope, SPEC["envelope_error"], ("error", "customerId"), None),
    ("error envelope: details null", api.ErrorEnvelope, SPEC["envelope_error"], ("error", "details"), None),
    ("error envelope: string retryAfterSeconds", api.ErrorEnvelope, SPEC["envelope_error"],
     ("error", "retryAfterSeconds"), "1"),
    ("error envelope: missing message", api.ErrorEnvelope, SPEC["envelope_error"], ("error", "message"), DROP),
    ("error envelope: extra error member", api.ErrorEnvelope, SPEC["envelope_error"], ("error", "status"), 400),
    ("pending: missing retryAfterSeconds", api.IdempotencyPendingEnvelope, SPEC["idempotency_pending"],
     ("error", "retryAfterSeconds"), DROP),
    ("pending: other code", api.IdempotencyPendingEnvelope, SPEC["idempotency_pending"], ("error", "code"), "RATE_LIMITED"),
    # control plane
    ("clock move: extra", ctl.ClockMove, SPEC["clock_move"], ("extra",), 1),
    ("clock move: float transitions", ctl.ClockMove, SPEC["clock_move"], ("processed", "transitions"), 2.5),
    ("clock move: unknown mode", ctl.ClockMove, SPEC["clock_move"], ("mode",), "paused"),
    ("settings: string delay", ctl.Settings, SPEC["settings"], ("processingDelaySeconds",), "1"),
    ("settings: integer sharedRecord", ctl.Settings, SPEC["settings"], ("sharedRecord",), 1),
    ("settings: missing journalSize", ctl.Settings, SPEC["settings"], ("journalSize",), DROP),
    ("settings: limits extra", ctl.Settings, SPEC["settings"], ("limits", "maxBatchSize"), 100),
    ("fault rule: missing match member", ctl.FaultRule, _fault_rule_reply(SPEC["fault_rule"]), ("match", "path"), DROP),
    ("fault rule: string nth", ctl.FaultRule, _fault_rule_reply(SPEC["fault_rule"]), ("nth", 0), "1"),
    ("fault rule: unknown action", ctl.FaultRule, _fault_rule_reply(SPEC["fault_rule"]), ("actions", 0, "type"), "crash"),
    ("fault rule: action extra member", ctl.FaultRule, _fault_rule_reply(SPEC["fault_rule"]), ("actions", 0, "ms"), 5),
    ("fault rule: action message null", ctl.FaultRule, _fault_rule_reply(SPEC["fault_rule"]), ("actions", 0, "message"), None),
    ("fault rule: bad rule id", ctl.FaultRule, _fault_rule_reply(SPEC["fault_rule"]), ("ruleId",), "rule_1"),
    ("journal: string status", ctl.JournalEntry, SPEC["journal_entry"], ("status",), "503"),
    ("journal: unknown route", ctl.JournalEntry, SPEC["journal_entry"], ("route",), "balance.nope"),
    ("journal: extra", ctl.JournalEntry, SPEC["journal_entry"], ("extra",), 1),
    ("workspace: missing counts member", ctl.Workspace, INLINE_EXAMPLES[0][1], ("counts", "events"), DROP),
    ("webhook config: bad secret", ctl.WebhookConfig, INLINE_EXAMPLES[2][1], ("secret",), "secret"),
    ("health: other storage", ctl.Health, INLINE_EXAMPLES[4][1], ("storage",), "disk"),
    ("keys: integer active", ctl.KeyList, INLINE_EXAMPLES[5][1], ("keys", 0, "active"), 1),
    ("state import: imported false", ctl.StateImported, INLINE_EXAMPLES[7][1], ("imported",), False),
]


@pytest.mark.parametrize("what,model,example,path,value", NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_broken_reply_is_rejected_by_both(what, model, example, path, value):
    assert_invalid(model, mutated(example, path, value), what)


def test_amount_type_is_a_json_number_in_both():
    schema = api.Bucket.model_json_schema()
    assert schema["properties"]["netChange"]["type"] == "number" and "anyOf" not in schema["properties"]["netChange"]
    for number in ("-390", "-42.5", "0.0000001", "123456789012.5"):
        text = json.dumps(SPEC["bucket"]).replace("-390", number, 1)
        assert_valid(api.Bucket, text, number)


# --- real replies of the running server ---------------------------------------------------------------

PREFIX = '{"success":true,"data":'


class Replies:
    """Validates real replies; collects every failure, so one run reports all of them."""

    def __init__(self):
        self.failures: list[str] = []
        self.checked: set[str] = set()

    def check(self, name: str, model: type[BaseModel], response: requests.Response, what: str = "") -> Any:
        label = f"{name} {what}".strip()
        assert response.ok and response.status_code != 202, f"{label}: {response.status_code} {response.text[:500]}"
        text = response.text
        assert text.startswith(PREFIX) and text.endswith("}"), f"{label}: not a success envelope: {text[:200]}"
        data = text[len(PREFIX):-1]
        self.checked.add(name)
        for problems, kind in ((pydantic_errors(model, data), "pydantic"), (schema_errors(model, data), "JSON Schema")):
            if problems:
                self.failures.append(f"{label} → {model.__name__} ({kind}): {problems[:5]}")
        api.SuccessEnvelope.model_validate_json(text)
        return json.loads(data)

    def value(self, label: str, model: type[BaseModel], value: Any) -> None:
        for problems, kind in ((pydantic_errors(model, value), "pydantic"), (schema_errors(model, value), "JSON Schema")):
            if problems:
                self.failures.append(f"{label} → {model.__name__} ({kind}): {problems[:5]}")

    def done(self, expected: dict[str, Any]) -> None:
        assert not self.failures, "\n".join(self.failures)
        assert self.checked == set(expected), sorted(set(expected) ^ self.checked)


def route(mock, name: str, replies: Replies, method: str, path: str, what: str = "", **kwargs) -> Any:
    return replies.check(name, ALL_MODELS[name], mock.call(method, path, **kwargs), what)


def emit_body(customer: str, delta: Any, reason: str, **extra) -> dict:
    return {"customerId": customer, "delta": delta, "reason": reason, **extra}


def test_real_api_replies_validate(mock, server):
    r = Replies()
    mock.settings(webhookDelivery="manual", processingDelaySeconds=0, verifyDelaySeconds=0)
    mock.freeze("2026-02-01T23:59:59.000Z")

    # writes: emit (new, replay), batch with a replay and a per-item failure, an adjustment
    first = route(mock, "balance.emit", r, "POST", f"{B}/delta", "new", headers={"Idempotency-Key": "k-1"},
                  json=emit_body("cust_a", -420, "flush 1", referenceId="u:1", metadata={"plan": "growth"}))
    route(mock, "balance.emit", r, "POST", f"{B}/delta", "replay",
          json=emit_body("cust_a", -420.0, "flush 1", referenceId="u:1", metadata={"plan": "growth"}))
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 120})
    mock.settings(cadenceLimitSeconds=60)
    batch = route(mock, "balance.emit_batch", r, "POST", f"{B}/delta/batch", json={"deltas": [
        emit_body("cust_a", -390, "flush 2", referenceId="u:2"),
        emit_body("cust_a", -420, "flush 1", referenceId="u:1", metadata={"plan": "growth"}),
        emit_body("cust_b", 5, "credit"),
        emit_body("cust_b", 6, "too soon"),
    ]})
    assert [x["status"] for x in batch["results"]][3] == "FAILED"
    mock.settings(cadenceLimitSeconds=None)
    nothing = route(mock, "balance.emit_batch", r, "POST", f"{B}/delta/batch", "nothing recorded", json={"deltas": [
        emit_body("cust_a", -1, "flush 1", referenceId="u:1")]})
    assert nothing["receiptId"] is None and nothing["results"][0]["error"] == "IDEMPOTENCY_CONFLICT"
    route(mock, "balance.emit", r, "POST", f"{B}/delta", "adjusting",
          json=emit_body("cust_a", 12.5, "correction", adjusts={"referenceId": "u:1"}))
    route(mock, "balance.delta_status", r, "GET", f"{B}/delta/{first['recordId']}", "queued")
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 1})
    route(mock, "balance.delta_status", r, "GET", f"{B}/delta/{first['recordId']}", "verified")

    # balances
    route(mock, "balance.derive", r, "GET", f"{B}/derive/cust_a?period=2026-02&granularity=day&limit=2&offset=1")
    route(mock, "balance.derive", r, "GET", f"{B}/derive/cust_a?granularity=week", "current month")
    route(mock, "balance.derive", r, "GET",
          f"{B}/derive/cust_a?startingCheckpoint={first['recordId']}&startingCheckpointType=recordId&startingBalance=10.5",
          "checkpoint mode")
    route(mock, "balance.compare", r, "POST", f"{B}/compare", "with breakdown", json={
        "customerId": "cust_a", "yourBalance": -797.5, "theirBalance": -1000, "period": "2026-02",
        "granularity": "month", "yourBreakdown": {"2026-02-01": -420}, "theirBreakdown": {"2026-02-01": -500}})
    route(mock, "balance.compare", r, "POST", f"{B}/compare", "matching", json={
        "customerId": "cust_a", "yourBalance": -797.5, "theirBalance": -797.5})

    # checkpoints: an empty one (January), the February lock, all customers, a longer series member
    empty = route(mock, "balance.checkpoint", r, "POST", f"{B}/checkpoint", "empty window",
                  json={"customerId": "cust_a", "period": "2026-01"})
    lock = route(mock, "balance.checkpoint", r, "POST", f"{B}/checkpoint", "one customer",
                 headers={"Idempotency-Key": "chk-1"}, json={"customerId": "cust_a", "period": "2026-02"})
    route(mock, "balance.checkpoint", r, "POST", f"{B}/checkpoint", "same again",
          json={"customerId": "cust_a", "period": "2026-02"})
    route(mock, "balance.checkpoint", r, "POST", f"{B}/checkpoint", "all customers", json={"period": "2026-02"})
    route(mock, "balance.checkpoint", r, "POST", f"{B}/checkpoint", "all customers, none", json={"period": "2026-01"})
    mock.ok("POST", f"{B}/delta", json=emit_body("cust_a", -3, "flush 3", referenceId="u:3"))
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 1})
    later = route(mock, "balance.checkpoint", r, "POST", f"{B}/checkpoint", "custom window",
                  json={"customerId": "cust_a", "startDate": "2026-02-01", "endDate": "2026-02-10"})
    fingerprints = [d["fingerprint"] for d in mock.ok("GET", f"{B}/derive/cust_a?period=2026-02")["deltas"]][:1]
    route(mock, "balance.checkpoint", r, "POST", f"{B}/checkpoint", "selected",
          json={"customerId": "cust_a", "period": "2026-02", "mode": "selected", "fingerprints": fingerprints})
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 1})
    route(mock, "balance.checkpoints_list", r, "GET", f"{B}/checkpoints?customerId=cust_a&limit=10")
    route(mock, "balance.checkpoints_compare", r, "GET",
          f"{B}/checkpoints/compare?customerId=cust_a&from={lock['checkpointId']}&to={later['proofRoot']}", "series")
    route(mock, "balance.checkpoints_compare", r, "GET",
          f"{B}/checkpoints/compare?customerId=cust_a&from={empty['checkpointId']}&to={lock['checkpointId']}",
          "no consistency")

    # receipts
    route(mock, "balance.receipt", r, "GET", f"{B}/receipt/cust_a", "all time")
    route(mock, "balance.receipt", r, "GET", f"{B}/receipt/cust_a?period=2026-02", "scoped")
    route(mock, "balance.invoice_proof", r, "GET", f"{B}/invoice-proof/cust_a?period=2026-02&limit=1&offset=1")
    route(mock, "balance.invoice_proof", r, "GET", f"{B}/invoice-proof/cust_a?period=2026-01", "empty")
    route(mock, "balance.receipt_document", r, "GET",
          f"{B}/receipts/{lock['checkpointId']}?customerDisplayName=true&timezone=Europe/Paris&unit=calls")
    route(mock, "balance.customer_receipts", r, "GET", f"{B}/customers/cust_a/receipts?limit=5")

    # dashboard customers, one with its shared record off
    route(mock, "dashboard.customers_create", r, "POST", "/dashboard/customers", "given id",
          headers={"Authorization": "Bearer x"},
          json={"displayName": "Off Corp", "customerId": "cust_off", "sharingStateHint": "DISABLED"})
    route(mock, "dashboard.customers_create", r, "POST", "/dashboard/customers", "generated id",
          headers={"Authorization": "Bearer x"}, json={"displayName": "Acme", "eventCadence": "DAILY", "unitLabel": "calls"})
    mock.ok("POST", f"{B}/delta", json=emit_body("cust_off", -1, "usage"))
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 1})
    route(mock, "balance.invoice_proof", r, "GET", f"{B}/invoice-proof/cust_off?period=2026-02", "shared record off")

    # a FAILED delta (fault) and a pending one: gaps
    mock.ok("POST", "/_mock/faults", json={"match": {"route": "balance.emit"}, "times": 1,
                                          "actions": [{"type": "fail_verification"}]})
    failed = mock.ok("POST", f"{B}/delta", json=emit_body("cust_a", -7, "doomed"))
    mock.ok("POST", "/_mock/clock/advance", json={"seconds": 1})
    route(mock, "balance.delta_status", r, "GET", f"{B}/delta/{failed['recordId']}", "failed")
    mock.ok("POST", f"{B}/delta", json=emit_body("cust_a", -1, "pending"))
    route(mock, "balance.gaps", r, "GET", f"{B}/gaps/cust_a")
    route(mock, "balance.gaps", r, "GET", f"{B}/gaps/cust_off?fromSequence=1&limit=1", "no gaps")

    # customers, usage, limits
    mock.settings(planAllotment=100)
    route(mock, "balance.usage", r, "GET", f"{B}/usage", "allotment")
    mock.settings(planAllotment=None)
    route(mock, "balance.usage", r, "GET", f"{B}/usage", "unlimited")
    route(mock, "balance.limits", r, "GET", f"{B}/limits")
    route(mock, "balance.customers_list", r, "GET", f"{B}/customers?limit=2&page=1")
    route(mock, "balance.customers_summary", r, "GET", f"{B}/customers/summary")
    route(mock, "balance.customer", r, "GET", f"{B}/customers/cust_a?deltaLimit=3&period=2026-02")
    route(mock, "balance.customer", r, "GET", f"{B}/customers/cust_off", "shared record off")

    # public routes (no key)
    public = requests.Session()
    for root, what in ((lock["proofRoot"], "checkpoint root"), (empty["proofRoot"], "empty checkpoint"),
                       (batch["receiptId"], "batch root"), (failed["receiptId"], "batch of a FAILED delta")):
        r.check("public.verify", api.VerifyReply, public.get(f"{server.url}/api/v1/verify/{root}?source=both"), what)
    r.check("public.receipt", api.PublicReceipt, public.get(f"{server.url}/api/v1/receipt/{lock['checkpointId']}"))
    r.check("public.receipt", api.PublicReceipt,
            public.get(f"{server.url}/api/v1/receipt/{later['checkpointId']}?limit=1"), "later")

    # webhooks: a failing delivery (injected) for lastError, then list and retry
    mock.ok("POST", "/_mock/faults", json={"match": {"event": "customer.created"}, "times": 1,
                                          "actions": [{"type": "webhook_failure", "status": 500}]})
    mock.ok("POST", "/dashboard/customers", headers={"Authorization": "Bearer x"},
            json={"displayName": "Hooked", "customerId": "cust_hook"})
    drained = route(mock, "mock.drain", r, "POST", "/_mock/webhooks/drain", json={"force": True})
    assert drained["failed"] == 0 and drained["pending"] >= 1
    listed = route(mock, "balance.webhooks_list", r, "GET", f"{B}/webhooks?limit=100")
    route(mock, "balance.webhooks_list", r, "GET", f"{B}/webhooks?status=PENDING", "filtered")
    pending = [d for d in listed["deliveries"] if d["deliveryStatus"] == "pending"]
    assert pending and pending[0]["lastError"] == "injected_500"
    route(mock, "balance.webhook_retry", r, "POST", f"{B}/webhooks/{pending[0]['eventId']}/retry", json={})

    # a customer without deltas: the nullable members
    route(mock, "balance.derive", r, "GET", f"{B}/derive/cust_hook", "no deltas")
    route(mock, "balance.customer", r, "GET", f"{B}/customers/cust_hook", "no deltas")
    route(mock, "balance.gaps", r, "GET", f"{B}/gaps/cust_hook", "no deltas")
    route(mock, "balance.customers_list", r, "GET", f"{B}/customers?search=hook", "no deltas")
    route(mock, "balance.customers_list", r, "GET", f"{B}/customers?page=9", "past the end")

    # every event body in the outbox is an EventEnvelope of its type
    outbox = route(mock, "mock.outbox", r, "GET", "/_mock/webhooks/outbox?limit=1000")
    for entry in outbox["entries"]:
        r.value(f"event {entry['eventId']} {entry['event']}", api.EventEnvelope, entry["body"])
        r.value(f"event data {entry['event']}", api.EVENT_DATA_MODELS[entry["event"]], json.loads(entry["body"])["data"])
    assert {e["event"] for e in outbox["entries"]} == set(api.EVENT_DATA_MODELS)
    route(mock, "mock.journal", r, "GET", "/_mock/journal?limit=1000")

    r.done({name: None for name in API_ROUTES} | {"mock.drain": None, "mock.outbox": None, "mock.journal": None})


def test_real_control_replies_validate(mock):
    r = Replies()
    route(mock, "mock.workspace", r, "GET", "/_mock/workspace")
    route(mock, "mock.settings", r, "GET", "/_mock/settings")
    route(mock, "mock.settings_update", r, "PATCH", "/_mock/settings", json={
        "processingDelaySeconds": 0.5, "verifyDelaySeconds": 1.25, "cadenceLimitSeconds": 5, "planAllotment": 0,
        "publicOrigin": "https://mock.example:8443", "embedOrigins": ["https://app.example"],
        "limits": {"maxScopeMonths": 12, "maxLastNDays": 30, "maxRetentionDays": 365}, "webhookDelivery": "manual"})
    route(mock, "mock.seed", r, "POST", "/_mock/seed", json={"seed": 7})
    route(mock, "mock.clock", r, "GET", "/_mock/clock", "real")
    route(mock, "mock.clock_freeze", r, "POST", "/_mock/clock/freeze", json={"at": "2026-02-01T23:59:59.000Z"})
    route(mock, "mock.clock", r, "GET", "/_mock/clock", "frozen")
    mock.settings(planAllotment=None, cadenceLimitSeconds=None, processingDelaySeconds=0, verifyDelaySeconds=0)
    mock.ok("POST", f"{B}/delta", json=emit_body("cust_c", -1, "one"))
    route(mock, "mock.clock_set", r, "POST", "/_mock/clock/set", json={"now": "2026-02-02T00:00:00.000Z"})
    route(mock, "mock.clock_advance", r, "POST", "/_mock/clock/advance", json={"seconds": 90.5})
    route(mock, "mock.clock_advance", r, "POST", "/_mock/clock/advance", "until",
          json={"until": "2026-02-02T01:00:00.000Z"})

    rules = [
        {"match": {"method": "post", "route": "balance.emit"}, "nth": [1, 3], "probability": 0.5,
         "actions": [{"type": "latency", "ms": 1}, {"type": "error", "status": 503, "retryAfterSeconds": 1}],
         "description": "first emit answers 503"},
        {"match": {"path": "/api/v1/balance/usage"}, "times": 1, "actions": [{"type": "rate_limited"}]},
        {"match": {"route": "balance.derive", "customerId": "cust_c"}, "actions": [{"type": "cadence_limit", "message": "m"}]},
        {"match": {"route": "balance.compare"}, "actions": [{"type": "error", "status": 412}]},
        {"match": {"route": "balance.emit_batch"}, "actions": [{"type": "commit_then_drop"}]},
        {"match": {"route": "balance.checkpoint"}, "actions": [{"type": "fail_verification", "message": "no"}]},
        {"match": {"route": "public.verify"}, "actions": [{"type": "chain_unavailable"}]},
        {"match": {"event": "delta.verified"}, "actions": [{"type": "webhook_failure", "timeout": True}]},
        {"match": {"event": "delta.failed"}, "actions": [{"type": "webhook_failure"}]},
    ]
    created = [route(mock, "mock.faults_create", r, "POST", "/_mock/faults", rule["actions"][-1]["type"], json=rule)
               for rule in rules]
    mock.call("GET", f"{B}/usage", headers={"User-Agent": "t/1", "X-Chain-Id": "296", "Idempotency-Key": "x"})
    route(mock, "mock.faults_list", r, "GET", "/_mock/faults")
    route(mock, "mock.journal", r, "GET", "/_mock/journal?limit=10")
    route(mock, "mock.journal_clear", r, "DELETE", "/_mock/journal")
    route(mock, "mock.faults_delete", r, "DELETE", f"/_mock/faults/{created[0]['ruleId']}")
    route(mock, "mock.faults_clear", r, "DELETE", "/_mock/faults")

    route(mock, "mock.webhooks_config", r, "GET", "/_mock/webhooks/config")
    route(mock, "mock.webhooks_config_update", r, "PUT", "/_mock/webhooks/config", "rotate",
          json={"url": "http://127.0.0.1:9/hooks", "rotateSecret": True})
    route(mock, "mock.webhooks_config_update", r, "PUT", "/_mock/webhooks/config", "capture",
          json={"url": None, "secret": "whsec_abcd"})
    route(mock, "mock.outbox", r, "GET", "/_mock/webhooks/outbox?deliveryStatus=pending&limit=5")
    route(mock, "mock.drain", r, "POST", "/_mock/webhooks/drain", json={})
    route(mock, "mock.clock_unfreeze", r, "POST", "/_mock/clock/unfreeze", json={})
    route(mock, "mock.clock", r, "GET", "/_mock/clock", "offset")
    route(mock, "mock.reset", r, "POST", "/_mock/reset", json={})
    r.done({name: None for name in CONTROL_ROUTES
            if name not in ("mock.health", "mock.workspaces", "mock.keys_list", "mock.keys_register",
                            "mock.keys_delete", "mock.state_import")})


def test_real_global_replies_validate():
    """Global operations on a private server: registering keys and importing state touch every workspace."""
    r = Replies()
    with EmbeddedServer(Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0))) as srv:
        http = requests.Session()
        key = "pk_test_replies.s3cret"
        http.post(f"{srv.url}/api/v1/balance/delta", headers={"X-Api-Key": key},
                  json=emit_body("cust_g", -1, "one")).raise_for_status()
        r.check("mock.health", ctl.Health, http.get(f"{srv.url}/_mock/health"))
        r.check("mock.workspaces", ctl.WorkspaceList, http.get(f"{srv.url}/_mock/workspaces"))
        r.check("mock.keys_register", ctl.KeyRow, http.post(f"{srv.url}/_mock/keys", json={"key": key}))
        r.check("mock.keys_register", ctl.KeyRow, http.post(f"{srv.url}/_mock/keys", json={"key": "pk_live_x", "active": False}),
                "inactive")
        r.check("mock.keys_list", ctl.KeyList, http.get(f"{srv.url}/_mock/keys"))
        r.check("mock.keys_delete", ctl.KeyDeleted, http.delete(f"{srv.url}/_mock/keys/{key}"))
        snapshot = http.get(f"{srv.url}/_mock/state")
        assert snapshot.status_code == 200
        r.check("mock.state_import", ctl.StateImported, http.put(f"{srv.url}/_mock/state", data=snapshot.content))
    r.done({name: None for name in ("mock.health", "mock.workspaces", "mock.keys_list", "mock.keys_register",
                                    "mock.keys_delete", "mock.state_import")})


def test_real_error_replies_validate(mock):
    """Error replies of the running server against the error envelope (§1.4)."""
    def error(response, code):
        assert response.status_code >= 400 and response.json()["error"]["code"] == code, response.text
        assert_valid(api.ErrorEnvelope, response.text, code)
        return response.json()["error"]

    assert "details" in error(mock.call("POST", f"{B}/delta", json={"customerId": "c", "delta": 0, "reason": "r"}),
                              "VALIDATION_ERROR")
    assert "customerId" in error(mock.call("GET", f"{B}/derive/nobody"), "CUSTOMER_NOT_FOUND")
    error(mock.call("GET", f"{B}/nowhere"), "NOT_FOUND")
    error(mock.call("DELETE", f"{B}/usage"), "METHOD_NOT_ALLOWED")
    error(mock.call("GET", f"{B}/usage", headers={"X-Api-Key": "nope"}), "INVALID_API_KEY")
    mock.settings(cadenceLimitSeconds=60)
    mock.ok("POST", f"{B}/delta", json=emit_body("c", -1, "r"))
    limited = error(mock.call("POST", f"{B}/delta", json=emit_body("c", -1, "r")), "CADENCE_LIMIT")
    assert {"retryAfterSeconds", "customerId"} <= set(limited)
    mock.ok("POST", "/_mock/faults", json={"match": {"route": "balance.usage"}, "actions": [{"type": "rate_limited"}]})
    assert "retryAfterSeconds" in error(mock.call("GET", f"{B}/usage"), "RATE_LIMITED")


def test_raising_in_process_receiver_gives_a_contract_last_error():
    runtime = Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0))
    with EmbeddedServer(runtime) as srv:
        key = "pk_test_receiver"
        http = requests.Session()
        http.headers["X-Api-Key"] = key
        http.patch(f"{srv.url}/_mock/settings", json={"webhookDelivery": "manual"}).raise_for_status()
        with runtime.store.transaction() as conn:
            workspace = runtime.resolve_workspace(conn, key)

        def receiver(headers, body):
            raise RuntimeError("receiver down")

        runtime.webhook_callables[workspace.id] = receiver
        http.post(f"{srv.url}/dashboard/customers", headers={"Authorization": "Bearer x"},
                  json={"displayName": "A"}).raise_for_status()
        http.post(f"{srv.url}/_mock/webhooks/drain", json={"force": True}).raise_for_status()
        r = Replies()
        r.check("balance.webhooks_list", api.DeliveryList, http.get(f"{srv.url}/api/v1/balance/webhooks"))
        r.check("mock.outbox", ctl.Outbox, http.get(f"{srv.url}/_mock/webhooks/outbox"))
        r.done({"balance.webhooks_list": None, "mock.outbox": None})
