"""The scenario actions, one module per group; the runner (`..runner._Run`) dispatches to them.

* `api`: a step that is one HTTP request (an API call, `request`, or a control-plane step):
  the request planned from the step catalog, sent with retry and poll, checked, its golden entry.
* `control`: the control-plane request of each mock-only step (clock, settings, faults, drain,
  outbox, journal, workspace), `fault_rule` for the fault shorthand.
* `send`: sending as a step does: the outbox read in full, retries after Retry-After, waits on
  the virtual clock, the runner's own control-plane calls.
* `webhooks`: `expect-webhooks` over the mock's outbox, with signature checks.
* `receipts`: `verify-receipt`, offline and optionally tampered.
* `usage`: `generate` (the usage plan sent in batches, month-end checkpoints) and progress units.
* `entries`: the golden entry of a step (also of skipped and failed ones).

Step functions take the replay's state (`_Run`) explicitly: `run.client`, `run.is_mock`,
`run.raw`, `run.normalize`, `run.scenario`, `run.seed`, `run.plans`, `run.sub`, `run.report`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": Decimal("0.001"), "s": Decimal(1), "m": Decimal(60), "h": Decimal(3600), "d": Decimal(86400)}


class StepError(Exception):
    """The step could not be carried out (as opposed to: it ran and an expectation failed)."""


def seconds_of(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise StepError(f"{value!r} is not a duration")
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    m = _DURATION_RE.match(str(value))
    if not m:
        raise StepError(f"{value!r} is not a duration (seconds, or 500ms, 90s, 5m, 2h, 1d)")
    return Decimal(m.group(1)) * _UNITS[m.group(2)]
