"""Scenario and Step: what a loaded, validated scenario file holds."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .actions import ACTIONS, Action


class ScenarioError(Exception):
    """A scenario file that cannot be run: one message naming the file, the line and what was expected."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line:
            where += f":{self.line}"
        return f"{where}: {self.message}"


@dataclass
class Step:
    index: int  # 1-based position in the file
    action: str
    args: Any
    line: int
    name: str | None = None
    title: str | None = None
    at: str | None = None
    expect: dict[str, Any] | None = None
    retry: dict[str, Any] | None = None
    poll: dict[str, Any] | None = None
    golden: bool | list[str] = True
    idempotency_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    only: str | None = None

    @property
    def spec(self) -> Action:
        return ACTIONS[self.action]

    @property
    def label(self) -> str:
        return self.name or self.action

    def __str__(self) -> str:
        return f"step {self.index} ({self.action}{', ' + repr(self.name) if self.name else ''})"


@dataclass
class Scenario:
    name: str
    start: str
    steps: list[Step]
    description: str = ""
    seed: int = 0
    environment: str = "test"
    key: str | None = None  # explicit key from the file, else derived from the name
    settings: dict[str, Any] = field(default_factory=dict)
    customers: list[dict[str, Any]] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    golden_path: Path | None = None  # None: no golden

    @property
    def default_key(self) -> str:
        """The scenario's own workspace: fixed per scenario name, so ids and hashes are stable."""
        if self.key:
            return self.key
        digest = hashlib.sha256(f"pacspace-mock:scenario:v1|{self.name}".encode()).hexdigest()[:24]
        return f"pk_{self.environment}_scn_{digest}"

    @property
    def file(self) -> str:
        return str(self.path) if self.path else f"<{self.name}>"

    def step_named(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)
