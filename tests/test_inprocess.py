"""`mockserver.running()` as code without pytest uses it: unittest methods, plain and async
functions, `with` blocks; and the README's unittest example, run as a script exactly as written."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mockserver
from mockserver.inprocess import MockWorkspace, embedded_server
from mockserver.testkit import key_for
from test_startup import loaded_after
from test_virtual_waits import readme_block

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_unittest_example_runs_as_a_script(tmp_path):
    script = tmp_path / "test_billing.py"
    script.write_text(readme_block("import unittest"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Ran 2 tests" in done.stderr and done.stderr.rstrip().endswith("OK")


def test_a_with_block_gives_a_clean_workspace_with_the_fixture_helpers():
    with mockserver.running(seed=42, start="2026-03-01T00:00:00Z", settings={"cadenceLimitSeconds": 60}) as mock:
        assert isinstance(mock, MockWorkspace) and mock.url == mock.base_url == embedded_server().url
        assert mock.key == key_for("mockserver.running")
        assert mock.settings()["seed"] == 42 and mock.settings()["cadenceLimitSeconds"] == 60
        first = mock.sdk.balance.emit("c1", -5, "usage", {"referenceId": "r1"})
        assert first["recordedAt"] == "2026-03-01T00:00:00.000Z"
        mock.assert_balance("c1", -5)
        assert [(e["route"], e["status"]) for e in mock.journal.entries()] == [("balance.derive", 200),
                                                                              ("balance.emit", 201)]
        assert mock.webhooks.events("delta.verified")[0]["data"]["recordId"] == first["recordId"]
        # a nested block (or another thread) gets its own workspace
        with mockserver.running() as inner:
            assert inner.key == key_for("mockserver.running#2")
            assert inner.request("GET", "/api/v1/balance/derive/c1").status_code == 404
    with mockserver.running(seed=42) as again:  # the same key, reset: the same ids run to run
        assert again.request("GET", "/api/v1/balance/derive/c1").status_code == 404
        assert again.sdk.balance.emit("c1", -5, "usage", {"referenceId": "r1"})["recordId"] == first["recordId"]


class Decorated:
    calls: list[tuple] = []

    @mockserver.running(seed=7, start="2026-02-01T00:00:00Z", sdk={"max_retries": 3})
    def method(self, label, mock):
        mock.faults.add(route="balance.emit", rate_limited=2, times=3)
        mock.sdk.balance.emit("c1", -1, "usage")
        self.calls.append((label, mock.key, [w.seconds for w in mock.waits], mock.clock.now()))
        return mock


def test_the_decorator_passes_the_workspace_last_and_closes_it_after():
    mock = Decorated().method("first")
    name = f"{Decorated.method.__module__}.Decorated.method"
    assert Decorated.calls == [("first", key_for(name), [2.0, 2.0, 2.0], "2026-02-01T00:00:06.000Z")]
    assert mock._sdk is None  # the client was closed with the workspace
    Decorated().method("second")  # the same key, a clean workspace again
    assert Decorated.calls[1] == ("second", key_for(name), [2.0, 2.0, 2.0], "2026-02-01T00:00:06.000Z")


def test_async_functions_and_real_sleep(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)

    @mockserver.running(real_sleep=True, sdk={"max_retries": 1}, start="2026-02-01T00:00:00Z")
    async def scenario(mock):
        mock.faults.add(route="balance.usage", rate_limited=3, times=1)
        mock.sdk.balance.usage()
        return mock.waits, mock.clock.now()

    assert asyncio.run(scenario()) == (None, "2026-02-01T00:00:00.000Z")
    assert slept == [3.0]


def test_against_a_given_server_url(pacspace_url):
    with mockserver.running(url=pacspace_url + "/", key="pk_test_inprocessurl01") as mock:
        assert mock.url == pacspace_url
        assert mock.settings()["processingDelaySeconds"] == 0 and mock.settings()["webhookDelivery"] == "manual"


def test_bad_uses_are_refused():
    with pytest.raises(TypeError, match="not a class"):
        mockserver.running()(Decorated)
    with pytest.raises(ValueError, match="environment must be"):
        mockserver.running(environment="prod")


def test_pytest_collects_a_decorated_test_without_asking_for_a_fixture(pytester):
    pytester.makepyfile('''
import mockserver

@mockserver.running(seed=3)
def test_decorated(mock):
    assert mock.settings()["seed"] == 3
''')
    pytester.runpytest("-q").assert_outcomes(passed=1)


def test_importing_the_package_starts_nothing():
    assert loaded_after("import mockserver", ["mockserver.testkit", "mockserver.embedded", "uvicorn"]) == []
    assert loaded_after("import mockserver.inprocess", ["uvicorn", "httpx", "pydantic", "starlette"]) == []


def test_the_type_markers_are_packaged(tmp_path):
    # what setuptools puts in a wheel's packages (build_py, from a copy: it writes beside the sources)
    source, built = tmp_path / "src", tmp_path / "lib"
    for part in ("mockserver", "pytest_plugin", "scenarios"):
        shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / part, source / part)
    done = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                           "--build-lib", str(built)], cwd=source, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    names = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    assert {"mockserver/py.typed", "pytest_plugin/py.typed", "mockserver/sdk_waits.py",
            "mockserver/inprocess.py"} <= names
