"""pytest plugin overhead: per-test cost of the `pacspace` workspace fixture and the session's
embedded-server start, each printed beside a bare pytest test measured in the same run.

Targets: workspace fixture < 2 ms per test; session start < 200 ms.
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


def run_pytest(directory: str, body: str, count: int) -> float:
    path = os.path.join(directory, "test_generated.py")
    with open(path, "w") as handle:
        handle.write("".join(body.format(i=i) for i in range(count)))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path], cwd=directory,
                   check=True, capture_output=True)
    return time.perf_counter() - start


def main(tests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        samples: dict[str, list[float]] = {"bare": [], "workspace": [], "workspace+request": [], "session": [],
                                           "bare1": []}
        for _ in range(rounds):  # interleaved, so a noisy moment hurts every subject alike
            samples["bare"].append(run_pytest(tmp, BARE, tests))
            samples["workspace"].append(run_pytest(tmp, WITH_WORKSPACE, tests))
            samples["workspace+request"].append(run_pytest(tmp, WITH_USE, tests))
            samples["bare1"].append(run_pytest(tmp, BARE, 1))
            samples["session"].append(run_pytest(tmp, SESSION_ONLY, 1))
    med = {name: statistics.median(values) for name, values in samples.items()}
    session = (med["session"] - med["bare1"]) * 1000
    # the fixture runs pay the session start once: take it out of the per-test figure
    per_test = ((med["workspace"] - med["bare"]) * 1000 - session) / tests
    per_request = ((med["workspace+request"] - med["bare"]) * 1000 - session) / tests
    print(textwrap.dedent(f"""\
        pytest runs of {tests} generated tests, median of {rounds} rounds (Python {sys.version.split()[0]})

        subject                                   total      per test   target
        bare test                               {med['bare']:7.2f} s   {med['bare'] / tests * 1000:7.2f} ms
        with the pacspace fixture               {med['workspace']:7.2f} s   {per_test:+7.2f} ms   < 2 ms  {'OK' if per_test < 2 else 'ABOVE'}
        fixture + one API request               {med['workspace+request']:7.2f} s   {per_request:+7.2f} ms
        session start (embedded server)         {session:7.0f} ms               < 200 ms  {'OK' if session < 200 else 'ABOVE'}
        (session start = a one-test run using pacspace_url minus a one-test bare run: imports of the
         server stack plus the uvicorn thread; per-test = (fixture run - bare run - session start) / tests)"""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    main(args.tests, args.rounds)
