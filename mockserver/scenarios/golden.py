"""Goldens: the normalized outputs of a whole replay, kept in a JSON file beside the scenario.

Normalization removes exactly what legitimately differs between two servers or two runs and
nothing else: the server's origin in URLs (`{origin}`, `{host}`), wall-clock values (webhook
`X-PacSpace-Timestamp` and signature in `wall` mode, latencies, a workspace's creation time).
Everything else (ids, hashes, virtual timestamps, amounts) is kept: with the scenario's fixed key
and seed the mock reproduces it byte for byte.
"""

from __future__ import annotations

import difflib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..jsonout import dumps as compact

FORMAT = "pacspace-mock-golden/1"
ELAPSED = "<elapsed>"
WALL = "<wall-clock>"


class Normalizer:
    def __init__(self, origin: str | None, wall_signatures: bool = True):
        self.origin = origin.rstrip("/") if origin else None
        self.host = self.origin.split("://", 1)[1] if self.origin and "://" in self.origin else None
        self.wall_signatures = wall_signatures

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            if self.origin and self.origin in value:
                value = value.replace(self.origin, "{origin}")
            if self.host and self.host in value:
                value = value.replace(self.host, "{host}")
            return value
        if isinstance(value, dict):
            journal_entry = "requestId" in value and "route" in value  # /_mock/journal: latencyMs is wall time
            out = {}
            for key, item in value.items():
                if key == "latencyMs" and journal_entry and isinstance(item, (int, Decimal)):
                    out[key] = ELAPSED
                elif key == "attemptLog" and isinstance(item, list):
                    out[key] = [self._attempt(a) for a in item]
                else:
                    out[key] = self(item)
            return out
        if isinstance(value, list):
            return [self(v) for v in value]
        return value

    def _attempt(self, attempt: Any) -> Any:
        attempt = self(attempt)
        if isinstance(attempt, dict):
            if isinstance(attempt.get("durationMs"), (int, Decimal)):
                attempt["durationMs"] = ELAPSED
            if self.wall_signatures:  # X-PacSpace-Timestamp in `wall` mode, and the signature over it
                for key in ("timestamp", "signature"):
                    if key in attempt:
                        attempt[key] = WALL
        return attempt


def pretty(value: Any, indent: int = 0) -> str:
    """Indented JSON with exact decimals; short lists of scalars stay on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {pretty(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            flat = "[" + ", ".join(compact(v) for v in value) + "]"
            if len(flat) + len(inner) <= 100:
                return flat
        return "[\n" + ",\n".join(inner + pretty(v, indent + 1) for v in value) + "\n" + pad + "]"
    return compact(value)


def render(document: dict[str, Any]) -> str:
    return pretty(document) + "\n"


def parse(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def canonical(document: Any) -> Any:
    """The document as it reads back from its file (types made uniform)."""
    return parse(render(document))


def load(path: Path) -> Any:
    return parse(path.read_text(encoding="utf-8"))


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(document), encoding="utf-8")


def differences(expected: Any, actual: Any, max_lines: int = 80) -> list[str]:
    """Readable differences between a stored golden and this run's, step by step."""
    actual = canonical(actual)
    if expected == actual:
        return []
    out: list[str] = []
    if not isinstance(expected, dict) or expected.get("format") != FORMAT:
        return ["the golden file is not a pacspace-mock golden (format " + FORMAT + "); rewrite it with --bless"]
    for key in ("scenario", "key", "setup"):
        if expected.get(key) != actual.get(key):
            out += [f"{key} differs:", *_diff(expected.get(key), actual.get(key), max_lines)]
    old, new = expected.get("steps", []), actual.get("steps", [])
    for i in range(max(len(old), len(new))):
        a = old[i] if i < len(old) else None
        b = new[i] if i < len(new) else None
        if a == b:
            continue
        label = _label(b or a)
        if a is None:
            out.append(f"{label}: new step, not in the golden")
        elif b is None:
            out.append(f"{label}: in the golden, not replayed")
        else:
            out += [f"{label} differs:", *_diff(a, b, max_lines)]
    return out


def _label(entry: Any) -> str:
    if not isinstance(entry, dict):
        return "step ?"
    name = f", {entry['name']!r}" if entry.get("name") else ""
    return f"step {entry.get('step', '?')} ({entry.get('action', '?')}{name})"


def _diff(a: Any, b: Any, max_lines: int) -> list[str]:
    lines = list(difflib.unified_diff(pretty(a).splitlines(), pretty(b).splitlines(), "golden", "this run",
                                      lineterm="", n=2))
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more diff lines)"]
    return ["  " + line for line in lines]
