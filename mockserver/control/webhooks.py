"""The webhook endpoint configuration, the outbox and drain (balance-api.md §8.8)."""

from __future__ import annotations

from typing import Any

from ..ledger.context import Ctx
from ..pipeline import Call
from ..webhooks import deliveries


def config_get(ctx: Ctx, call: Call) -> dict[str, Any]:
    return deliveries.config_object(ctx)


def config_put(ctx: Ctx, call: Call) -> dict[str, Any]:
    b = call.body
    return deliveries.set_config(ctx, url=b.url, url_given="url" in b.model_fields_set, secret=b.secret,
                                 rotate=b.rotateSecret)


def outbox(ctx: Ctx, call: Call) -> dict[str, Any]:
    q = call.query
    return deliveries.outbox(ctx, q.event, q.deliveryStatus, q.limit, q.offset)


def drain(ctx: Ctx, call: Call):
    return (yield from deliveries.drain(ctx, call.body.force))
