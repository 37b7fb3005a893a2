"""pytest wiring for scenarios, called from the plugin's hooks (plugin.py); the runner itself
(mockserver.scenarios) has no pytest imports:

* `add_options(parser)`: `--pacspace-scenarios` / ini `pacspace_scenarios` (opt-in collection),
  ini `pacspace_scenario_patterns`, `--pacspace-bless`.
* `collect_file(file_path, parent)`: a scenario file becomes one test item per step plus a
  `golden` item. The file is replayed once (per process) on the first item that runs, on the
  plugin's server (`--pacspace-url`) or on an embedded one, with the scenario's own key; each
  item then reports its step. A broken file is one collection error naming file and line.
* `run_marker_scenario(workspace, ref, ...)`: `@pytest.mark.pacspace(scenario="guide-flow")`
  replays a scenario into the test's workspace before the test, failing the setup if any
  expectation fails; the test reads the named results from `pacspace.scenario["lock"]`.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the runner is imported when a scenario is collected or replayed, not at startup
    from mockserver.scenarios.model import Scenario
    from mockserver.scenarios.runner import ScenarioResult, Target

DEFAULT_PATTERNS = ["*.scenario.yaml", "*.scenario.yml", "scenarios/*.yaml", "scenarios/*.yml"]
#: user property of a golden item that wrote its golden file; the plugin's terminal summary lists them
GOLDEN_WRITTEN = "pacspace_golden_written"
_TARGET_KEY = pytest.StashKey["Target"]()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("pacspace-mock")
    group.addoption("--pacspace-scenarios", action="store_true", default=False,
                    help="collect scenario files (see the ini option pacspace_scenario_patterns) as test items, "
                         "one per step plus one for the golden")
    group.addoption("--pacspace-bless", action="store_true", default=False,
                    help="rewrite the golden files of collected scenario files")
    parser.addini("pacspace_scenarios", type="bool", default=False,
                  help="collect scenario files as test items (as --pacspace-scenarios)")
    parser.addini("pacspace_scenario_patterns", type="linelist", default=DEFAULT_PATTERNS,
                  help="glob patterns of scenario files to collect, matched against the end of the path")


def in_ci() -> bool:
    """CI=true (or 1, yes): a missing golden fails instead of being written."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--pacspace-scenarios") or config.getini("pacspace_scenarios"))


def collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if file_path.suffix not in (".yaml", ".yml") or not enabled(parent.config):
        return None
    if not parent.session.isinitpath(file_path) and not matches(file_path, parent.config.getini(
            "pacspace_scenario_patterns")):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def matches(path: Path, patterns: list[str]) -> bool:
    """A glob matched against the last parts of the path (`scenarios/*.yaml` matches `x/scenarios/a.yaml`)."""
    parts = path.as_posix().split("/")
    for pattern in patterns:
        wanted = pattern.strip("/").split("/")
        if len(wanted) <= len(parts) and all(fnmatch.fnmatch(p, w) for p, w in zip(parts[-len(wanted):], wanted)):
            return True
    return False


def _target(config: pytest.Config) -> Target:
    """One server for every collected scenario of the session: --pacspace-url, else embedded."""
    from mockserver.scenarios.runner import Target

    target = config.stash.get(_TARGET_KEY, None)
    if target is None:
        url = config.getoption("--pacspace-url", default=None)
        target = Target.remote(url, "mock") if url else Target.embedded()
        config.stash[_TARGET_KEY] = target
        config.add_cleanup(target.close)
    return target


class ScenarioFile(pytest.File):
    """A scenario file: one item per step, then `golden`."""

    _result: ScenarioResult | None = None
    scenario: Scenario

    def collect(self):
        from mockserver.scenarios.loader import load_scenario
        from mockserver.scenarios.model import ScenarioError

        try:
            self.scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        group = pytest.mark.xdist_group(f"pacspace-scenario:{self.scenario.name}")
        for step in self.scenario.steps:
            label = f"{step.index:02d}-{step.action}" + (f"-{step.name}" if step.name else "")
            item = ScenarioStepItem.from_parent(self, name=label, step_index=step.index)
            item.add_marker(group)
            yield item
        if self.scenario.golden_path is not None:
            item = ScenarioGoldenItem.from_parent(self, name="golden")
            item.add_marker(group)
            yield item

    def replay(self, item: pytest.Item) -> ScenarioResult:
        """The file's replay, run once per process by whichever of its items comes first; that item
        carries the note of a golden the replay wrote (under xdist, maybe not the golden item)."""
        if self._result is None:
            from mockserver.scenarios.runner import Runner

            runner = Runner(_target(self.config), bless=self.config.getoption("--pacspace-bless"),
                            ci=in_ci())
            result = self._result = runner.run(self.scenario)
            if result.golden_status in ("created", "blessed"):
                how = "none existed: review it and commit it" if result.golden_status == "created" else "--pacspace-bless"
                item.user_properties.append((GOLDEN_WRITTEN, f"wrote {_shown(result.golden_path, self.config)} ({how})"))
        return self._result


