"""Fixtures and the `pacspace` marker. Wiring only: the work is in mockserver.embedded and
mockserver.testkit, which have no pytest imports.

Fixtures (all function-scoped unless noted):
  pacspace              the test's workspace: .key .base_url .clock .faults .webhooks .journal,
                        .settings(), .call(), assert_balance / assert_receipt_verifies / assert_webhook
  pacspace_url          base URL of the server (session)
  pacspace_key          the test's API key (stable: derived from the test's node id)
  pacspace_sdk          an official SDK client (pacspace_sdk.PacSpace) pointed at the server, whose retry
                        and poll waits advance the workspace's virtual clock (marker: real_sleep=True
                        to sleep instead; sdk={...} for PacSpace.init's options)
  pacspace_waits        those virtual waits (mockserver.testkit.VirtualWaits; None with real_sleep=True)
  pacspace_http         an httpx.Client with the key set, on loopback
  pacspace_asgi         an httpx.AsyncClient on the in-process app (embedded server only)
  pacspace_clock, pacspace_faults, pacspace_outbox, pacspace_journal   parts of `pacspace`
  pacspace_webhook_receiver  an HTTP endpoint for this test's webhooks; configured as the URL
  pacspace_server       the embedded server (session; None with --pacspace-url)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:  # pytest loads this module in every run: the server stack is imported by the fixtures
    import httpx

    from pacspace_sdk import PacSpace

    from mockserver.testkit import (Clock, Faults, Journal, LoopbackClient, VirtualWaits, WebhookReceiver, Webhooks,
                                    Workspace)

ENV_URL = "PACSPACE_MOCK_URL"
ENV_KEEP = "PACSPACE_MOCK_KEEP_DB"
KEEP_DIR = ".pacspace-mock/kept"
MARKER_OPTIONS = ("seed", "start", "settings", "environment", "scenario", "sdk", "real_sleep")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pacspace-mock")
    group.addoption("--pacspace-url", default=os.environ.get(ENV_URL),
                    help=f"run against this pacspace-mock server instead of an embedded one (env {ENV_URL})")
    group.addoption("--pacspace-keep-db", nargs="?", const="failed", default=os.environ.get(ENV_KEEP),
                    metavar="failed|all|DIR",
                    help="save each failed test's workspace (all: every test's) as a database file to open with "
                         "`pacspace-mock serve --db FILE`; a directory instead of failed/all: failed tests' into "
                         f"it (env {ENV_KEEP})")
    group.addoption("--pacspace-keep-db-dir", default=None, metavar="DIR",
                    help=f"where --pacspace-keep-db writes (default: {KEEP_DIR} under the rootdir)")
    group.addoption("--pacspace-journal-lines", type=int, default=15,
                    help="journal lines shown in the report of a failed test (0: none)")
    from pytest_plugin.scenarios import add_options as add_scenario_options

    add_scenario_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pacspace(seed=None, start=None, settings=None, environment='test', scenario=None, sdk=None, "
        "real_sleep=False): set the test's workspace up: seed, a frozen start time (RFC 3339), settings to "
        "PATCH, test or live key, a scenario (bundled name or path relative to the test file) replayed into "
        "it first; sdk: keyword arguments of the pacspace_sdk client (PacSpace.init); real_sleep=True: the "
        "client's retry and poll waits sleep instead of advancing the virtual clock",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml"):  # scenario files, collected only when asked (--pacspace-scenarios)
        from pytest_plugin.scenarios import collect_file

        return collect_file(file_path, parent)
    return None


@pytest.fixture(scope="session")
def pacspace_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.config.getoption("--pacspace-url"):
        yield None
        return
    from mockserver.embedded import EmbeddedServer
    from mockserver.runtime import Runtime, ServerConfig

    config = ServerConfig(processing_delay=0, verify_delay=0, webhook_delivery="manual")
    server = EmbeddedServer(Runtime(config)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pacspace_url(request: pytest.FixtureRequest, pacspace_server: Any) -> str:
    url = request.config.getoption("--pacspace-url")
    return url.rstrip("/") if url else pacspace_server.url


@pytest.fixture(scope="session")
def _pacspace_loopback(pacspace_url: str) -> Iterator[LoopbackClient]:
    from mockserver.testkit import LoopbackClient

    client = LoopbackClient(pacspace_url)
    yield client
    client.close()


def _marker(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers("pacspace"))):  # closest marker wins
        unknown = set(mark.kwargs) - set(MARKER_OPTIONS)
        if mark.args or unknown:
            raise pytest.UsageError(f"pacspace marker takes keyword arguments {MARKER_OPTIONS}, got {mark}")
        options.update(mark.kwargs)
    return options


@pytest.fixture
def pacspace_key(request: pytest.FixtureRequest) -> str:
    from mockserver.testkit import key_for

    return key_for(request.node.nodeid, _marker(request).get("environment", "test"))


@pytest.fixture
def pacspace(request: pytest.FixtureRequest, pacspace_url: str, pacspace_key: str,
             _pacspace_loopback: LoopbackClient) -> Workspace:
    from mockserver.testkit import PLUGIN_DEFAULTS, Workspace

    workspace = Workspace(pacspace_url, pacspace_key, _pacspace_loopback)
    options = _marker(request)
    external = request.config.getoption("--pacspace-url")
    if external:  # a long-lived server: start clean, with the plugin's defaults
        workspace.reset()
    changes = {**(PLUGIN_DEFAULTS if external else {}), **options.get("settings", {})}
    if "seed" in options:
        changes["seed"] = options["seed"]
    if changes:
        workspace.settings(**changes)
    if options.get("start"):
        workspace.clock.freeze(options["start"])
    if options.get("scenario"):
        from pytest_plugin.scenarios import run_marker_scenario

        workspace.scenario = run_marker_scenario(
            workspace, options["scenario"], Path(str(request.path)).parent, seed=options.get("seed"),
            start=options.get("start"), settings=options.get("settings"))
    request.node._pacspace_workspace = workspace  # for the failure report
    return workspace


@pytest.fixture
def pacspace_clock(pacspace: Workspace) -> Clock:
    return pacspace.clock


@pytest.fixture
def pacspace_faults(pacspace: Workspace) -> Faults:
    return pacspace.faults


@pytest.fixture
def pacspace_outbox(pacspace: Workspace) -> Webhooks:
    return pacspace.webhooks


@pytest.fixture
def pacspace_journal(pacspace: Workspace) -> Journal:
    return pacspace.journal


@pytest.fixture
def pacspace_sdk(request: pytest.FixtureRequest, pacspace: Workspace) -> Iterator[PacSpace]:
    sdk = pytest.importorskip("pacspace_sdk", reason="pacspace-sdk is not installed")
    options = _marker(request)
    # The summary coordinator paces requests for the real service (10/min); a mock needs none.
    kwargs = {"submission": {"maxRequestsPerMinute": 600000}, **(options.get("sdk") or {})}
    client = sdk.PacSpace.init(pacspace.key, base_url=pacspace.base_url, **kwargs)
    if not options.get("real_sleep"):  # retries and polling wait on the workspace's virtual clock
        from mockserver.testkit import virtual_waits

        virtual_waits(pacspace, client)
    yield client
    client.close()


@pytest.fixture
def pacspace_waits(pacspace_sdk: PacSpace) -> VirtualWaits | None:
    """The virtual waits of `pacspace_sdk` so far (`.waits`, `.total`); None under real_sleep=True."""
    from mockserver.testkit import VirtualWaits

    return VirtualWaits.of(pacspace_sdk)


@pytest.fixture
def pacspace_http(pacspace: Workspace) -> Iterator[httpx.Client]:
    import httpx

    with httpx.Client(base_url=pacspace.base_url, headers={"X-Api-Key": pacspace.key}, timeout=30.0) as client:
        yield client


@pytest.fixture
def pacspace_asgi(pacspace: Workspace, pacspace_server: Any) -> httpx.AsyncClient:
    if pacspace_server is None:
        pytest.skip("pacspace_asgi needs the embedded server (not --pacspace-url)")
    import httpx

    from mockserver.app import create_app

    transport = httpx.ASGITransport(app=create_app(pacspace_server.runtime))
    return httpx.AsyncClient(transport=transport, base_url=pacspace.base_url, headers={"X-Api-Key": pacspace.key})


@pytest.fixture(scope="session")
def _pacspace_receiver() -> Iterator[WebhookReceiver]:
    from mockserver.testkit import WebhookReceiver

    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


class ReceiverView:
    """This test's webhook endpoint: `.url`, `.received()`, `.respond_with(status)`."""

    def __init__(self, receiver: WebhookReceiver, url: str):
        self._receiver = receiver
        self.url = url

    def received(self) -> list[dict[str, Any]]:
        return self._receiver.received(self.url)

    def respond_with(self, status: int) -> None:
        self._receiver.respond_with(self.url, status)


