"""Scenario files and replay: scripted billing stories with expectations and goldens.

    from mockserver.scenarios import run_scenario

    result = run_scenario("guide-flow")          # a bundled name or a file path
    assert result.ok, result.steps

The format is described by the JSON Schema shipped beside this module (`scenario.schema.json`);
`pacspace-mock replay` is the command line. Names are imported lazily, so the pytest plugin can
import `pytest_plugin.scenarios` without loading the runner until it is needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_scenario": "loader", "schema": "loader",
    "bundled_scenarios": "locate", "find_scenario": "locate", "resolve_scenario": "locate",
    "Scenario": "model", "ScenarioError": "model", "Step": "model",
    "Runner": "runner", "ScenarioFailed": "runner", "ScenarioResult": "runner", "StepResult": "runner",
    "Target": "runner", "run_scenario": "runner",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
