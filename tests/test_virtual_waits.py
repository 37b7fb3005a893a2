"""The SDK's retry and poll waits on the workspace's virtual clock (the `pacspace_sdk` fixture and
`mockserver.testkit.virtual_waits`), as a test author uses them. Written against whichever
pacspace-sdk is installed: every published version (0.1.2 to 0.7.0) sleeps at the same three sites."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pacspace_sdk import PacSpace
from pacspace_sdk.errors import TimeoutError as SdkTimeoutError

from mockserver.testkit import LoopbackClient, VirtualWaits, Workspace, virtual_waits
from mockserver.sdk_waits import WAIT_USER_AGENT

START = "2026-02-01T00:00:00.000Z"


def at(offset_s: float) -> str:
    """START plus offset seconds, as the contract writes instants (§1.13)."""
    t = datetime(2026, 2, 1, tzinfo=timezone.utc) + timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def seconds_after_start(instant: str) -> float:
    t = datetime.strptime(instant, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return round((t - datetime(2026, 2, 1, tzinfo=timezone.utc)).total_seconds(), 3)


@pytest.fixture
def real_sleeps(monkeypatch) -> list[float]:
    """Every real sleep of the test (the SDK's included): recorded, not slept."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def emits(pacspace: Workspace) -> list[dict]:
    return list(reversed(pacspace.journal.entries(route="balance.emit")))


@pytest.mark.pacspace(start=START, sdk={"max_retries": 5})
def test_rate_limited_five_times_then_success_costs_no_wall_time(pacspace, pacspace_sdk, pacspace_waits,
                                                                   real_sleeps):
    pacspace.faults.add(route="balance.emit", rate_limited=7, times=5)
    started = time.perf_counter()
    result = pacspace_sdk.balance.emit("cust_1", -5, "usage", {"referenceId": "r1"})
    elapsed = time.perf_counter() - started
    # nothing slept for real; the wall time is a few requests on loopback (~10 ms here when the
    # machine is idle), bounded loosely so a loaded CI box cannot fail it: the real schedule is 35 s
    assert real_sleeps == [] and elapsed < 1.0, (real_sleeps, elapsed)
    # the SDK waited the Retry-After (7 s) before each of its five retries, on the virtual clock
    assert [(w.kind, w.seconds) for w in pacspace_waits.waits] == [("retry", 7.0)] * 5
    assert [(w.previous, w.now) for w in pacspace_waits.waits] == [(at(7 * n), at(7 * n + 7)) for n in range(5)]
    assert pacspace_waits.total == 35.0 and pacspace.clock.now() == at(35)
    assert result["recordedAt"] == at(35)
    # the journal: five 429s by the fault, 7 s apart, then the emit that went through
    journal = emits(pacspace)
    assert [(e["at"], e["status"], e["errorCode"], bool(e["fault"])) for e in journal] == [
        *[(at(7 * n), 429, "RATE_LIMITED", True) for n in range(5)], (at(35), 201, None, False)]
    assert {e["userAgent"].split("/")[0] for e in journal} == {"pacspace-sdk-python"}


@pytest.mark.pacspace(start=START, sdk={"max_retries": 3})
def test_backoff_without_retry_after_follows_the_sdk_schedule(pacspace, pacspace_sdk, pacspace_waits, real_sleeps):
    pacspace.faults.add(route="balance.derive", error=503, times=3)
    pacspace_sdk.balance.emit("cust_1", -5, "usage")
    assert pacspace_sdk.balance.derive("cust_1")["computedBalance"] == -5
    waits = [w.seconds for w in pacspace_waits.waits]
    # 0.5 * 2^(n-1) s plus up to 25 % jitter, to the millisecond
    assert len(waits) == 3 and all(0.5 * 2 ** n <= s <= 0.5 * 2 ** n * 1.25 + 0.001 for n, s in enumerate(waits))
    journal = list(reversed(pacspace.journal.entries(route="balance.derive")))
    assert [e["status"] for e in journal] == [503, 503, 503, 200]
    gaps = [round(seconds_after_start(b["at"]) - seconds_after_start(a["at"]), 3) for a, b in zip(journal, journal[1:])]
    assert gaps == waits and pacspace.clock.now() == at(round(sum(waits), 3))
    assert real_sleeps == []


@pytest.mark.pacspace(start=START, settings={"processingDelaySeconds": 4, "verifyDelaySeconds": 10})
def test_emit_and_wait_polls_on_the_virtual_clock(pacspace, pacspace_sdk, pacspace_waits, real_sleeps):
    result = pacspace_sdk.balance.emit_and_wait("cust_1", -5, "usage",
                                                {"referenceId": "r1", "pollInterval": 3000, "timeout": 60000})
    assert (result["status"], result["verifiedAt"]) == ("VERIFIED", at(10))
    assert [(w.kind, w.seconds) for w in pacspace_waits.waits] == [("poll", 3.0)] * 4
    statuses = list(reversed(pacspace.journal.entries(route="balance.delta_status")))
    assert [e["at"] for e in statuses] == [at(0), at(3), at(6), at(9), at(12)]  # a read, then one per wait
    assert pacspace.clock.now() == at(12) and real_sleeps == []
    # wait_for_verified likewise
    second = pacspace_sdk.balance.emit("cust_1", -1, "usage", {"referenceId": "r2"})
    assert pacspace_sdk.balance.wait_for_verified(second["recordId"], {"pollInterval": 5000})["verifiedAt"] == at(22)
    assert [w.seconds for w in pacspace_waits.waits[4:]] == [5.0, 5.0] and pacspace.clock.now() == at(22)


@pytest.mark.pacspace(start=START, settings={"processingDelaySeconds": 0, "verifyDelaySeconds": 600})
def test_a_poll_timeout_runs_out_on_virtual_time(pacspace, pacspace_sdk, pacspace_waits, real_sleeps):
    record = pacspace_sdk.balance.emit("cust_1", -5, "usage")
    started = time.monotonic()
    with pytest.raises(SdkTimeoutError):
        pacspace_sdk.balance.wait_for_verified(record["recordId"], {"pollInterval": 2000, "timeout": 10000})
    elapsed = time.monotonic() - started
    # the SDK's deadline counts virtual seconds waited plus the (little) wall time of its requests
    assert [w.kind for w in pacspace_waits.waits] == ["poll"] * 5 and real_sleeps == []
    assert 10.0 - elapsed - 0.002 <= pacspace_waits.total <= 10.0
    assert pacspace.clock.now() == at(pacspace_waits.total)


@pytest.mark.pacspace(start=START)
def test_only_the_attached_client_waits_virtually(pacspace, pacspace_sdk, real_sleeps):
    pacspace.faults.add(route="balance.usage", rate_limited=4, nth=[1, 3])
    other = PacSpace.init(pacspace.key, base_url=pacspace.base_url, max_retries=1)
    assert VirtualWaits.of(other) is None and VirtualWaits.of(pacspace_sdk) is not None
    other.balance.usage()  # 429, a real sleep (recorded here), then the retry
    assert real_sleeps == [4.0] and pacspace.clock.now() == START
    pacspace_sdk.balance.usage()  # 429, a virtual wait, then the retry
    assert real_sleeps == [4.0] and pacspace.clock.now() == at(4)


def test_the_helper_without_pytest_fixtures(pacspace_url, real_sleeps):
    # what a unittest or a script does: a workspace by URL and key, any SDK client
    key = "pk_test_virtualwaitshelper01"
    workspace = Workspace(pacspace_url, key)
    workspace.reset()
    workspace.clock.freeze(START)
    workspace.faults.add(route="balance.emit", rate_limited=2, times=1)
    client = PacSpace.init(key, base_url=pacspace_url, max_retries=1)
    with virtual_waits((pacspace_url, key), client) as waits:
        assert virtual_waits((pacspace_url, key), client) is waits  # attaching again: the same handle
        client.balance.emit("cust_1", -5, "usage")
        assert [(w.kind, w.seconds, w.now) for w in waits] == [("retry", 2.0, at(2))]
    # detached: the client sleeps for real again
    assert VirtualWaits.of(client) is None
    workspace.faults.add(route="balance.emit", rate_limited=3, times=1)
    client.balance.emit("cust_1", -5, "usage")
    assert real_sleeps == [3.0] and workspace.clock.now() == at(2)
    with pytest.raises(TypeError, match="not a pacspace_sdk client"):
        virtual_waits(workspace, object())


class RecordingHttp(LoopbackClient):
    def __init__(self, base_url: str):
        super().__init__(base_url)
        self.sent: list[tuple[str, str, dict]] = []

    def request(self, method, url, content=None, headers=None):
        self.sent.append((method, url, dict(headers or {})))
        return super().request(method, url, content=content, headers=headers)


def test_a_virtual_wait_is_a_clock_advance_that_says_what_it_is(pacspace, real_sleeps):
    http = RecordingHttp(pacspace.base_url)
    workspace = Workspace(pacspace.base_url, pacspace.key, http)
    workspace.clock.freeze(START)
    workspace.faults.add(route="balance.emit", rate_limited=1, times=1)
    client = PacSpace.init(pacspace.key, base_url=pacspace.base_url, max_retries=1)
    virtual_waits(workspace, client)
    http.sent.clear()
    client.balance.emit("cust_1", -5, "usage")
    assert [(m, u[len(pacspace.base_url):], h["User-Agent"]) for m, u, h in http.sent] == [
        ("POST", "/_mock/clock/advance", WAIT_USER_AGENT)]
    http.close()


@pytest.mark.pacspace(start=START, sdk={"max_retries": 1})
def test_the_workspace_clock_refusing_the_wait_fails_the_call(pacspace, pacspace_sdk):
    pacspace.faults.add(route="balance.emit", rate_limited=86_400, times=1)
    pacspace.clock.set("9998-12-31T23:00:00.000Z")  # an advance of a day would pass the clock's last day
    with pytest.raises(AssertionError, match=r"virtual wait of 86400\.0 s \(retry\) could not advance the clock"):
        pacspace_sdk.balance.emit("cust_1", -5, "usage")


REAL_SLEEP = '''
import re
import time
import pytest
from pacspace_sdk import RateLimitError

@pytest.mark.pacspace(real_sleep=True, sdk={"max_retries": 1}, start="2026-02-01T00:00:00Z")
def test_opted_out(pacspace, pacspace_sdk, pacspace_waits, monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    assert pacspace_waits is None
    pacspace.faults.add(route="balance.emit", rate_limited=1, times=1)
    pacspace_sdk.balance.emit("c1", -1, "usage")
    assert slept == [1.0]  # the SDK called the real time.sleep
    assert pacspace.clock.now() == "2026-02-01T00:00:00.000Z"

@pytest.mark.pacspace(sdk={"max_retries": 1}, start="2026-02-01T00:00:00Z")
def test_default(pacspace, pacspace_sdk, pacspace_waits, monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    pacspace.faults.add(route="balance.emit", rate_limited=1, times=1)
    pacspace_sdk.balance.emit("c1", -1, "usage")
    assert slept == [] and pacspace_waits.total == 1.0
    assert pacspace.clock.now() == "2026-02-01T00:00:01.000Z"

@pytest.mark.pacspace(sdk={"max_retries": 0})
def test_sdk_options_reach_the_client(pacspace, pacspace_sdk):
    pacspace.faults.add(route="balance.emit", rate_limited=1, times=1)
    with pytest.raises(RateLimitError):
        pacspace_sdk.balance.emit("c1", -1, "usage")
'''


def test_the_marker_opts_out_per_test(pytester):
    pytester.makepyfile(REAL_SLEEP)
    pytester.runpytest("-q").assert_outcomes(passed=3)


def test_a_bad_marker_option_is_named(pytester):
    pytester.makepyfile('''
import pytest

@pytest.mark.pacspace(real_sleeps=True)
def test_typo(pacspace_sdk):
    pass
''')
    result = pytester.runpytest("-q")
    result.stdout.fnmatch_lines(["*pacspace marker takes keyword arguments*real_sleep*"])


def readme_block(containing: str) -> str:
    """The README's ```python block that contains the given text, as written."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_readme_example_runs_as_written(pytester):
    pytester.makepyfile(test_readme_example=readme_block("def test_emit_survives_rate_limiting"))
    pytester.runpytest("-q").assert_outcomes(passed=1)
