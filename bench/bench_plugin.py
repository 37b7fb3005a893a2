"""pytest plugin overhead: per-test cost of the `pacspace` workspace fixture and the session's
embedded-server start, each printed beside a bare pytest test measured in the same run.

Targets: workspace fixture < 2 ms per test; session start < 200 ms.

Every run is a fresh `python -m pytest` process with plugin autoloading off
(PYTEST_DISABLE_PLUGIN_AUTOLOAD=1), and ours loaded with `-p pytest_plugin.plugin` where a
subject needs it. Autoloaded plugins of the environment (in ours: hypothesis, faker,
schemathesis) add ~2.5 s and ±0.3 s of noise to every run, which would drown the figures; they
are the same for every subject, so leaving them out changes nothing but the noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

BARE = "def test_{i}():\n    assert True\n"
WITH_WORKSPACE = "def test_{i}(pacspace):\n    assert pacspace.key\n"
WITH_USE = "def test_{i}(pacspace):\n    pacspace.call('GET', '/api/v1/balance/limits')\n"
SESSION_ONLY = "def test_0(pacspace_url):\n    assert pacspace_url\n"
FIRST_EMIT = ("def test_0(pacspace):\n"
              "    pacspace.call('POST', '/api/v1/balance/delta', {{'customerId': 'c1', 'delta': -5, 'reason': 'usage'}})\n")

# The floor any server built on the DESIGN's stack pays: import uvicorn, Starlette and pydantic
# and validate one model, in a session fixture, without even starting a server.
STACK_FLOOR = """\
import pytest


@pytest.fixture(scope="session")
def stack():
    import uvicorn
    from pydantic import BaseModel
    from starlette.applications import Starlette

    class Body(BaseModel):
        x: int

    return Starlette, uvicorn, Body.model_validate({{"x": 1}})


def test_0(stack):
    assert stack
"""

PLUGIN = ["-p", "pytest_plugin.plugin"]


def run_pytest(directory: str, body: str, count: int, plugin: bool) -> float:
    path = os.path.join(directory, "test_generated.py")
    with open(path, "w") as handle:
        handle.write("".join(body.format(i=i) for i in range(count)))
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' runs load cached bytecode; so do ours
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(PLUGIN if plugin else []), path]
    start = time.perf_counter()
    subprocess.run(command, cwd=directory, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main(tests: int, rounds: int) -> None:
    subjects = {  # name: (test body, number of tests, load our plugin)
        "bare": (BARE, tests, True),
        "workspace": (WITH_WORKSPACE, tests, True),
        "workspace+request": (WITH_USE, tests, True),
        "bare1, no plugin": (BARE, 1, False),
        "bare1": (BARE, 1, True),
        "stack floor": (STACK_FLOOR, 1, True),
        "session": (SESSION_ONLY, 1, True),
        "first emit": (FIRST_EMIT, 1, True),
    }
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    with tempfile.TemporaryDirectory() as tmp:
        run_pytest(tmp, SESSION_ONLY, 1, True)  # warm the file cache and bytecode
        for _ in range(rounds):  # interleaved, so a noisy moment hurts every subject alike
            for name, (body, count, plugin) in subjects.items():
                samples[name].append(run_pytest(tmp, body, count, plugin))
    med = {name: statistics.median(values) * 1000 for name, values in samples.items()}

    def paired(subject: str, baseline: str) -> float:
        """Median of the per-round differences: a slow round slows both runs of the pair."""
        return statistics.median(a - b for a, b in zip(samples[subject], samples[baseline])) * 1000

    plugin_load = paired("bare1", "bare1, no plugin")
    floor = paired("stack floor", "bare1")
    session = paired("session", "bare1")
    first_emit = paired("first emit", "bare1")
    # the fixture runs pay the session start once: take it out of the per-test figure
    per_test = (paired("workspace", "bare") - session) / tests
    per_request = (paired("workspace+request", "bare") - session) / tests
    print(textwrap.dedent(f"""\
        pytest runs, {rounds} interleaved rounds; medians, and medians of the paired differences
        (Python {sys.version.split()[0]}, plugin autoload off)

        subject                                     run        vs bare          target
        bare test, plugin not loaded             {med['bare1, no plugin']:7.0f} ms
        bare test, plugin loaded                 {med['bare1']:7.0f} ms   {plugin_load:+7.1f} ms   (plugin import)
        stack floor (imports, no server)         {med['stack floor']:7.0f} ms   {floor:+7.1f} ms
        session start (embedded server ready)    {med['session']:7.0f} ms   {session:+7.1f} ms   < 200 ms  {'OK' if session < 200 else 'ABOVE'}  ({session / floor:.2f}x the floor)
        session start + first test's emit        {med['first emit']:7.0f} ms   {first_emit:+7.1f} ms

        {tests} tests                                   run        per test
        bare                                     {med['bare']:7.0f} ms   {med['bare'] / tests:7.2f} ms
        with the pacspace fixture                {med['workspace']:7.0f} ms   {per_test:+7.2f} ms   < 2 ms    {'OK' if per_test < 2 else 'ABOVE'}
        fixture + one API request                {med['workspace+request']:7.0f} ms   {per_request:+7.2f} ms
        (session start = one test using pacspace_url minus one bare test: importing the server stack
         and starting uvicorn in a thread. The stack floor imports uvicorn, Starlette and pydantic and
         validates one model in a session fixture: what any server on this stack pays before its own
         code. The emit row adds the workspace, the HTTP client and the first request.
         per test = (fixture run - bare run - session start) / tests)"""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    main(args.tests, args.rounds)
