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

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from .. import __version__, jsonout
from ..operations import operation, path_of
from ..proofs.primitives import JSONInputError, parse_json_exact
from ..testkit import Workspace
from . import golden as goldens
from .actions import ACTIONS
from .expect import MISSING, get_path, match
from .generate import UsagePlan, UsageSummary, plan_usage
from .model import Scenario, ScenarioError, Step
from .refs import RefError, lookup, parse_path, substitute

USER_AGENT = f"pacspace-mock-replay/{__version__}"
DEFAULT_RETRY_STATUSES = (429, 502, 503)
RECORDED_HEADERS = ("retry-after", "idempotent-replayed", "allow", "content-disposition")
BASELINE_SETTINGS: dict[str, Any] = {
    # What every replay starts from on the mock, whatever the server's defaults (serve's delays).
    "processingDelaySeconds": 1, "verifyDelaySeconds": 2, "sharedRecord": True, "cadenceLimitSeconds": None,
    "planAllotment": None, "limits": {"maxScopeMonths": 24, "maxLastNDays": 90, "maxRetentionDays": 730},
    "publicOrigin": None, "webhookDelivery": "manual", "webhookTimestampClock": "wall",
    "idempotencyTtlSeconds": 86400, "journalSize": 1000, "embedOrigins": [],
}
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


# --- HTTP ---------------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    content: bytes
    envelope: Any = None  # the parsed JSON body (exact decimals), None if not JSON

    @property
    def json(self) -> bool:
        return self.envelope is not None

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300 and not (isinstance(self.envelope, dict) and self.envelope.get("success") is False)

    @property
    def data(self) -> Any:
        if isinstance(self.envelope, dict) and "data" in self.envelope:
            return self.envelope["data"]
        return MISSING

    @property
    def error(self) -> Any:
        if isinstance(self.envelope, dict) and isinstance(self.envelope.get("error"), dict):
            return self.envelope["error"]
        return MISSING

    @property
    def value(self) -> Any:
        """What references and `expect.data` see: data, or {"error": …}, or a summary of a non-JSON body."""
        if self.data is not MISSING:
            return self.data
        if self.error is not MISSING:
            return {"error": self.error}
        if self.envelope is not None:
            return self.envelope
        return {"contentType": self.headers.get("content-type"), "size": len(self.content),
                "sha256": hashlib.sha256(self.content).hexdigest(),
                "head": self.content[:8].decode("latin-1")}

    def retry_after(self) -> Decimal | None:
        header = self.headers.get("retry-after")
        if header and header.strip().isdigit():
            return Decimal(header.strip())
        error = self.error
        if isinstance(error, dict) and isinstance(error.get("retryAfterSeconds"), (int, Decimal)):
            return Decimal(error["retryAfterSeconds"])
        return None

    def recorded_headers(self) -> dict[str, str]:
        out = {name: self.headers[name] for name in RECORDED_HEADERS if name in self.headers}
        content_type = self.headers.get("content-type", "")
        if content_type and not content_type.startswith("application/json"):
            out["content-type"] = content_type
        return out


