"""Replay a scenario against a server: a fresh embedded mock, a running mock, or the real service.

Against the mock the runner first makes the workspace deterministic: it resets the scenario's
workspace, sets the scenario's seed and settings over a fixed baseline (so the server's own
defaults do not matter) and freezes the clock at the scenario's start. From then on only the
steps move the clock. Against the real service the control plane does not exist: mock-only steps
are reported as skipped and waits (Retry-After, polling) take wall time.

Every step's outcome is checked against its expectations and written, normalized, into the
golden document, which is compared with (or, with bless, written to) the golden file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from . import golden as goldens
from .client import ScenarioClient, probe_mock
from .expect import MISSING
from .generate import UsagePlan
from .model import Scenario, ScenarioError, Step
from .refs import RefError, lookup, parse_path, substitute
from .steps import StepError, api, receipts, usage, webhooks
from .steps.entries import entry
from .steps.send import control
from .steps.usage import scenario_units, units_of

BASELINE_SETTINGS: dict[str, Any] = {
    # What every replay starts from on the mock, whatever the server's defaults (serve's delays).
    "processingDelaySeconds": 1, "verifyDelaySeconds": 2, "sharedRecord": True, "cadenceLimitSeconds": None,
    "planAllotment": None, "limits": {"maxScopeMonths": 24, "maxLastNDays": 90, "maxRetentionDays": 730},
    "publicOrigin": None, "webhookDelivery": "manual", "webhookTimestampClock": "wall",
    "idempotencyTtlSeconds": 86400, "journalSize": 1000, "embedOrigins": [],
}
#: The runner's own steps; every other action is one HTTP request (an API call or the control plane).
CLIENT_STEPS = {
    "expect-webhooks": webhooks.expect_webhooks,
    "verify-receipt": receipts.verify_receipt_step,
    "generate": usage.generate,
}


# --- targets ------------------------------------------------------------------------------------

class Target:
    """Where a replay runs: base URL, an HTTP client, and whether the /_mock control plane exists."""

    def __init__(self, base_url: str, is_mock: bool, label: str, server: Any = None, timeout: float = 600.0,
                 http: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.is_mock = is_mock
        self.label = label
        self.server = server
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=timeout)

    @classmethod
    def embedded(cls, db_path: str = ":memory:", config: Any = None) -> Target:
        """A fresh embedded mock (uvicorn thread on an ephemeral loopback port), by default with
        serve's defaults (the replay sets every setting it depends on anyway)."""
        from ..embedded import EmbeddedServer
        from ..runtime import Runtime, ServerConfig

        server = EmbeddedServer(Runtime(config or ServerConfig(), db_path=db_path)).start()
        return cls(server.url, True, "embedded mock", server)

    @classmethod
    def remote(cls, base_url: str, kind: str = "auto") -> Target:
        """A running server. kind: auto (probe GET /_mock/health), mock or service."""
        base_url = base_url.rstrip("/")
        if kind == "auto":
            kind = "mock" if probe_mock(base_url) else "service"
        return cls(base_url, kind == "mock", f"{'mock' if kind == 'mock' else 'service'} at {base_url}")

    def close(self) -> None:
        if self._own_http:
            self.http.close()
        if self.server is not None:
            self.server.stop()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- results ------------------------------------------------------------------------------------

@dataclass
class StepResult:
    step: Step
    outcome: str = "passed"  # passed | failed | error | skipped
    messages: list[str] = field(default_factory=list)
    status: int | None = None
    value: Any = MISSING
    golden: dict[str, Any] | None = None
    seconds: float = 0.0
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("passed", "skipped")


@dataclass
class ScenarioResult:
    scenario: Scenario
    target: str
    key: str
    steps: list[StepResult] = field(default_factory=list)
    setup_error: str | None = None
    golden_status: str = "off"  # off | match | mismatch | created | blessed | missing | skipped
    golden_note: str | None = None
    golden_diff: list[str] = field(default_factory=list)
    golden_path: Path | None = None
    golden_document: dict[str, Any] | None = None
    seconds: float = 0.0
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (self.setup_error is None and all(s.ok for s in self.steps)
                and self.golden_status not in ("mismatch", "missing"))

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        for s in self.steps:
            out[s.outcome] += 1
        return out

    def __getitem__(self, name: str) -> Any:
        """A named step's value (what `${name}` refers to)."""
        return self.values[name]


class ScenarioFailed(AssertionError):
    """A replay used as a test fixture did not meet its expectations."""


# --- the runner ---------------------------------------------------------------------------------

