"""Exact amounts in SQL: each amount is also stored as three integers of its sign
(whole units, fraction digits 1-9, fraction digits 10-18), so SQLite can SUM a window of 100,000
deltas from an index without losing a digit or overflowing int64, and Python joins the parts."""

from __future__ import annotations

from decimal import Decimal

from ..proofs.primitives import EXACT

_E9 = Decimal(10) ** 9
_E18 = Decimal(10) ** 18


def split_amount(amount: Decimal) -> tuple[int, int, int]:
    sign = -1 if amount < 0 else 1
    magnitude = amount.copy_abs()
    units = int(magnitude)
    scaled = int(EXACT.multiply(magnitude - units, _E18))
    hi, lo = divmod(scaled, 10**9)
    return sign * units, sign * hi, sign * lo


def join_sums(units: int | None, hi: int | None, lo: int | None) -> Decimal:
    total = Decimal(units or 0)
    total = EXACT.add(total, EXACT.divide(Decimal(hi or 0), _E9))
    total = EXACT.add(total, EXACT.divide(Decimal(lo or 0), _E18))
    return total + 0  # normalizes -0


def add(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.add(a, b)
