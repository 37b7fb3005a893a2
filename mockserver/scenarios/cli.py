"""`pacspace-mock replay`: run scenario files against the mock or any server.

Registered on the main command group by mockserver/cli.py (`main.add_command(replay)`); also
runnable as `python -m mockserver.scenarios`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("replay")
@click.argument("scenarios", nargs=-1, metavar="FILE_OR_NAME...")
@click.option("--all", "run_all", is_flag=True, help="Replay every bundled scenario.")
@click.option("--list", "list_only", is_flag=True, help="List the bundled scenarios and exit.")
@click.option("--base-url", metavar="URL",
              help="Replay against this server (a running pacspace-mock, or the real service) instead of a fresh "
                   "embedded one.")
@click.option("--api-key", metavar="KEY", envvar="PACSPACE_API_KEY",
              help="API key to replay with. Default: the scenario's own key (pk_test_scn_…), whose workspace is "
                   "reset first. Required against the real service.")
@click.option("--target", "target_kind", type=click.Choice(["auto", "mock", "service"]), default="auto",
              show_default=True, help="How to treat --base-url: auto probes GET /_mock/health.")
@click.option("--dashboard-token", metavar="TOKEN", envvar="PACSPACE_DASHBOARD_TOKEN",
              help="Bearer token for POST /dashboard/customers (the mock accepts any).")
@click.option("--reset/--no-reset", default=None,
              help="Reset the workspace before replaying (mock only). Default: only the scenario's own workspace "
                   "(or any on the embedded server), never one named by --api-key.")
@click.option("--bless", is_flag=True, help="Rewrite the golden files with this run's outputs.")
@click.option("--golden/--no-golden", "use_golden", default=True, show_default=True,
              help="Compare each run with its golden file.")
@click.option("--golden-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Read and write goldens in this folder instead of beside the scenario files "
                   "(e.g. one folder per server, to keep the real service's outputs).")
@click.option("--ci/--no-ci", "ci", default=None,
              help="A missing golden fails instead of being written (default: on when $CI is set).")
@click.option("--report", "report_format", type=click.Choice(["table", "json", "junit"]), default="table",
              show_default=True, help="Report format. json/junit go to --output, or to stdout with the table "
                                      "moved to stderr.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("-x", "--fail-fast", is_flag=True, help="Stop a scenario at its first failing step.")
@click.option("--max-wait", type=click.FloatRange(0), default=60.0, show_default=True,
              help="Against the real service: the longest wall-clock wait for one Retry-After or poll interval.")
@click.option("--search", "search", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Another folder to look names up in (also $PACSPACE_SCENARIO_PATH).")
@click.option("-v", "--verbose", is_flag=True, help="Also show notes of passed and skipped steps.")
def replay(scenarios, run_all, list_only, base_url, api_key, target_kind, dashboard_token, reset, bless, use_golden,
           golden_dir, ci, report_format, output, progress, fail_fast, max_wait, search, verbose) -> None:
    """Replay scenario files: scripted billing stories with expectations and goldens.

    FILE_OR_NAME is a scenario file, a folder of them, or the name of a bundled scenario (see
    --list). By default each
    runs on a fresh embedded server; with --base-url against any server. Exit code 0 when every
    scenario passed (steps and golden), 1 otherwise.
    """
    # imported here so that `pacspace-mock --help` and `serve` do not load the replay machinery
    from . import report
    from .loader import load_scenario
    from .locate import _stem, bundled_scenarios, find_scenario, scenario_files
    from .model import ScenarioError
    from .runner import Runner, ScenarioResult, Target
    from .steps.usage import scenario_units

    if list_only:
        for path in bundled_scenarios():
            try:
                description = " ".join(load_scenario(path).description.split())
            except ScenarioError as exc:
                description = f"(broken: {exc.message})"
            if len(description) > 90:
                description = description[:89].rsplit(" ", 1)[0] + " …"
            click.echo(f"{_stem(path):<28} {description}")
        return
    refs = []
    for ref in scenarios:  # a folder stands for every scenario file in it
        refs += [str(p) for p in scenario_files(Path(ref))] if Path(ref).is_dir() else [ref]
    refs += [str(p) for p in bundled_scenarios()] if run_all else []
    if not refs:
        raise click.UsageError("name a scenario file or a bundled scenario, or give --all (see --list)")
    if base_url is None and target_kind == "service":
        raise click.UsageError("--target service needs --base-url")
    ci = bool(os.environ.get("CI")) if ci is None else ci

    loaded, broken = [], 0
    for ref in refs:
        try:
            loaded.append(load_scenario(find_scenario(ref, list(search))))
        except ScenarioError as exc:
            click.echo(f"error: {exc}", err=True)
            broken += 1
    if not loaded:
        sys.exit(1)

    target = Target.remote(base_url, target_kind) if base_url else Target.embedded()
    if not target.is_mock and not api_key:
        target.close()
        raise click.UsageError("against the real service give --api-key (the scenario's own key exists only on the mock)")
    to_stdout = report_format != "table" and output is None
    say = (lambda text: click.echo(text, err=True)) if to_stdout else click.echo
    show_progress = sys.stderr.isatty() if progress is None else progress
    results: list[ScenarioResult] = []
    try:
        for scenario in loaded:
            bar = None
            if show_progress:
                bar = click.progressbar(length=scenario_units(scenario), label=scenario.name, file=sys.stderr,
                                        show_pos=True)
                bar.__enter__()
            runner = Runner(target, api_key=api_key, dashboard_token=dashboard_token, bless=bless,
                            use_golden=use_golden, ci=ci, golden_dir=golden_dir, fail_fast=fail_fast,
                            max_wait=max_wait, reset=reset, progress=bar.update if bar else None)
            try:
                result = runner.run(scenario)
            finally:
                if bar:
                    bar.__exit__(None, None, None)
            results.append(result)
            say(report.table(result, verbose) + "\n")
    finally:
        target.close()
    if len(results) > 1 or broken:
        say(report.summary(results) + (f", {broken} broken file(s)" if broken else ""))
    if report_format != "table":
        text = report.to_json(results) if report_format == "json" else report.to_junit(results)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            click.echo(text, nl=False)
    elif output:
        output.write_text("\n\n".join(report.table(r, verbose) for r in results) + "\n", encoding="utf-8")
    sys.exit(0 if not broken and all(r.ok for r in results) else 1)


__all__ = ["replay"]
