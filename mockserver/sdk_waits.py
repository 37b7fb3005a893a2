"""Virtual waits for the official SDK: its retry and poll waits move the workspace's virtual clock
(balance-api.md §8.3) by the same amount instead of sleeping.

How pacspace-sdk sleeps (read in every published version, 0.1.2 to 0.7.0; the same three sites, all
synchronous: no asyncio, no configurable sleeper). Each calls `time.sleep` through its module's
`time` global:

* `pacspace_sdk.client`, `HttpClient._request`: before a retry (408, 429, 500, 502, 503, 504; up to
  `max_retries`), the `Retry-After` / `retryAfterSeconds` of a 429 or 503, else a backoff of
  0.5 * 2^(n-1) s plus up to 25 % random jitter;
* `pacspace_sdk.polling`, `poll_until_terminal` (`balance.emit_and_wait`, `balance.wait_for_verified`):
  `pollInterval` between status reads, with its deadline (`timeout`) on `time.monotonic()`;
* `pacspace_sdk.submission`, `SubmissionCoordinator._pace_requests` (summary flushes): spacing of
  `maxRequestsPerMinute`, also on `time.monotonic()`.

The patch, scoped to one client instance: those modules' `time` global becomes a forwarder to the
real `time` module (installed once per process, idempotent), whose `sleep` and `monotonic` consult a
context variable. The variable is set only while a wrapped method of an attached client runs (the
client's own `_request`, `emit_and_wait`, `wait_for_verified` and `_pace_requests`, replaced on the
instance). Every other client, thread and caller sleeps for real; `monotonic` of an attached call is
the real one plus the virtual seconds waited, so the SDK's deadlines run on virtual time too.

A virtual wait is `POST /_mock/clock/advance` with the User-Agent `pacspace-mock-virtual-wait`,
rounded to the millisecond (the clock's precision); it runs due work (verification, webhook
attempts) like any advance. Control calls are not journaled (§8): the journal shows the waits as the
virtual instants (`at`) of the SDK's requests, and `VirtualWaits.waits` lists each one.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import sys
import threading
import time as _time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .operations import path_of

if TYPE_CHECKING:
    from .testkit import Workspace

WAIT_USER_AGENT = "pacspace-mock-virtual-wait"
_ATTRIBUTE = "_pacspace_mock_waits"  # the handle, on the client instance

#: module of the SDK -> the kind of wait its sleeps are
SLEEP_SITES = {"pacspace_sdk.client": "retry", "pacspace_sdk.polling": "poll", "pacspace_sdk.submission": "pace"}

_active: contextvars.ContextVar[VirtualWaits | None] = contextvars.ContextVar("pacspace_mock_virtual_waits",
                                                                             default=None)
_install_lock = threading.Lock()


@dataclass(frozen=True)
class VirtualWait:
    """One wait of the SDK, taken on the virtual clock."""

    kind: str  # "retry" (before a retried request), "poll" (between status reads), "pace" (summary flushes)
    seconds: float  # what the SDK asked for, to the millisecond
    previous: str  # the workspace's clock before the advance
    now: str  # and after


class _SdkTime:
    """Stands for the `time` module in one SDK module: the real one, except `sleep` and `monotonic`
    inside a call of an attached client. Looks the real functions up at each call, so a test that
    patches `time.sleep` still sees the SDK's real sleeps."""

    def __init__(self, kind: str):
        self._kind = kind

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)

    def sleep(self, seconds: float) -> None:
        waits = _active.get()
        if waits is None:
            return _time.sleep(seconds)
        waits._wait(self._kind, seconds)
        return None

    def monotonic(self) -> float:
        waits = _active.get()
        now = _time.monotonic()
        return now if waits is None else now + waits.total


def _install() -> list[str]:
    """Put the forwarder in each SDK module that sleeps; returns the modules that could not be
    patched (a future SDK that sleeps some other way)."""
    missing = []
    with _install_lock:
        for name, kind in SLEEP_SITES.items():
            try:
                module = sys.modules.get(name) or importlib.import_module(name)
            except ImportError:
                missing.append(name)
                continue
            current = getattr(module, "time", None)
            if isinstance(current, _SdkTime):
                continue
            if current is not _time:  # not the time module: something else patched it, or a new SDK
                missing.append(name)
                continue
            module.time = _SdkTime(kind)
    return missing


