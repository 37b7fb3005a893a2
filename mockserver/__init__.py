"""pacspace-mock: a local, stateful, deterministic stand-in for the PacSpace Balance API.

`mockserver.running()` runs it in-process for tests without pytest (the pytest plugin's fixtures
do the same for pytest). Importing this package imports nothing else: the server stack arrives
with the first `running()` entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .inprocess import Running

__version__ = "0.1.0"


def running(seed: int | None = None, *, start: str | None = None, settings: dict[str, Any] | None = None,
            environment: str = "test", key: str | None = None, sdk: dict[str, Any] | None = None,
            real_sleep: bool = False, url: str | None = None) -> Running:
    """A clean workspace of an in-process pacspace-mock, as a context manager or a decorator::

        with mockserver.running(seed=7, start="2026-02-01T00:00:00Z") as mock:
            mock.sdk.balance.emit("cust_1", -5, "usage")
            mock.assert_balance("cust_1", -5)

        @mockserver.running(seed=7)
        def test_x(self, mock): ...          # the workspace comes as the last positional argument

    `mock` (a `mockserver.inprocess.MockWorkspace`) has `.url`, `.key`, `.sdk` (the official client on
    it, whose retry and poll waits advance the virtual clock; `.waits` lists them) and everything of
    the pytest plugin's `pacspace`: `.clock`, `.faults`, `.webhooks`, `.journal`, `.settings()`,
    `.call()`, `assert_balance`, `assert_receipt_verifies`, `assert_webhook`.

    seed, start (a frozen clock, RFC 3339), settings (PATCHed), environment ("test"/"live") as the
    plugin's marker; key: a fixed API key (default: derived from the decorated function's name, so ids
    repeat run to run); sdk: keyword arguments of `PacSpace.init`; real_sleep: the client sleeps for
    real; url: a running `pacspace-mock serve` instead of the embedded server (started once per
    process, on first use).
    """
    from .inprocess import Running

    return Running(seed, start=start, settings=settings, environment=environment, key=key, sdk=sdk,
                   real_sleep=real_sleep, url=url)
