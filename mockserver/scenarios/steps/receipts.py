"""`verify-receipt`: a receipt (an earlier step's reply, or given inline) verified offline as
proofs.md describes, optionally tampered with first."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ... import jsonout
from ...proofs.primitives import JSONInputError, parse_json_exact
from ..expect import match
from ..model import Step
from ..refs import parse_path
from . import StepError
from .entries import result_entry

if TYPE_CHECKING:
    from ..runner import StepResult, _Run


def verify_receipt_step(run: _Run, step: Step, args: Any, expect: dict | None, result: StepResult) -> None:
    from ...proofs.verifier import verify_receipt  # loaded on first use

    spec = args if isinstance(args, dict) else {"receipt": args}
    source = spec["receipt"]
    if isinstance(source, str):
        if source not in run.raw:
            raise StepError(f"verify-receipt: step {source!r} has no reply to verify (it failed or was skipped)")
        source = run.raw[source]
        try:
            source = parse_json_exact(source, max_depth=64)
        except (JSONInputError, ValueError) as exc:
            raise StepError(f"verify-receipt: the reply of {spec['receipt']!r} is not JSON: {exc}") from None
    if isinstance(source, dict) and isinstance(source.get("data"), dict) and "success" in source:
        source = source["data"]
    if spec.get("tamper"):
        source = json.loads(jsonout.dumps(source), parse_float=Decimal)  # a copy
        for path, value in spec["tamper"].items():
            set_path(source, path, value)
    report = verify_receipt(source, ledger_id=spec.get("ledgerId"))
    result.value = {"ok": report.ok, "failed": list(report.failed), "checks": dict(report.checks),
                    "messages": list(report.messages)}
    problems = match(expect["data"], result.value, "") if expect and "data" in expect else (
        [] if report.ok else [f"the receipt does not verify offline: failed {', '.join(report.failed)}",
                              *report.messages[:5]])
    result.messages, result.outcome = problems, "failed" if problems else "passed"
    result.golden = result_entry(step, run.normalize(result.value))


def set_path(target: Any, path: str, value: Any) -> None:
    parts = parse_path(path)
    node = target
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[str(part)]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[str(last)] = value