class VirtualWaits:
    """The virtual waits of one SDK client on one workspace. `waits` lists them in order, `total`
    is their sum in seconds; `detach()` (or leaving a `with` block) makes the client sleep again."""

    def __init__(self, workspace: Workspace, client: Any):
        self.workspace = workspace
        self.waits: list[VirtualWait] = []
        self._client = client
        self._total_ms = 0
        self._lock = threading.Lock()
        self._wrapped: list[tuple[Any, str]] = []

    @staticmethod
    def of(client: Any) -> VirtualWaits | None:
        """The handle attached to this client, None if it sleeps for real."""
        return getattr(client, "__dict__", {}).get(_ATTRIBUTE)

    @property
    def total(self) -> float:
        """Seconds waited on the virtual clock so far."""
        return self._total_ms / 1000

    @property
    def attached(self) -> bool:
        return bool(self._wrapped)

    def _wait(self, kind: str, seconds: float) -> None:
        ms = round(seconds * 1000)
        if ms <= 0:
            return
        ws = self.workspace
        reply = ws.request("POST", path_of("mock.clock_advance"), {"seconds": ms / 1000},
                           headers={"User-Agent": WAIT_USER_AGENT})
        if reply.status_code != 200:
            from .testkit import MockError

            raise MockError(f"a virtual wait of {ms / 1000} s ({kind}) could not advance the clock of "
                            f"{ws.key}: {reply.status_code} {reply.text[:500]}")
        data = reply.json()["data"]
        with self._lock:
            self._total_ms += ms
            self.waits.append(VirtualWait(kind, ms / 1000, data["previous"], data["now"]))

    def _attach(self) -> None:
        client = self._client
        balance = getattr(client, "balance", None)
        sites = [(getattr(client, "_client", None), "_request"), (balance, "emit_and_wait"),
                 (balance, "wait_for_verified"), (getattr(balance, "submission", None), "_pace_requests")]
        if not callable(getattr(sites[0][0], "_request", None)):
            raise TypeError(f"{client!r} is not a pacspace_sdk client (PacSpace.init(...)): it has no _client._request")
        for owner, name in sites:
            method = getattr(owner, name, None) if owner is not None else None
            if callable(method):
                setattr(owner, name, self._activating(method))
                self._wrapped.append((owner, name))
        client.__dict__[_ATTRIBUTE] = self

    def _activating(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _active.set(self)
            try:
                return method(*args, **kwargs)
            finally:
                _active.reset(token)

        return wrapper

    def detach(self) -> None:
        """The client sleeps for real again (its waits so far stay listed)."""
        for owner, name in self._wrapped:
            owner.__dict__.pop(name, None)
        self._wrapped.clear()
        if self._client.__dict__.get(_ATTRIBUTE) is self:
            del self._client.__dict__[_ATTRIBUTE]

    def __iter__(self) -> Iterator[VirtualWait]:
        return iter(list(self.waits))

    def __len__(self) -> int:
        return len(self.waits)

    def __enter__(self) -> VirtualWaits:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def __repr__(self) -> str:
        return f"<VirtualWaits {len(self.waits)} wait(s), {self.total} s on {self.workspace.key}>"


def virtual_waits(target: Workspace | tuple[str, str], client: Any) -> VirtualWaits:
    """Make an official SDK client (`pacspace_sdk.PacSpace`) wait on a workspace's virtual clock:
    its retry backoff and Retry-After sleeps, `emit_and_wait` / `wait_for_verified` polling and
    summary pacing advance the clock by the same amount instead of sleeping.

    `target` is a testkit `Workspace` or `(base_url, api_key)`. Only this client instance is
    affected. Returns the handle (`.waits`, `.total`, `.detach()`, a context manager); attaching
    the same client to the same workspace again returns the same handle.
    """
    if isinstance(target, tuple):
        from .testkit import Workspace

        base_url, key = target
        workspace = Workspace(base_url, key)
    else:
        workspace = target
    existing = VirtualWaits.of(client)
    if existing is not None:
        if (existing.workspace.base_url, existing.workspace.key) == (workspace.base_url, workspace.key):
            return existing
        existing.detach()
    missing = _install()
    if missing:
        warnings.warn(f"{', '.join(missing)}: no `time` module to stand in for (patched already, or an SDK "
                      "that sleeps another way): those waits stay real", RuntimeWarning, stacklevel=2)
    handle = VirtualWaits(workspace, client)
    handle._attach()
    return handle
