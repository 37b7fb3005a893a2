"""Workspace settings and seed (balance-api.md §8.2, §8.4): validated by SettingsPatch
(control/schemas.py); a PATCH never touches another workspace."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import validation
from ..ledger.context import Ctx
from ..pipeline import Call


def patch_settings(ctx: Ctx, changes: dict[str, Any]) -> dict[str, Any]:
    """Store a checked subset of the settings; returns the new settings object."""
    settings = copy.deepcopy(ctx.ws.settings)
    for name, value in changes.items():
        if name == "limits":
            settings["limits"] = {**settings["limits"], **value}
        else:
            settings[name] = value
    if float(settings["verifyDelaySeconds"]) < float(settings["processingDelaySeconds"]):
        raise validation("verifyDelaySeconds", "range", "verifyDelaySeconds must be >= processingDelaySeconds")
    ctx.runtime.save_settings(ctx.conn, ctx.ws, settings)
    return settings


def settings_get(ctx: Ctx, call: Call) -> dict[str, Any]:
    return ctx.ws.settings


def settings_patch(ctx: Ctx, call: Call) -> dict[str, Any]:
    return patch_settings(ctx, call.body.changes())


def seed(ctx: Ctx, call: Call) -> dict[str, Any]:
    """§8.2: shorthand for PATCH /_mock/settings {"seed": n}."""
    return patch_settings(ctx, {"seed": call.body.seed})
