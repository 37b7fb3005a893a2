"""Control-plane glue for faults, journal and the webhook outbox (balance-api.md §8.6–§8.8)."""

from __future__ import annotations

from typing import Any

from ..ledger.context import Ctx
from ..webhooks import deliveries
from . import faults, journal
from .plane import ControlCall, _object


def faults_list(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return faults.list_rules(ctx)


def faults_create(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return faults.create_rule(ctx, call.body)


def faults_delete(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return faults.delete_rule(ctx, call.path["ruleId"])


def faults_clear(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return faults.clear_rules(ctx)


def journal_list(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return journal.entries(ctx, call.query)


def journal_clear(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return journal.clear(ctx)


def config_get(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return deliveries.config_object(ctx)


def config_put(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return deliveries.set_config(ctx, call.body)


def outbox(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    return deliveries.outbox(ctx, call.query)


def drain(ctx: Ctx, call: ControlCall) -> dict[str, Any]:
    body = _object(call.body, ("force",))
    force = body.get("force", False)
    if not isinstance(force, bool):
        from ..errors import validation

        raise validation("force", "type", "force must be true or false")
    return (yield from deliveries.drain(ctx, force))