class ScenarioStepFailure(Exception):
    pass


class _ScenarioItem(pytest.Item):
    parent: ScenarioFile

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioStepFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class ScenarioStepItem(_ScenarioItem):
    def __init__(self, *, step_index: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.step_index = step_index

    @property
    def step(self):
        return self.parent.scenario.steps[self.step_index - 1]

    def runtest(self) -> None:
        result = self.parent.replay(self)
        if result.setup_error:
            raise ScenarioStepFailure(f"{self.parent.scenario.file}: {result.setup_error}")
        outcome = result.steps[self.step_index - 1]
        if outcome.outcome == "skipped":
            pytest.skip(outcome.note or "skipped")
        if outcome.outcome in ("failed", "error"):
            step = outcome.step
            title = f" — {step.title}" if step.title else ""
            head = "failed" if outcome.outcome == "failed" else "could not run"
            lines = [f"{self.parent.scenario.file}:{step.line}: {step}{title} {head}:"]
            lines += [f"  {m}" for m in outcome.messages]
            if outcome.note:
                lines.append(f"  note: {outcome.note}")
            raise ScenarioStepFailure("\n".join(lines))

    def reportinfo(self):
        step = self.step
        return self.path, step.line - 1, f"scenario {self.parent.scenario.name} {step}"


class ScenarioGoldenItem(_ScenarioItem):
    def runtest(self) -> None:
        result = self.parent.replay(self)
        if result.golden_status == "mismatch":
            head = (f"{self.parent.scenario.file}: the replay differs from the golden {result.golden_path} "
                    "(if intended, rerun with --pacspace-bless):")
            raise ScenarioStepFailure("\n".join([head, *result.golden_diff]))
        if result.golden_status == "missing":
            raise ScenarioStepFailure(f"{self.parent.scenario.file}: no golden at {_shown(result.golden_path, self.config)}"
                                      "; under CI=true a missing golden fails (elsewhere the run writes it): "
                                      "write it with --pacspace-bless and commit it")
        if result.golden_status == "skipped":
            pytest.skip(result.golden_note or "golden skipped")

    def reportinfo(self):
        return self.path, 0, f"scenario {self.parent.scenario.name} golden"


def _shown(path: Path | None, config: pytest.Config) -> str:
    """A path relative to the rootdir when it lies below it."""
    if path is None:
        return "?"
    try:
        return Path(path).resolve().relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return str(path)


def run_marker_scenario(workspace: Any, ref: str, base_dir: Path | None = None, *, seed: int | None = None,
                        start: str | None = None, settings: dict[str, Any] | None = None) -> ScenarioResult:
    """Replay a scenario (name or path, relative to base_dir first) into a test's workspace.

    The scenario's seed, start and settings apply unless the marker gives its own. Goldens are not
    compared (the test's key differs from the scenario's). Raises ScenarioFailed with the report.
    """
    from mockserver.scenarios import report
    from mockserver.scenarios.loader import load_scenario
    from mockserver.scenarios.locate import find_scenario
    from mockserver.scenarios.model import ScenarioError
    from mockserver.scenarios.runner import Runner, ScenarioFailed, Target

    __tracebackhide__ = True
    try:
        scenario = load_scenario(find_scenario(ref, base=base_dir))
    except ScenarioError as exc:
        raise pytest.UsageError(f"pacspace marker: scenario={ref!r}: {exc}") from None
    with Target(workspace.base_url, True, "the test's workspace") as target:
        result = Runner(target, use_golden=False).run(scenario, key=workspace.key, seed=seed, start=start,
                                                      settings=settings, reset=False)
    if not result.ok:
        raise ScenarioFailed(f"the scenario {scenario.name!r} did not replay cleanly before the test:\n"
                             + report.table(result))
    return result
