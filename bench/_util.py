"""Shared helpers for the benchmarks: an in-process HTTP client and median timing.

Everything runs in one process through httpx.ASGITransport, so figures measure the server's own
Python and SQLite work plus the (constant) cost of the in-process transport, never the network.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

KEY = "pk_test_bench"


def client(app, key: str = KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                             headers={"X-Api-Key": key})


async def ok(response: Awaitable[httpx.Response]) -> dict:
    """The data of a successful reply; a failed request makes the benchmark meaningless, so stop."""
    r = await response
    if r.status_code >= 300:
        raise SystemExit(f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:500]}")
    return r.json()["data"]


async def median_seconds(call: Callable[[], Awaitable[object]], runs: int, warmup: int = 1) -> float:
    """Median wall time of one awaited call (the median shrugs off the odd GC pause or noisy neighbour)."""
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms"