class Runner:
    def __init__(self, target: Target, *, api_key: str | None = None, dashboard_token: str | None = None,
                 bless: bool = False, use_golden: bool = True, ci: bool = False, golden_dir: Path | None = None,
                 fail_fast: bool = False, max_wait: float = 60.0, reset: bool | None = None,
                 progress: Callable[[int], None] | None = None):
        self.target = target
        self.api_key = api_key
        self.dashboard_token = dashboard_token
        self.bless = bless
        self.use_golden = use_golden
        self.ci = ci
        self.golden_dir = Path(golden_dir) if golden_dir else None
        self.fail_fast = fail_fast
        self.max_wait = max_wait
        self.reset = reset
        self.progress = progress or (lambda units: None)

    def run(self, scenario: Scenario, *, key: str | None = None, seed: int | None = None, start: str | None = None,
            settings: dict[str, Any] | None = None, reset: bool | None = None,
            use_golden: bool | None = None) -> ScenarioResult:
        key = key or self.api_key or scenario.default_key
        if reset is None:
            # Reset only the scenario's own workspace (or any on our own embedded server), never a user's.
            reset = self.reset if self.reset is not None else (key == scenario.default_key or
                                                               self.target.server is not None)
        started = time.perf_counter()
        token = self.dashboard_token or ("scenario-replay" if self.target.is_mock else None)
        client = ScenarioClient(self.target.base_url, key, self.target.http, token or "")
        run = _Run(self, scenario, client, key)
        result = ScenarioResult(scenario, self.target.label, key)
        try:
            setup = run.setup(reset, seed, start, settings)
        except (StepError, httpx.HTTPError, RefError) as exc:
            result.setup_error = f"setup failed: {exc}"
            result.seconds = time.perf_counter() - started
            return result
        stop = False
        for step in scenario.steps:
            if stop:
                result.steps.append(StepResult(step, "skipped", note="not run: an earlier step failed (--fail-fast)",
                                               golden=entry(step, skipped="not run")))
                continue
            reported = run.units_reported
            step_result = run.step(step)
            result.steps.append(step_result)
            # generate reports its days as it goes; top up whatever an early stop left out
            self.progress(max(0, units_of(step, run.plans.get(step.index)) - (run.units_reported - reported)))
            if self.fail_fast and not step_result.ok:
                stop = True
        result.values = run.values
        document = {"format": goldens.FORMAT, "scenario": scenario.name, "key": key, "seed": run.seed,
                    "setup": setup, "steps": [s.golden for s in result.steps]}
        result.golden_document = run.normalize(document)
        if use_golden if use_golden is not None else self.use_golden:
            self._golden(scenario, result, key)
        result.seconds = time.perf_counter() - started
        return result

    def _golden(self, scenario: Scenario, result: ScenarioResult, key: str) -> None:
        if scenario.golden_path is None:
            result.golden_status, result.golden_note = "off", "golden: false in the scenario"
            return
        if not self.target.is_mock and self.golden_dir is None:
            result.golden_status = "skipped"
            result.golden_note = "goldens hold the mock's outputs; against the service give --golden-dir to keep its own"
            return
        if key != scenario.default_key and self.target.is_mock:
            result.golden_status = "skipped"
            result.golden_note = f"replayed with key {key}, the golden belongs to {scenario.default_key}"
            return
        path = (self.golden_dir / scenario.golden_path.name) if self.golden_dir else scenario.golden_path
        result.golden_path = path
        document = result.golden_document
        if self.bless:
            goldens.write(path, document)
            result.golden_status = "blessed"
            return
        if not path.exists():
            if self.ci:
                result.golden_status = "missing"
                result.golden_note = f"no golden at {path}; run with --bless to write it"
            else:
                goldens.write(path, document)
                result.golden_status = "created"
            return
        try:
            stored = goldens.load(path)
        except (OSError, ValueError) as exc:
            result.golden_status, result.golden_note = "mismatch", f"cannot read {path}: {exc}"
            result.golden_diff = [f"cannot read the golden: {exc}"]
            return
        diff = goldens.differences(stored, document)
        result.golden_status = "mismatch" if diff else "match"
        result.golden_diff = diff


