"""Query integers and pagination objects shared by the API and the control plane (balance-api.md §1.8, §1.12)."""

from __future__ import annotations

from typing import Any

from .errors import validation


def int_param(query: dict[str, str], name: str, default: int | None, lo: int, hi: int) -> int | None:
    """An integer query parameter: decimal digits only, within [lo, hi], never clamped (§1.8)."""
    value = query.get(name)
    if value is None:
        return default
    if not value.isdigit() or not value.isascii():
        raise validation(name, "type", f"{name} must be a whole number")
    number = int(value)
    if not lo <= number <= hi:
        raise validation(name, "range", f"{name} must be between {lo} and {hi}")
    return number


def offset_page(limit: int, offset: int, total: int, returned: int) -> dict[str, Any]:
    """Offset-style pagination object (§1.12)."""
    return {"limit": limit, "offset": offset, "total": total, "hasMore": offset + returned < total}