@pytest.fixture
def pacspace_webhook_receiver(request: pytest.FixtureRequest, pacspace: Workspace,
                              _pacspace_receiver: WebhookReceiver) -> ReceiverView:
    view = ReceiverView(_pacspace_receiver, _pacspace_receiver.url_for(request.node.nodeid))
    pacspace.webhooks.config(url=view.url)
    return view


def _keep_db(config: pytest.Config) -> tuple[str, Path] | None:
    """(which: "failed" or "all", directory) of --pacspace-keep-db, None when off."""
    value = config.getoption("--pacspace-keep-db")
    if not value:
        return None
    directory = config.getoption("--pacspace-keep-db-dir")
    if value in ("failed", "all"):
        return value, Path(directory) if directory else config.rootpath / KEEP_DIR
    return "failed", Path(directory or value)  # the directory itself, as before


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    workspace: Workspace | None = getattr(item, "_pacspace_workspace", None)
    if workspace is None or report.when == "teardown" or (report.when == "setup" and not report.failed):
        return
    keep = _keep_db(item.config)
    save = keep is not None and (report.failed or keep[0] == "all")
    lines = item.config.getoption("--pacspace-journal-lines") if report.failed else 0
    try:
        if lines:
            report.sections.append((f"pacspace-mock journal ({workspace.key})", workspace.journal.tail(lines)))
        if save:
            target = keep[1] / (re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)[:150] + ".sqlite")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(workspace.export_workspace_state())
            report.sections.append(("pacspace-mock database", f"saved to {target} (workspace key {workspace.key}; "
                                                              f"pacspace-mock serve --db {target})"))
    except Exception as exc:  # noqa: BLE001 - a report must never fail because the server is gone
        report.sections.append(("pacspace-mock", f"could not read the workspace: {exc}"))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    from pytest_plugin.scenarios import GOLDEN_WRITTEN

    written = [value for reports in terminalreporter.stats.values() for report in reports
               for name, value in getattr(report, "user_properties", ()) if name == GOLDEN_WRITTEN]
    if written:
        terminalreporter.section("pacspace-mock goldens")
        for line in dict.fromkeys(written):
            terminalreporter.write_line(line)
