"""Find scenario files: a path, or the name of a bundled scenario.

Bundled scenarios live in the project's top-level `scenarios/` folder. From a source checkout
(or an editable install) that folder is found beside the package; an installed wheel carries
them as data files under `<prefix>/share/pacspace-mock/scenarios`. `PACSPACE_SCENARIO_PATH`
(folders separated by the OS path separator) is searched first, then `./scenarios`.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

from .loader import load_scenario
from .model import Scenario, ScenarioError

ENV_PATH = "PACSPACE_SCENARIO_PATH"
SUFFIXES = (".yaml", ".yml", ".scenario.yaml", ".scenario.yml")
DATA_SUBDIR = Path("share") / "pacspace-mock" / "scenarios"


def bundled_dirs() -> list[Path]:
    """Folders holding the bundled scenarios, most specific first (existing ones only)."""
    candidates = [Path(__file__).resolve().parents[2] / "scenarios"]  # source checkout / editable install
    prefixes = [sysconfig.get_path("data"), sys.prefix, sys.exec_prefix, getattr(site, "USER_BASE", None)]
    candidates += [Path(p) / DATA_SUBDIR for p in prefixes if p]
    seen, out = set(), []
    for path in candidates:
        if path not in seen and path.is_dir() and _has_scenarios(path):
            seen.add(path)
            out.append(path)
    return out


def search_dirs(extra: list[str | Path] | None = None) -> list[Path]:
    dirs = [Path(p) for p in (extra or [])]
    dirs += [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]
    dirs.append(Path.cwd() / "scenarios")
    dirs += bundled_dirs()
    return [d for d in dirs if d.is_dir()]


def _has_scenarios(path: Path) -> bool:
    return any(p.suffix in (".yaml", ".yml") for p in path.iterdir())


def scenario_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def bundled_scenarios() -> list[Path]:
    """Every bundled scenario file (the first folder that has them)."""
    dirs = bundled_dirs()
    return scenario_files(dirs[0]) if dirs else []


def find_scenario(ref: str, extra: list[str | Path] | None = None, base: Path | None = None) -> Path:
    """A scenario file from a path (relative to `base`, then to the working directory) or a name;
    ScenarioError listing what exists otherwise."""
    path = Path(ref)
    if base is not None and not path.is_absolute() and (Path(base) / path).is_file():
        return Path(base) / path
    if path.is_file():
        return path
    if base is not None:
        extra = [base, *(extra or [])]
    if path.suffix in (".yaml", ".yml") or os.sep in ref or "/" in ref:
        raise ScenarioError("no such scenario file", ref)
    for directory in search_dirs(extra):
        for suffix in SUFFIXES:
            candidate = directory / f"{ref}{suffix}"
            if candidate.is_file():
                return candidate
    known = sorted({_stem(p) for d in search_dirs(extra) for p in scenario_files(d)})
    raise ScenarioError(f"no scenario file or bundled scenario named {ref!r}; known names: "
                        f"{', '.join(known) or 'none'}", ref)


def resolve_scenario(ref: str, extra: list[str | Path] | None = None) -> Scenario:
    return load_scenario(find_scenario(ref, extra))


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem
