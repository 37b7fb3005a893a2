"""A step's entry in the golden document."""

from __future__ import annotations

from typing import Any

from ..expect import MISSING, get_path
from ..model import Step


def entry(step: Step, **members: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"step": step.index}
    if step.name:
        out["name"] = step.name
    out["action"] = step.action
    out.update(members)
    return out


def result_entry(step: Step, value: Any) -> dict[str, Any]:
    """The golden entry of a client-side step, honouring `golden: false` and `golden: [paths]`."""
    if step.golden is False:
        return entry(step, golden=False)
    if isinstance(step.golden, list):
        return entry(step, result=picked(step.golden, value))
    return entry(step, result=value)


def picked(paths: list[str], value: Any) -> dict[str, Any]:
    """`golden: [paths]`: only those members of the value, `<absent>` where there is none."""
    members = {path: get_path(value, path) for path in paths}
    return {path: "<absent>" if member is MISSING else member for path, member in members.items()}
