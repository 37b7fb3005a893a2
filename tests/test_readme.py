"""The README's code blocks, run as a reader would run them, in the order they appear.

Every ```bash and ```python block is listed here with what the test does with it, so a new or
changed block that no test runs fails `test_every_block_is_run`. The dev server the README talks
to (`http://127.0.0.1:8787`) is a real `pacspace-mock serve` process on a free port (set through
PACSPACE_MOCK_PORT, the only change): commands run exactly as written otherwise, in a scratch
directory, and the replies the README shows under a command (`# {...…`) must begin the real reply.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w*)\n(.*?)```", README, re.S)]
README_URL = "http://127.0.0.1:8787"


def block(language: str, containing: str) -> str:
    found = [text for lang, text in BLOCKS if lang == language and containing in text]
    assert len(found) == 1, f"{len(found)} ```{language} blocks contain {containing!r}"
    return found[0]


#: every runnable block, by a text it contains, and the test that runs it (or why none can)
COVERED = {
    ("bash", "pip install -e . && pacspace-mock serve"): "dev_server runs its last part, `pacspace-mock serve`"
                                                          " (the suite's own environment has the package installed)",
    ("bash", "pip install -e '.[test]'"): ".ci/run (CI runs exactly this command)",
    ("bash", "git+https://"): "test_the_wheel_and_a_git_url_install_a_working_package",
    ("bash", "/_mock/reset"): "test_try_it_runs_top_to_bottom_with_the_replies_shown",
    ("python", "pac = PacSpace.init"): "test_try_it_runs_top_to_bottom_with_the_replies_shown",
    ("python", "def test_invoice_for_february"): "tests/test_plugin_guide.py runs this test as its own",
    ("python", "def test_emit_survives_rate_limiting"): "tests/test_virtual_waits.py runs it with pytester",
    ("python", "class BillingTest(unittest.TestCase)"): "tests/test_inprocess.py runs it as a script",
    ("bash", "pacspace-mock replay --list"): "test_the_replay_commands",
    ("bash", "--host 0.0.0.0 --keys team-keys.txt"): "test_the_shared_box_command",
    ("bash", "pacspace-mock inspect"): "test_inspect_export_and_sqlite_utils",
    ("bash", "datasette pacspace-mock.sqlite"): "none: Datasette is a separate tool, not a dependency",
    ("bash", "sqlite-utils memory"): "test_inspect_export_and_sqlite_utils",
    ("python", "verify_receipt(Path(\"receipt.json\")"): "test_inspect_export_and_sqlite_utils",
}


def test_every_block_is_run():
    runnable = [(lang, text) for lang, text in BLOCKS if lang in ("bash", "python")]
    for lang, text in runnable:
        owners = [key for key in COVERED if key[0] == lang and key[1] in text]
        assert len(owners) == 1, f"a ```{lang} block of the README no test runs (or two claim):\n{text[:300]}"
    assert len(runnable) == len(COVERED)


def test_the_pytest_and_unittest_examples_are_the_ones_their_tests_run():
    guide = (ROOT / "tests" / "test_plugin_guide.py").read_text(encoding="utf-8")
    example = block("python", "def test_invoice_for_february")
    body = example.split("def test_invoice_for_february", 1)[1]
    assert body in guide, "tests/test_plugin_guide.py must hold the README's example verbatim"


# --- a dev server, as the README's reader starts it --------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readme")


@pytest.fixture(scope="module")
def dev_server(scratch):
    """`pacspace-mock serve` with its defaults (./pacspace-mock.sqlite in the working directory),
    on a free port given through its environment variable."""
    command = block("bash", "pip install -e . && pacspace-mock serve").strip().rsplit("&& ", 1)[1]
    assert command == "pacspace-mock serve"
    port = _free_port()
    env = {**os.environ, "PACSPACE_MOCK_PORT": str(port),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.Popen(["bash", "-c", "exec " + command], cwd=scratch, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url + "/_mock/health", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.02)
    yield url
    proc.terminate()
    proc.wait(20)


def _as_written(text: str, url: str) -> str:
    return text.replace(README_URL, url)


def _commands(text: str) -> list[tuple[str, str | None]]:
    """(command, the reply the README shows under it) for each command of a bash block."""
    out: list[tuple[str, str | None]] = []
    current = ""
    for line in text.splitlines():
        if line.startswith("# ") and out and current == "":
            command, _ = out[-1]
            out[-1] = (command, line[2:])
            continue
        current += line + "\n"
        if not line.endswith("\\"):
            out.append((current.strip(), None))
            current = ""
    return out


def _shell(command: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + command], cwd=cwd, capture_output=True,
                            text=True, timeout=timeout, env={**os.environ, "PATH": path, **(env or {})})
    assert result.returncode == 0, f"{command}\n-> exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_try_it_runs_top_to_bottom_with_the_replies_shown(dev_server, scratch):
    commands = _commands(_as_written(block("bash", "/_mock/reset"), dev_server))
    assert len(commands) == 5 and all(shown for _, shown in commands)
    for command, shown in commands:
        reply = _shell(command, scratch).stdout
        prefix = shown.split("…", 1)[0]
        assert reply.startswith(prefix), f"{command}\n README shows: {shown}\n the server said: {reply[:300]}"
        if "…" not in shown:
            assert reply == shown
    script = scratch / "sdk_example.py"
    script.write_text(_as_written(block("python", "pac = PacSpace.init"), dev_server), encoding="utf-8")
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=scratch)
    assert printed.returncode == 0, printed.stderr
    shown = re.search(r"# (rec_\w+ \w+)$", block("python", "pac = PacSpace.init").strip()).group(1)
    assert printed.stdout.strip() == shown


def test_the_replay_commands(dev_server, scratch):
    work = scratch / "replay"
    work.mkdir()
    shutil.copy(ROOT / "scenarios" / "guide-flow.yaml", work / "my-story.yaml")  # the reader's own story
    for command, _ in _commands(_as_written(block("bash", "pacspace-mock replay --list"), dev_server)):
        _shell(command, work)
    assert (work / "my-story.golden.json").exists()  # --bless wrote it
    report = (work / "scenarios.xml").read_text(encoding="utf-8")
    assert report.startswith("<?xml") and 'failures="0" errors="0"' in report


def test_the_shared_box_command(scratch):
    work = scratch / "shared"
    work.mkdir()
    (work / "team-keys.txt").write_text("pk_test_team.s3cret-one\n", encoding="utf-8")
    command = block("bash", "--host 0.0.0.0 --keys team-keys.txt").strip()
    port = _free_port()
    env = {**os.environ, "PACSPACE_MOCK_PORT": str(port), "PATH": os.path.dirname(sys.executable) + os.pathsep
           + os.environ.get("PATH", "")}
    proc = subprocess.Popen(["bash", "-c", "exec " + command], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        banner = "".join(proc.stdout.readline() for _ in range(4))
        assert "serving http://billing-mock.internal:8787" in banner and "NETWORK" in banner
        assert requests.get(f"http://127.0.0.1:{port}/_mock/workspaces", timeout=10).status_code == 401
        usage = requests.get(f"http://127.0.0.1:{port}/api/v1/balance/usage", timeout=10,
                             headers={"X-Api-Key": "pk_test_team.s3cret-one"})
        assert usage.status_code == 200
    finally:
        proc.terminate()
        proc.wait(20)


def test_inspect_export_and_sqlite_utils(dev_server, scratch):
    """After the Try it block, the dev server's file holds the demo workspace: export it, query
    the export as the README does, and verify a receipt saved from the server."""
    key = {"X-Api-Key": "pk_test_demo"}
    requests.post(f"{dev_server}/api/v1/balance/checkpoint", headers=key,
                  json={"customerId": "cust_acme_001", "period": "2026-02"}, timeout=30)
    requests.post(f"{dev_server}/_mock/clock/advance", headers=key, json={"seconds": 5}, timeout=30)
    receipt = requests.get(f"{dev_server}/api/v1/balance/invoice-proof/cust_acme_001?period=2026-02", headers=key,
                           timeout=30)
    assert receipt.ok, receipt.text
    (scratch / "receipt.json").write_bytes(receipt.content)
    for command, _ in _commands(_as_written(block("bash", "pacspace-mock inspect"), dev_server)):
        result = _shell(command, scratch)
        if command.startswith("pacspace-mock inspect"):
            assert "demo" in result.stdout
    assert (scratch / "ledger" / "deltas.csv").exists() and (scratch / "ledger" / "deltas.ndjson").exists()
    assert '"recordId"' in (scratch / "deltas.json").read_text(encoding="utf-8")
    for command, _ in _commands(block("bash", "sqlite-utils memory")):
        result = _shell(command, scratch)
        assert "VERIFIED" in result.stdout or "rec_" in result.stdout, result.stdout
    script = scratch / "verify_example.py"
    script.write_text(block("python", 'verify_receipt(Path("receipt.json")'), encoding="utf-8")
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=scratch)
    assert ran.returncode == 0, ran.stderr


# --- the install lines -------------------------------------------------------------------------------

def _installed_works(target: Path) -> None:
    """The package installed into `target` (no dependencies: the suite's own satisfy them) runs,
    and carries what a source checkout has beside the code."""
    env = {**os.environ, "PYTHONPATH": str(target)}
    version = subprocess.run([sys.executable, "-m", "mockserver", "--version"], capture_output=True, text=True,
                             env=env, cwd=target, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("pacspace-mock, version "), version.stderr
    where = subprocess.run([sys.executable, "-c", "import mockserver; print(mockserver.__file__)"],
                           capture_output=True, text=True, env=env, cwd=target, timeout=60).stdout
    assert where.startswith(str(target))
    for part in ("mockserver/pages/templates/verify.html", "mockserver/pages/static/pacspace-verify.js",
                 "mockserver/pages/static/favicon.svg", "mockserver/console/templates/base.html",
                 "mockserver/scenarios/scenario.schema.json", "mockserver/py.typed", "pytest_plugin/py.typed",
                 "share/pacspace-mock/scenarios/guide-flow.yaml", "bin/pacspace-mock"):
        assert (target / part).exists(), part
    entry = next(target.glob("pacspace_mock-*.dist-info")) / "entry_points.txt"
    assert "pacspace_mock = pytest_plugin.plugin" in entry.read_text()


def test_the_wheel_and_a_git_url_install_a_working_package(tmp_path):
    lines = block("bash", "git+https://")
    assert "python -m build --wheel && pip install dist/pacspace_mock-0.1.0-py3-none-any.whl" in lines
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                                 "node_modules", "__pycache__", ".pytest_cache",
                                                                 ".hypothesis", "artifacts", "mutants"))
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation"], cwd=source,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheel = source / "dist" / "pacspace_mock-0.1.0-py3-none-any.whl"
    assert wheel.exists(), list((source / "dist").iterdir())
    target = tmp_path / "from-wheel"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target"]
    subprocess.run([*pip, str(target), str(wheel)], check=True, timeout=300)
    _installed_works(target)
    if not (ROOT / ".git").exists():  # a checkout without git metadata: the wheel is what matters
        return
    target = tmp_path / "from-git"
    subprocess.run([*pip, str(target), f"git+file://{ROOT}"], check=True, timeout=300)  # (pip 23 refuses name @ file URLs)
    _installed_works(target)
