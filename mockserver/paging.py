"""The offset-style pagination object shared by the API and the control plane (balance-api.md §1.12)."""

from __future__ import annotations

from typing import Any


def offset_page(limit: int, offset: int, total: int, returned: int) -> dict[str, Any]:
    """Offset-style pagination object (§1.12)."""
    return {"limit": limit, "offset": offset, "total": total, "hasMore": offset + returned < total}
