"""Generated usage: many daily deltas from a compact description, the same on every run.

    generate:
      customers: 1000              # or a list of ids
      from: 2026-01-01
      days: 365                    # or to: 2026-12-31
      usage: {distribution: lognormal, median: 400, sigma: 0.5}
      weekends: 0.4                # Saturday/Sunday factor
      spread: 0.8                  # per-customer scale (lognormal sigma)
      checkpoint: month-end        # all-customer checkpoint of each completed month

Every amount comes from a keyed hash of (scenario seed, step, customer, day) mapped through the
distribution's inverse CDF, so it does not depend on the order of the draws, on Python's `random`
or on the Faker version. Faker (seeded with the scenario seed) only supplies company names when
`names: faker` asks for readable customer ids and display names.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import NormalDist
from typing import Any

from ..proofs.primitives import civil_from_days, days_from_civil

_NORMAL = NormalDist()
DAY_MS = 86_400_000


def _day_number(text: str) -> int:
    year, month, day = (int(p) for p in text.split("-"))
    return days_from_civil(year, month, day)


def _date_text(day: int) -> str:
    y, m, d = civil_from_days(day)
    return f"{y:04d}-{m:02d}-{d:02d}"


def _clock_ms(text: str) -> int:
    h, m, s = (int(p) for p in text.split(":"))
    if h > 23 or m > 59 or s > 59:
        raise ValueError(f"{text!r} is not a time of day HH:MM:SS")
    return ((h * 60 + m) * 60 + s) * 1000


class Draws:
    """Uniform draws in (0, 1) from a keyed hash: independent of call order."""

    def __init__(self, seed: int, stream: str):
        self.prefix = f"pacspace-mock:generate:v1|{seed}|{stream}|".encode()

    def uniform(self, *parts: Any) -> float:
        digest = hashlib.blake2b(self.prefix + "|".join(map(str, parts)).encode(), digest_size=8).digest()
        return (int.from_bytes(digest, "big") + 0.5) / 18446744073709551616.0


def _num(spec: dict[str, Any], name: str, default: float | None = None) -> float:
    value = spec.get(name, default)
    if value is None:
        raise ValueError(f"usage.{name} is required for the {spec['distribution']} distribution")
    return float(value)


def sample(spec: dict[str, Any], u: float) -> float:
    """Inverse CDF of the usage distribution at u (0 < u < 1)."""
    kind = spec["distribution"]
    if kind == "constant":
        return _num(spec, "value")
    if kind == "uniform":
        lo, hi = _num(spec, "min"), _num(spec, "max")
        return lo + u * (hi - lo)
    if kind == "normal":
        return _num(spec, "mean") + _num(spec, "sd") * _NORMAL.inv_cdf(u)
    if kind == "lognormal":
        return _num(spec, "median") * math.exp(_num(spec, "sigma") * _NORMAL.inv_cdf(u))
    if kind == "poisson":
        mean = _num(spec, "mean")
        if mean > 50:  # normal approximation with continuity correction
            return max(0.0, math.floor(mean + math.sqrt(mean) * _NORMAL.inv_cdf(u) + 0.5))
        k, p = 0, math.exp(-mean)
        total = p
        while total < u and k < 10_000:
            k += 1
            p *= mean / k
            total += p
        return float(k)
    if kind == "choice":
        values = [float(v) for v in spec["values"]]
        weights = [float(w) for w in spec.get("weights") or [1] * len(values)]
        if len(weights) != len(values) or sum(weights) <= 0:
            raise ValueError("usage.weights must have one positive weight per value")
        target, running = u * sum(weights), 0.0
        for value, weight in zip(values, weights):
            running += weight
            if target < running:
                return value
        return values[-1]
    raise ValueError(f"unknown distribution {kind!r}")


@dataclass
class Flush:
    day: int
    date: str
    at_ms: int
    items: list[dict[str, Any]]
    month_end: tuple[str, int] | None = None  # (period, checkpoint instant) after this day


@dataclass
class UsagePlan:
    customers: list[str]
    display_names: dict[str, str]
    first_day: int
    last_day: int
    args: dict[str, Any]
    seed: int
    stream: str
    flush_ms: int = 0
    checkpoint_ms: int = 0
    scales: dict[str, float] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return self.last_day - self.first_day + 1

    def months(self) -> int:
        return sum(1 for f in self.flushes(items=False) if f.month_end)

    def flushes(self, items: bool = True) -> Iterator[Flush]:
        for day in range(self.first_day, self.last_day + 1):
            date = _date_text(day)
            flush = Flush(day, date, day * DAY_MS + self.flush_ms, self._items(day, date) if items else [])
            y, m, d = civil_from_days(day)
            _, next_m, _ = civil_from_days(day + 1)
            if next_m != m and self.args.get("checkpoint", "none") == "month-end" and self._covers_month(day, d):
                flush.month_end = (f"{y:04d}-{m:02d}", (day + 1) * DAY_MS + self.checkpoint_ms)
            yield flush

    def _covers_month(self, last: int, last_date_day: int) -> bool:
        return self.first_day <= last - last_date_day + 1  # the month's first day was generated too

    def _items(self, day: int, date: str) -> list[dict[str, Any]]:
        args, draws = self.args, Draws(self.seed, self.stream)
        usage = args["usage"]
        decimals = int(usage.get("decimals", 0))
        quantum = Decimal(1).scaleb(-decimals)
        weekend = float(args.get("weekends", 1))
        active = float(args.get("activeProbability", 1))
        sign = Decimal(-1) if args.get("sign", "debit") == "debit" else Decimal(1)
        weekday = (day + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
        factor = weekend if weekday >= 5 else 1.0
        lo, hi = usage.get("min"), usage.get("max")
        period = date[:7]
        out = []
        for n, customer in enumerate(self.customers, 1):
            if active < 1 and draws.uniform("active", customer, day) >= active:
                continue
            value = sample(usage, draws.uniform("usage", customer, day)) * self.scales[customer] * factor
            if lo is not None:
                value = max(value, float(lo))
            if hi is not None:
                value = min(value, float(hi))
            amount = Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_EVEN)
            if amount == 0:
                continue  # a delta is never zero: no usage that day
            fields = {"customer": customer, "date": date, "period": period, "n": n}
            out.append({
                "customerId": customer,
                "delta": sign * amount,
                "reason": _fill(args.get("reason", "daily_usage_flush:{date}"), fields),
                "referenceId": _fill(args.get("referenceId", "usage:{customer}:{date}"), fields),
            })
        return out


def _fill(template: str, fields: dict[str, Any]) -> str:
    return template.format_map(fields)


def customer_ids(args: dict[str, Any], seed: int) -> tuple[list[str], dict[str, str]]:
    """Customer ids (and display names with `names: faker`)."""
    given = args["customers"]
    if isinstance(given, list):
        return [str(c) for c in given], {}
    count = int(given)
    if args.get("names") == "faker":
        from faker import Faker

        fake = Faker("en_US")
        fake.seed_instance(seed)
        ids, names = [], {}
        for n in range(1, count + 1):
            company = fake.company()
            slug = re.sub(r"[^a-z0-9]+", "_", company.lower()).strip("_")[:40] or "customer"
            customer = f"cust_{slug}_{n:04d}"
            ids.append(customer)
            names[customer] = company
        return ids, names
    pattern = args.get("ids", "cust_{n:04d}")
    return [pattern.format(n=n) for n in range(1, count + 1)], {}


def plan_usage(args: dict[str, Any], seed: int, stream: str) -> UsagePlan:
    """Validate the generate arguments beyond the schema and lay out the plan."""
    customers, names = customer_ids(args, seed)
    if len(set(customers)) != len(customers):
        raise ValueError("the customer ids are not unique (check the ids pattern: it needs {n})")
    first = _day_number(args["from"])
    if "to" in args:
        last = _day_number(args["to"])
        if last < first:
            raise ValueError("to is before from")
    else:
        last = first + int(args.get("days", 1)) - 1
    sample(args["usage"], 0.5)  # fails early on missing distribution parameters
    plan = UsagePlan(customers, names, first, last, args, seed, stream,
                     flush_ms=_clock_ms(args.get("flushAt", "23:59:59")),
                     checkpoint_ms=_clock_ms(args.get("checkpointAt", "00:05:00")))
    spread = float(args.get("spread", 0))
    draws = Draws(seed, stream)
    for customer in customers:
        plan.scales[customer] = math.exp(spread * _NORMAL.inv_cdf(draws.uniform("scale", customer))) if spread else 1.0
    return plan


@dataclass
class UsageSummary:
    customers: list[str]
    display_names: dict[str, str]
    first: str
    last: str
    deltas: int = 0
    recorded: int = 0
    replayed: int = 0
    failed: int = 0
    batches: int = 0
    checkpoint_calls: int = 0
    checkpoints_created: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    by_period: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    last_receipt_id: str | None = None
    period_counts: dict[str, int] = field(default_factory=dict)

    def add_items(self, items: list[dict[str, Any]], results: list[dict[str, Any]], period: str) -> None:
        for item, result in zip(items, results):
            self.deltas += 1
            if result.get("status") == "FAILED":
                self.failed += 1
                if len(self.failures) < 20:
                    self.failures.append({"customerId": item["customerId"], "referenceId": item["referenceId"],
                                          "error": result.get("error"), "message": result.get("message")})
                continue
            if result.get("idempotent"):
                self.replayed += 1
            else:
                self.recorded += 1
            customer = item["customerId"]
            self.totals[customer] = self.totals.get(customer, Decimal(0)) + item["delta"]
            month = self.by_period.setdefault(period, {})
            month[customer] = month.get(customer, Decimal(0)) + item["delta"]
            self.period_counts[period] = self.period_counts.get(period, 0) + 1

    def as_value(self) -> dict[str, Any]:
        periods = {p: {"deltas": self.period_counts.get(p, 0), "total": sum(v.values(), Decimal(0)), "customers": len(v)}
                   for p, v in sorted(self.by_period.items())}
        return {
            "customers": len(self.customers),
            "from": self.first,
            "to": self.last,
            "deltas": self.deltas,
            "recorded": self.recorded,
            "replayed": self.replayed,
            "failed": self.failed,
            "batches": self.batches,
            "checkpoints": {"calls": self.checkpoint_calls, "created": self.checkpoints_created},
            "total": sum(self.totals.values(), Decimal(0)),
            "periods": periods,
            "totals": {c: self.totals.get(c, Decimal(0)) for c in self.customers},
            "byPeriod": {p: dict(sorted(v.items())) for p, v in sorted(self.by_period.items())},
            "customerIds": list(self.customers),
            "displayNames": dict(self.display_names),
            "failures": list(self.failures),
            "lastReceiptId": self.last_receipt_id,
        }