class _Run:
    """The state of one replay: the client, named values, raw replies, the golden normalizer.

    Steps are carried out by the modules of `steps`, which are given this state explicitly."""

    def __init__(self, runner: Runner, scenario: Scenario, client: ScenarioClient, key: str):
        self.runner = runner
        self.scenario = scenario
        self.client = client
        self.key = key
        self.is_mock = runner.target.is_mock
        self.values: dict[str, Any] = {}
        self.raw: dict[str, bytes] = {}
        self.plans: dict[int, UsagePlan] = {}
        self.units_reported = 0
        self.seed = scenario.seed
        self.start = scenario.start
        self.normalize = goldens.Normalizer(runner.target.base_url)

    # --- setup ---------------------------------------------------------------------------------

    def setup(self, reset: bool, seed: int | None, start: str | None, settings: dict[str, Any] | None) -> dict[str, Any]:
        scenario = self.scenario
        if seed is not None:
            self.seed = seed
        if start is not None:
            self.start = start
        out: dict[str, Any] = {}
        if self.is_mock:
            if reset:
                control(self, "mock.reset", {})
            wanted = {**BASELINE_SETTINGS, **scenario.settings, **(settings or {}), "seed": self.seed}
            applied = control(self, "mock.settings_update", wanted)
            self.normalize.wall_signatures = applied.get("webhookTimestampClock", "wall") == "wall"
            out["settings"] = applied
            out["clock"] = control(self, "mock.clock_freeze", {"at": self.start})
        created = []
        for customer in scenario.customers:
            if "displayName" not in customer:
                continue
            if not self.client.dashboard_token:
                created.append({"customerId": customer["id"], "skipped": "no --dashboard-token for the service"})
                continue
            body = {"customerId": customer["id"], **{k: v for k, v in customer.items() if k != "id"}}
            reply = self.client.send("POST", "/dashboard/customers", body=body, auth="dashboard")
            if not reply.succeeded:
                raise StepError(f"creating customer {customer['id']!r} answered {reply.status}: "
                                f"{reply.content[:300].decode('utf-8', 'replace')}")
            created.append(reply.data)
        if created:
            out["customers"] = created
        return out

    # --- references ----------------------------------------------------------------------------

    def resolve(self, expression: str) -> Any:
        parts = parse_path(expression)
        root = str(parts[0])
        if root == "vars":
            return lookup(self.scenario.vars, parts[1:], expression, "vars")
        if root == "scenario":
            members = {"name": self.scenario.name, "start": self.start, "seed": self.seed, "key": self.key,
                       "environment": self.scenario.environment, "description": self.scenario.description}
            return lookup(members, parts[1:], expression, "scenario")
        if root not in self.values:
            raise RefError(f"${{{expression}}}: step {root!r} has no result (it failed or was skipped)")
        return lookup(self.values[root], parts[1:], expression, root)

    def sub(self, value: Any) -> Any:
        """The value with its `${...}` references replaced."""
        return substitute(value, self.resolve)

    def report(self, units: int) -> None:
        self.units_reported += units
        self.runner.progress(units)

    # --- one step ------------------------------------------------------------------------------

    def step(self, step: Step) -> StepResult:
        result = StepResult(step)
        started = time.perf_counter()
        try:
            skip = self._skip_reason(step)
            if skip:
                result.outcome, result.note = "skipped", skip
                result.golden = entry(step, skipped=skip)
                return result
            args, expect = self.sub(step.args), self.sub(step.expect) if step.expect else None
            if step.at:
                at = self.sub(step.at)
                if self.is_mock:
                    control(self, "mock.clock_set", {"now": at})
                else:
                    result.note = f"at {at} ignored (no virtual clock on the service)"
            CLIENT_STEPS.get(step.action, api.http_step)(self, step, args, expect, result)
        except (RefError, StepError) as exc:
            result.outcome, result.messages = "error", [str(exc)]
        except httpx.HTTPError as exc:
            result.outcome, result.messages = "error", [f"the request failed: {type(exc).__name__}: {exc}"]
        finally:
            result.seconds = time.perf_counter() - started
        if result.outcome != "error" and step.name and result.value is not MISSING:
            self.values[step.name] = result.value
        if result.golden is None:
            result.golden = entry(step, error=result.messages[0] if result.messages else result.outcome)
        return result

    def _skip_reason(self, step: Step) -> str | None:
        if step.only == "mock" and not self.is_mock:
            return "only: mock"
        if step.only == "service" and self.is_mock:
            return "only: service"
        if step.spec.mock_only and not self.is_mock:
            return "mock-only step (needs the /_mock control plane)"
        return None


def run_scenario(scenario: Scenario | str | Path, *, base_url: str | None = None, **options: Any) -> ScenarioResult:
    """Load (if needed) and replay one scenario on a fresh embedded server or `base_url`."""
    from .locate import resolve_scenario

    if not isinstance(scenario, Scenario):
        scenario = resolve_scenario(str(scenario))
    target = Target.remote(base_url) if base_url else Target.embedded()
    try:
        return Runner(target, **options).run(scenario)
    finally:
        target.close()


__all__ = [
    "Runner",
    "ScenarioError",
    "ScenarioFailed",
    "ScenarioResult",
    "StepResult",
    "Target",
    "run_scenario",
    "scenario_units",
]