class ScenarioClient(Workspace):
    """The testkit's Workspace with exact-decimal bodies, a fixed User-Agent, and full replies."""

    def __init__(self, base_url: str, key: str, http: httpx.Client, dashboard_token: str = "scenario-replay"):
        super().__init__(base_url, key, http)
        self.dashboard_token = dashboard_token

    def request(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Api-Key": self.key, "User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
        content = kwargs.pop("content", None)
        if json_body is not None:
            content = jsonout.dumps(json_body)
        return self.http.request(method, self.base_url + path, content=content, headers=headers, **kwargs)

    def send(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = MISSING,
             raw_body: str | None = None, auth: str = "key", headers: dict[str, str] | None = None) -> Reply:
        sent = {"User-Agent": USER_AGENT}
        if auth in ("key", "dashboard"):
            sent["X-Api-Key"] = self.key
        if auth == "dashboard":
            sent["Authorization"] = f"Bearer {self.dashboard_token}"
        if body is not MISSING or raw_body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        content = raw_body if raw_body is not None else (None if body is MISSING else jsonout.dumps(body))
        url = self.base_url + path + query_string(query)
        response = self.http.request(method, url, content=content, headers=sent)
        envelope = None
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                envelope = parse_json_exact(response.content, max_depth=64)
            except (JSONInputError, ValueError):
                envelope = None
        return Reply(response.status_code, response.headers, response.content, envelope)


def query_string(query: dict[str, Any] | None) -> str:
    from .refs import as_text

    if not query:
        return ""
    return "?" + "&".join(f"{quote(str(k), safe='')}={quote(as_text(v), safe='')}" for k, v in query.items())


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


def probe_mock(base_url: str) -> bool:
    try:
        response = httpx.get(base_url.rstrip("/") + path_of("mock.health"), timeout=10.0)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    return response.status_code == 200 and isinstance(body, dict) and (body.get("data") or {}).get("status") == "ok"


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
                                               golden=_entry(step, skipped="not run")))
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


def units_of(step: Step, plan: UsagePlan | None = None) -> int:
    """Progress units of a step: one, or one per generated day and month-end checkpoint."""
    if step.action == "generate" and plan is not None:
        return plan.days + plan.months()
    return 1


def scenario_units(scenario: Scenario) -> int:
    total = 0
    for step in scenario.steps:
        if step.action == "generate" and "${" not in json.dumps(step.args, default=str):
            try:
                total += units_of(step, plan_usage(step.args, scenario.seed, _stream(scenario, step)))
                continue
            except (ValueError, KeyError):
                pass
        total += 1
    return total


def _stream(scenario: Scenario, step: Step) -> str:
    return f"{scenario.name}|{step.name or step.index}"


def _result_entry(step: Step, value: Any) -> dict[str, Any]:
    """The golden entry of a client-side step, honouring `golden: false` and `golden: [paths]`."""
    if step.golden is False:
        return _entry(step, golden=False)
    if isinstance(step.golden, list):
        return _entry(step, result={path: _or_absent(get_path(value, path)) for path in step.golden})
    return _entry(step, result=value)


def _entry(step: Step, **members: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"step": step.index}
    if step.name:
        entry["name"] = step.name
    entry["action"] = step.action
    entry.update(members)
    return entry


