"""Replay reports: a summary table for people, JSON and JUnit XML for CI."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from typing import Any

from .runner import ScenarioResult, StepResult

MARKS = {"passed": "pass", "failed": "FAIL", "error": "ERROR", "skipped": "skip"}


def _where(result: ScenarioResult, line: int | None) -> str:
    path = result.scenario.path
    name = _rel(path) if path else result.scenario.file
    return f"{name}:{line}" if line else name


def _label(step: StepResult) -> str:
    s = step.step
    text = s.name or s.title or _args_summary(s)
    return text if len(text) <= 30 else text[:29] + "…"


def _args_summary(step) -> str:
    args = step.args
    if step.action == "verify-receipt":
        return f"receipt of {args if isinstance(args, str) else args.get('receipt')}"
    if step.action == "expect-webhooks":
        n = args.get("count", args.get("min"))
        return f"{args['event']}" + (f" ×{n}" if n is not None else "")
    if step.action == "clock" and isinstance(args, dict) and args:
        (kind, value), = args.items()
        return f"{kind} {value}" if value is not True else kind
    if step.action == "fault" and isinstance(args, dict):
        what = args.get("route") or args.get("event") or (args.get("match") or {}).get("route") or "rule"
        return f"fault on {what}"
    return ""


def table(result: ScenarioResult, verbose: bool = False) -> str:
    scenario = result.scenario
    lines = [f"{scenario.name} — {_where(result, None)}  ({result.target}, key {result.key})"]
    if result.setup_error:
        lines.append(f"  ERROR {result.setup_error}")
        return "\n".join(lines)
    lines.append(f"  {'#':>3}  {'step':<30}  {'action':<19}  {'status':>6}  {'result':<6}  {'ms':>7}")
    for step in result.steps:
        status = "" if step.status is None else str(step.status)
        lines.append(f"  {step.step.index:>3}  {_label(step):<30}  {step.step.action:<19}  {status:>6}  "
                     f"{MARKS[step.outcome]:<6}  {step.seconds * 1000:7.1f}")
    golden = {
        "off": "golden: off", "skipped": f"golden: skipped ({result.golden_note})",
        "match": f"golden {_rel(result.golden_path)}: match", "created": f"golden {_rel(result.golden_path)}: created",
        "blessed": f"golden {_rel(result.golden_path)}: rewritten (--bless)",
        "mismatch": f"golden {_rel(result.golden_path)}: MISMATCH",
        "missing": f"golden: MISSING ({result.golden_note})",
    }[result.golden_status]
    lines.append(f"  {golden}")
    counts = result.counts()
    verdict = "PASS" if result.ok else "FAIL"
    lines.append(f"  {len(result.steps)} steps: {counts['passed']} passed, {counts['failed']} failed, "
                 f"{counts['error']} errors, {counts['skipped']} skipped in {result.seconds:.2f} s — {verdict}")
    for step in result.steps:
        if step.outcome in ("failed", "error") or (verbose and step.note):
            title = f" — {step.step.title}" if step.step.title else ""
            head = {"failed": "FAIL", "error": "ERROR"}.get(step.outcome, step.outcome)
            lines.append(f"\n  {head} step {step.step.index} ({step.step.action}"
                         f"{', ' + repr(step.step.name) if step.step.name else ''}){title} at "
                         f"{_where(result, step.step.line)}")
            lines += [f"    {m}" for m in step.messages]
            if step.note:
                lines.append(f"    note: {step.note}")
    skipped = [s for s in result.steps if s.outcome == "skipped"]
    if skipped and not verbose:
        reasons: dict[str, int] = {}
        for s in skipped:
            reasons[s.note or "skipped"] = reasons.get(s.note or "skipped", 0) + 1
        lines.append("  skipped: " + "; ".join(f"{n} × {why}" for why, n in reasons.items()))
    if result.golden_status == "mismatch":
        lines.append(f"\n  golden mismatch ({_rel(result.golden_path)}); if the change is intended, rerun with --bless:")
        lines += [f"  {line}" for line in result.golden_diff]
    return "\n".join(lines)


def _rel(path: Any) -> str:
    if path is None:
        return ""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


def summary(results: list[ScenarioResult]) -> str:
    passed = sum(1 for r in results if r.ok)
    failed = len(results) - passed
    return f"{len(results)} scenario(s): {passed} passed, {failed} failed"


def as_dict(results: list[ScenarioResult]) -> dict[str, Any]:
    return {
        "ok": all(r.ok for r in results),
        "summary": {"scenarios": len(results), "passed": sum(r.ok for r in results),
                    "failed": sum(not r.ok for r in results)},
        "scenarios": [{
            "name": r.scenario.name,
            "file": str(r.scenario.path) if r.scenario.path else None,
            "target": r.target,
            "key": r.key,
            "ok": r.ok,
            "seconds": round(r.seconds, 3),
            "setupError": r.setup_error,
            "counts": r.counts(),
            "golden": {"status": r.golden_status, "path": str(r.golden_path) if r.golden_path else None,
                       "note": r.golden_note, "diff": r.golden_diff},
            "steps": [{
                "index": s.step.index, "name": s.step.name, "title": s.step.title, "action": s.step.action,
                "line": s.step.line, "outcome": s.outcome, "status": s.status, "messages": s.messages,
                "note": s.note, "seconds": round(s.seconds, 4),
            } for s in r.steps],
        } for r in results],
    }


def to_json(results: list[ScenarioResult]) -> str:
    return json.dumps(as_dict(results), indent=2, ensure_ascii=False) + "\n"


def to_junit(results: list[ScenarioResult]) -> str:
    root = ET.Element("testsuites", name="pacspace-mock replay")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=r.scenario.name, time=f"{r.seconds:.3f}")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        file = str(r.scenario.path) if r.scenario.path else r.scenario.file
        classname = f"scenario.{r.scenario.name}"
        if r.setup_error:
            case = ET.SubElement(suite, "testcase", classname=classname, name="setup", file=file)
            ET.SubElement(case, "error", message=r.setup_error).text = r.setup_error
            counts["tests"] += 1
            counts["errors"] += 1
        for s in r.steps:
            name = f"step {s.step.index:02d} {s.step.action}" + (f" {s.step.name}" if s.step.name else "")
            case = ET.SubElement(suite, "testcase", classname=classname, name=name, file=file,
                                 line=str(s.step.line), time=f"{s.seconds:.4f}")
            counts["tests"] += 1
            if s.outcome == "failed":
                ET.SubElement(case, "failure", message=s.messages[0] if s.messages else "failed").text = \
                    "\n".join(s.messages)
                counts["failures"] += 1
            elif s.outcome == "error":
                ET.SubElement(case, "error", message=s.messages[0] if s.messages else "error").text = \
                    "\n".join(s.messages)
                counts["errors"] += 1
            elif s.outcome == "skipped":
                ET.SubElement(case, "skipped", message=s.note or "skipped")
                counts["skipped"] += 1
        if r.golden_status != "off":
            case = ET.SubElement(suite, "testcase", classname=classname, name="golden", file=file)
            counts["tests"] += 1
            if r.golden_status in ("mismatch", "missing"):
                ET.SubElement(case, "failure", message=f"golden {r.golden_status}").text = \
                    "\n".join(r.golden_diff or [r.golden_note or ""])
                counts["failures"] += 1
            elif r.golden_status == "skipped":
                ET.SubElement(case, "skipped", message=r.golden_note or "skipped")
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