class _Run:
    """The state of one replay: the client, named values, raw replies."""

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
                self._control("mock.reset", {})
            wanted = {**BASELINE_SETTINGS, **scenario.settings, **(settings or {}), "seed": self.seed}
            applied = self._control("mock.settings_update", wanted)
            self.normalize.wall_signatures = applied.get("webhookTimestampClock", "wall") == "wall"
            out["settings"] = applied
            out["clock"] = self._control("mock.clock_freeze", {"at": self.start})
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

    def _control(self, name: str, body: Any = None) -> Any:
        """A control-plane call of the runner's own (setup, clock moves), by operation name."""
        op = operation(name)
        reply = self.client.send(op.method, op.path, body=body if body is not None else MISSING)
        if not reply.succeeded:
            raise StepError(f"{op.method} {op.path} answered {reply.status}: "
                            f"{reply.content[:300].decode('utf-8', 'replace')}")
        return reply.data

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

    # --- one step ------------------------------------------------------------------------------

    def step(self, step: Step) -> StepResult:
        result = StepResult(step)
        started = time.perf_counter()
        try:
            skip = self._skip_reason(step)
            if skip:
                result.outcome, result.note = "skipped", skip
                result.golden = _entry(step, skipped=skip)
                return result
            sub = lambda value: substitute(value, self.resolve)
            args, expect = sub(step.args), sub(step.expect) if step.expect else None
            if step.at:
                at = sub(step.at)
                if self.is_mock:
                    self._control("mock.clock_set", {"now": at})
                else:
                    result.note = f"at {at} ignored (no virtual clock on the service)"
            handler = getattr(self, "_do_" + step.action.replace("-", "_"), None)
            if handler is not None:
                handler(step, args, expect, result)
            else:
                self._http_step(step, args, expect, result, sub)
        except (RefError, StepError) as exc:
            result.outcome, result.messages = "error", [str(exc)]
        except httpx.HTTPError as exc:
            result.outcome, result.messages = "error", [f"the request failed: {type(exc).__name__}: {exc}"]
        finally:
            result.seconds = time.perf_counter() - started
        if result.outcome != "error" and step.name and result.value is not MISSING:
            self.values[step.name] = result.value
        if result.golden is None:
            result.golden = _entry(step, error=result.messages[0] if result.messages else result.outcome)
        return result

    def _skip_reason(self, step: Step) -> str | None:
        if step.only == "mock" and not self.is_mock:
            return "only: mock"
        if step.only == "service" and self.is_mock:
            return "only: service"
        if step.spec.mock_only and not self.is_mock:
            return "mock-only step (needs the /_mock control plane)"
        return None

    # --- HTTP steps (API and control plane) -----------------------------------------------------

    def _http_step(self, step: Step, args: Any, expect: dict | None, result: StepResult, sub: Callable) -> None:
        request = self._plan_request(step, args, sub)
        poll = sub(step.poll) if step.poll else None
        reply, attempts = self._send_with_retry(step, request)
        polls = 0
        if poll:
            every, limit = seconds_of(poll.get("every", 1)), seconds_of(poll.get("timeout", 60))
            waited = Decimal(0)
            while match(poll["until"], reply.data):
                if waited + every > limit:
                    break
                self._wait(every)
                waited += every
                polls += 1
                reply, more = self._send_with_retry(step, request)
                attempts += more
        result.status = reply.status
        result.value = reply.value
        if step.name:
            self.raw[step.name] = reply.content
        if step.action == "settings" and reply.succeeded and reply.data.get("webhookTimestampClock") == "wall":
            self.normalize.wall_signatures = True  # sticky: attempts made in wall mode stay in the outbox
        problems = _check_reply(reply, expect)
        if poll and match(poll["until"], reply.data):
            problems.insert(0, f"poll: the condition was still not met after {polls} repetition(s) "
                               f"({poll.get('timeout', 60)} s)")
        result.messages, result.outcome = problems, "failed" if problems else "passed"
        entry = _entry(step, request=self._request_record(request), status=reply.status)
        if attempts:
            entry["attempts"] = attempts
        if polls:
            entry["polls"] = polls
        headers = reply.recorded_headers()
        if headers:
            entry["headers"] = headers
        entry.update(self._golden_value(step, reply))
        result.golden = entry

    def _golden_value(self, step: Step, reply: Reply) -> dict[str, Any]:
        if step.golden is False:
            return {"golden": False}
        if reply.error is not MISSING:
            return {"error": reply.error}
        value = self.normalize(reply.data if reply.data is not MISSING else reply.value)
        if step.action == "workspace" and isinstance(value, dict) and "createdAt" in value:
            value = {**value, "createdAt": goldens.WALL}
        if isinstance(step.golden, list):
            return {"data": {path: _or_absent(get_path(value, path)) for path in step.golden}}
        return {"data": value}

    def _request_record(self, request: dict[str, Any]) -> dict[str, Any]:
        record = {"method": request["method"], "path": request["path"] + query_string(request.get("query"))}
        if request.get("body", MISSING) is not MISSING:
            record["body"] = request["body"]
        if request.get("raw_body") is not None:
            record["rawBody"] = request["raw_body"]
        return record

    def _plan_request(self, step: Step, args: Any, sub: Callable) -> dict[str, Any]:
        action = step.action
        args = dict(args) if isinstance(args, dict) else ({} if args is None else args)
        headers = {str(k): str(v) for k, v in sub(step.headers).items()} if step.headers else {}
        if step.idempotency_key:
            headers["Idempotency-Key"] = str(sub(step.idempotency_key))
        plan: dict[str, Any] = {"method": None, "path": None, "query": None, "body": MISSING, "raw_body": None,
                                "auth": "key", "headers": headers}
        spec = ACTIONS[action]
        if action == "request":
            plan.update(method=args["method"], path=args["path"], query=args.get("query"),
                        body=args.get("body", MISSING), raw_body=args.get("rawBody"), auth=args.get("auth", "key"))
            plan["headers"] = {**{str(k): str(v) for k, v in (args.get("headers") or {}).items()}, **headers}
            return plan
        if spec.kind == "api":
            params = {}
            for name in spec.path_params:
                if name not in args:
                    raise StepError(f"{action} needs {name}")
                params[name] = quote(_text(args.pop(name)), safe="")
            op = operation(spec.operation)
            if action == "public-receipt" and args.pop("pdf", False):
                op = operation("public.receipt_pdf")
            plan.update(method=op.method, path=op.url(**params), auth=spec.auth)
            if spec.body:
                plan["body"] = args
            else:
                plan["query"] = args or None
            return plan
        plan.update(self._control_request(action, args))
        return plan

    def _control_request(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """The control-plane request of a mock-only step (paths from the operation table)."""
        def call(name: str, body: Any = MISSING, query: dict[str, Any] | None = None, **params: str) -> dict[str, Any]:
            op = operation(name)
            return {"method": op.method, "path": op.url(**params), "body": body, "query": query}

        if action == "clock":
            (kind, value), = args.items()
            if kind == "set":
                return call("mock.clock_set", {"now": value})
            if kind == "advance":
                return call("mock.clock_advance", {"seconds": seconds_of(value)})
            if kind == "until":
                return call("mock.clock_advance", {"until": value})
            if kind == "freeze":
                return call("mock.clock_freeze", {} if value is True else {"at": value})
            return call("mock.clock_unfreeze", {})
        if action == "clear-faults":
            rule = args.get("ruleId")
            return call("mock.faults_delete", ruleId=quote(str(rule), safe="")) if rule else call("mock.faults_clear")
        if action == "fault":
            return call("mock.faults_create", fault_rule(args))
        if action == "drain":
            return call("mock.drain", {"force": bool(args.get("force", False))})
        if action == "journal":
            return call("mock.journal", query=args or None)
        if action == "outbox":
            return call("mock.outbox", query={**args, "limit": 1000})
        if action in ("settings", "webhook-config"):
            return call(ACTIONS[action].operation, args)
        if action == "workspace":
            return call("mock.workspace")
        raise StepError(f"no request for {action}")  # pragma: no cover

    def _send(self, request: dict[str, Any]) -> Reply:
        reply = self.client.send(request["method"], request["path"], query=request.get("query"),
                                 body=request.get("body", MISSING), raw_body=request.get("raw_body"),
                                 auth=request.get("auth", "key"), headers=request.get("headers"))
        if request["path"] == path_of("mock.outbox") and reply.succeeded:
            reply = self._outbox_pages(request, reply)
        return reply

    def _outbox_pages(self, request: dict[str, Any], first: Reply) -> Reply:
        data = first.data
        entries = list(data["entries"])
        while data["pagination"]["hasMore"]:
            page = self.client.send("GET", request["path"], query={**request["query"], "offset": len(entries)})
            if not page.succeeded:
                return page
            data = page.data
            entries += data["entries"]
        first.envelope = {"success": True, "data": {"entries": entries, "total": len(entries)}}
        return first

    def _send_with_retry(self, step: Step, request: dict[str, Any]) -> tuple[Reply, list[dict[str, Any]]]:
        retry = step.retry or {}
        times = int(retry.get("times", 0))
        statuses = tuple(retry.get("statuses") or DEFAULT_RETRY_STATUSES)
        cap = seconds_of(retry["maxWait"]) if "maxWait" in retry else None
        attempts: list[dict[str, Any]] = []
        reply = self._send(request)
        for _ in range(times):
            pending = reply.status == 202 and isinstance(reply.error, dict) and reply.error.get("code") == "IDEMPOTENCY_PENDING"
            if reply.status not in statuses and not pending:
                break
            asked = reply.retry_after()
            wait = Decimal(1) if asked is None else asked
            if cap is not None:
                wait = min(wait, cap)
            error = reply.error if isinstance(reply.error, dict) else {}
            attempts.append({"status": reply.status, "code": error.get("code"), "retryAfterSeconds": asked,
                             "waitedSeconds": wait})
            self._wait(wait)
            reply = self._send(request)
        return reply, attempts

    def _wait(self, seconds: Decimal) -> None:
        """Let time pass: on the mock's virtual clock, or (service) on the wall clock, capped."""
        if seconds <= 0:
            return
        if self.is_mock:
            self._control("mock.clock_advance", {"seconds": seconds})
        else:
            time.sleep(float(min(seconds, Decimal(str(self.runner.max_wait)))))

    def _report(self, units: int) -> None:
        self.units_reported += units
        self.runner.progress(units)

    # --- client-side steps ----------------------------------------------------------------------

    def _do_verify_receipt(self, step: Step, args: Any, expect: dict | None, result: StepResult) -> None:
        from ..proofs.verifier import verify_receipt

        spec = args if isinstance(args, dict) else {"receipt": args}
        source = spec["receipt"]
        if isinstance(source, str):
            if source not in self.raw:
                raise StepError(f"verify-receipt: step {source!r} has no reply to verify (it failed or was skipped)")
            source = self.raw[source]
            try:
                source = parse_json_exact(source, max_depth=64)
            except (JSONInputError, ValueError) as exc:
                raise StepError(f"verify-receipt: the reply of {spec['receipt']!r} is not JSON: {exc}") from None
        if isinstance(source, dict) and isinstance(source.get("data"), dict) and "success" in source:
            source = source["data"]
        if spec.get("tamper"):
            source = json.loads(jsonout.dumps(source), parse_float=Decimal)  # a copy
            for path, value in spec["tamper"].items():
                _set_path(source, path, value)
        report = verify_receipt(source, ledger_id=spec.get("ledgerId"))
        result.value = {"ok": report.ok, "failed": list(report.failed), "checks": dict(report.checks),
                        "messages": list(report.messages)}
        problems = match(expect["data"], result.value, "") if expect and "data" in expect else (
            [] if report.ok else [f"the receipt does not verify offline: failed {', '.join(report.failed)}",
                                  *report.messages[:5]])
        result.messages, result.outcome = problems, "failed" if problems else "passed"
        result.golden = _result_entry(step, self.normalize(result.value))

    def _do_expect_webhooks(self, step: Step, args: dict[str, Any], expect: dict | None, result: StepResult) -> None:
        event = args["event"]
        reply = self._send({"method": "GET", "path": path_of("mock.outbox"), "query": {"event": event, "limit": 1000}})
        if not reply.succeeded:
            raise StepError(f"reading the outbox answered {reply.status}")
        secrets = None
        if args.get("signed"):
            config = self._control("mock.webhooks_config")
            secrets = [s for s in (config["secret"], config.get("previousSecret")) if s]
        selected, problems = [], []
        for entry in reply.data["entries"]:
            try:
                envelope = json.loads(entry["body"], parse_float=Decimal)
            except ValueError:
                problems.append(f"{entry['eventId']}: the body is not JSON")
                continue
            view = {k: v for k, v in entry.items() if k not in ("body",)}
            view["data"] = envelope.get("data")
            if "where" in args and match(args["where"], view["data"]):
                continue
            selected.append(view)
            if "each" in args:
                problems += match(args["each"], view, entry["eventId"])
            if secrets is not None:
                problems += _signature_problems(entry, secrets)
        n = len(selected)
        where = f" with {args['where']}" if "where" in args else ""
        if "count" in args and n != args["count"]:
            problems.insert(0, f"expected {args['count']} {event} event(s){where}, the outbox holds {n}"
                               + _event_list(reply.data["entries"]))
        if "min" in args and n < args["min"]:
            problems.insert(0, f"expected at least {args['min']} {event} event(s){where}, the outbox holds {n}"
                               + _event_list(reply.data["entries"]))
        if "max" in args and n > args["max"]:
            problems.insert(0, f"expected at most {args['max']} {event} event(s){where}, the outbox holds {n}")
        if not any(k in args for k in ("count", "min", "max")) and n == 0:
            problems.insert(0, f"expected at least one {event} event{where}, the outbox holds none"
                               + _event_list(reply.data["entries"]))
        result.value = {"event": event, "count": n, "deliveries": [
            {k: v[k] for k in ("eventId", "deliveryStatus", "attempts", "lastError", "captured", "data") if k in v}
            for v in selected]}
        if expect and "data" in expect:
            problems += match(expect["data"], result.value, "")
        result.messages, result.outcome = problems, "failed" if problems else "passed"
        result.golden = _result_entry(step, self.normalize(result.value))

    def _do_generate(self, step: Step, args: dict[str, Any], expect: dict | None, result: StepResult) -> None:
        try:
            plan = plan_usage(args, self.seed, _stream(self.scenario, step))
        except (ValueError, KeyError) as exc:
            raise StepError(f"generate: {exc}") from None
        self.plans[step.index] = plan
        from ..proofs.primitives import format_ts

        summary = UsageSummary(plan.customers, plan.display_names, args["from"], "")
        size = int(args.get("batchSize", 100))
        if args.get("createCustomers"):
            for customer in plan.customers:
                body = {"customerId": customer, "displayName": plan.display_names.get(customer, customer)}
                reply = self.client.send("POST", "/dashboard/customers", body=body, auth="dashboard")
                if not reply.succeeded and not (reply.status == 409 and isinstance(reply.error, dict)):
                    raise StepError(f"generate: creating {customer} answered {reply.status}")
        last_date = args["from"]
        for flush in plan.flushes():
            last_date = flush.date
            if self.is_mock:
                self._control("mock.clock_set", {"now": format_ts(flush.at_ms)})
            for k in range(0, len(flush.items), size):
                items = flush.items[k:k + size]
                key = f"generate:{self.scenario.name}:{step.name or step.index}:{flush.date}:{k // size}"
                request = {"method": "POST", "path": "/api/v1/balance/delta/batch", "body": {"deltas": items},
                           "headers": {"Idempotency-Key": key[:255]}}
                reply, _ = self._send_with_retry(step, request)
                if not reply.succeeded:
                    raise StepError(f"generate: the batch of {flush.date} (items {k + 1}-{k + len(items)}) answered "
                                    f"{reply.status}: {reply.content[:300].decode('utf-8', 'replace')}")
                summary.batches += 1
                summary.add_items(items, reply.data["results"], flush.date[:7])
                summary.last_receipt_id = reply.data.get("receiptId") or summary.last_receipt_id
            self._report(1)
            if flush.month_end:
                period, at_ms = flush.month_end
                if self.is_mock:
                    self._control("mock.clock_set", {"now": format_ts(at_ms)})
                request = {"method": "POST", "path": "/api/v1/balance/checkpoint", "body": {"period": period}}
                reply, _ = self._send_with_retry(step, request)
                if not reply.succeeded:
                    raise StepError(f"generate: the month-end checkpoint of {period} answered {reply.status}: "
                                    f"{reply.content[:300].decode('utf-8', 'replace')}")
                summary.checkpoint_calls += 1
                summary.checkpoints_created += int(reply.data.get("createdCount", 0))
                self._report(1)
        summary.last = last_date
        result.value = summary.as_value()
        problems = match(expect["data"], result.value, "") if expect and "data" in expect else []
        if summary.failed and not (expect and "data" in expect):
            problems.append(f"{summary.failed} generated delta(s) failed, e.g. {summary.failures[:3]}")
        result.messages, result.outcome = problems, "failed" if problems else "passed"
        value = dict(result.value)
        if len(plan.customers) > 50:  # keep goldens readable: per-customer figures only for small runs
            for name in ("totals", "byPeriod", "customerIds", "displayNames"):
                value[name] = f"<{len(plan.customers)} customers>"
        result.golden = _result_entry(step, self.normalize(value))


# --- helpers ------------------------------------------------------------------------------------

def _check_reply(reply: Reply, expect: dict[str, Any] | None) -> list[str]:
    expect = expect or {}
    problems: list[str] = []
    status = expect.get("status")
    if status is not None:
        allowed = status if isinstance(status, list) else [status]
        if reply.status not in allowed:
            problems.append(f"status: expected {' or '.join(map(str, allowed))}, got {reply.status}{_brief(reply)}")
    elif "error" in expect:
        if 200 <= reply.status < 300:
            problems.append(f"status: expected an error reply, got {reply.status}")
    elif not reply.succeeded:
        problems.append(f"status: expected success, got {reply.status}{_brief(reply)}")
    if "data" in expect:  # a non-JSON reply (PDF) is matched through its summary (contentType, size, sha256)
        problems += match(expect["data"], reply.data if reply.json else reply.value, "data")
    if "error" in expect:
        problems += match(expect["error"], reply.error, "error")
    for name, want in (expect.get("headers") or {}).items():
        got = reply.headers.get(name, MISSING)
        problems += match(want, got, f"header {name}")
    return problems


def _brief(reply: Reply) -> str:
    error = reply.error
    if isinstance(error, dict):
        return f" ({error.get('code')}: {error.get('message')})"
    return ""


def _or_absent(value: Any) -> Any:
    return "<absent>" if value is MISSING else value


def _text(value: Any) -> str:
    from .refs import as_text

    return as_text(value)


def _set_path(target: Any, path: str, value: Any) -> None:
    parts = parse_path(path)
    node = target
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[str(part)]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[str(last)] = value


def _signature_problems(entry: dict[str, Any], secrets: list[str]) -> list[str]:
    problems = []
    body = entry["body"].encode("utf-8")
    for attempt in entry.get("attemptLog") or []:
        header, timestamp = attempt.get("signature"), attempt.get("timestamp")
        if not header or not timestamp:
            continue
        sent = {part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")}
        wanted = {hmac.new(s.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest() for s in secrets}
        if not sent & wanted:
            problems.append(f"{entry['eventId']}: attempt {attempt.get('attempt')} carries a signature that does "
                            "not match the workspace secret")
    return problems


def _event_list(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return ""
    lines = []
    for entry in entries[:10]:
        try:
            data = json.loads(entry["body"]).get("data", {})
        except ValueError:
            data = {}
        customer = data.get("customerId") or (data.get("delta") or {}).get("customerId") if isinstance(data, dict) else None
        lines.append(f"\n    {entry['eventId']} {entry['event']} {entry['deliveryStatus']} customer={customer}")
    return ":" + "".join(lines)


def fault_rule(args: dict[str, Any]) -> dict[str, Any]:
    """The contract's rule object from a fault step (full form passed through, shorthand expanded)."""
    if "match" in args:
        return dict(args)
    match_ = {k: args[k] for k in ("method", "route", "path", "customerId", "event") if k in args}
    extras = {k: args[k] for k in ("retryAfterSeconds", "message", "code") if k in args}
    actions: list[dict[str, Any]] = []
    if "latency" in args:
        actions.append({"type": "latency", "ms": args["latency"]})
    for kind in ("error", "rate_limited", "cadence_limit", "commit_then_drop", "fail_verification",
                 "chain_unavailable", "webhook_failure"):
        if kind not in args:
            continue
        value = args[kind]
        action: dict[str, Any] = {"type": kind}
        if kind == "error":
            action["status"] = value
        elif kind in ("rate_limited", "cadence_limit") and value is not True:
            action["retryAfterSeconds"] = value
        elif kind == "commit_then_drop" and value is not True:
            action["status"] = value
        elif kind == "webhook_failure" and value is not True:
            action.update({"timeout": True} if value == "timeout" else {"status": value})
        for name, extra in extras.items():
            if name == "retryAfterSeconds" and "retryAfterSeconds" in action:
                continue
            action[name] = extra
        actions.append(action)
    rule: dict[str, Any] = {"match": match_, "actions": actions}
    for name in ("nth", "times", "probability", "description"):
        if name in args:
            rule[name] = args[name]
    return rule


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
