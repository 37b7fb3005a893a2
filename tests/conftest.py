"""Shared fixtures: one embedded server per session (uvicorn thread, loopback, ephemeral port) and a
fresh workspace (API key) per test, so tests never see each other's data and need no reset."""

from __future__ import annotations

import base64
import calendar
import hashlib
import os
import warnings
from datetime import datetime, timezone

import pytest
import requests

from mockserver.embedded import EmbeddedServer
from mockserver.runtime import Runtime, ServerConfig

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

# pytester's in-process runs (the plugin's tests) drop every module first imported during the inner
# run; modules that httpcore imports lazily on its first connection would then be imported again,
# with new exception classes that httpx's mapping no longer recognizes (a refused connection would
# escape as httpcore.ConnectError). Load them here, once, before any inner run.
import httpcore._backends.sync  # noqa: E402,F401
import httpcore._sync.connection_pool  # noqa: E402,F401


# Every server this suite starts (in this process or a child) validates each JSON reply against its
# operation's published schema and fails loudly on a mismatch (mockserver/pipeline.py).
os.environ.setdefault("PACSPACE_MOCK_CHECK_REPLIES", "1")

#: CI runs the whole suite: there a missing tool (node, Chromium) is a failure, never a skip.
CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_tool(available: bool, what: str) -> None:
    """Skip (locally, with the reason printed by -ra) or fail (under CI=true) when a tool is missing."""
    if available:
        return
    if CI:
        pytest.fail(f"{what}; CI=true needs it (.ci/run installs it)", pytrace=False)
    pytest.skip(f"{what} (.ci/run installs it; under CI=true this is a failure)")


@pytest.fixture(scope="session")
def server():
    runtime = Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0))
    with EmbeddedServer(runtime) as srv:
        yield srv


@pytest.fixture
def api_key(request) -> str:
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    return f"pk_test_t{digest}"


# Independent oracles of balance-api.md §9 (deliberately not mockserver.ids): tests compare the
# server's ids with what the contract's derivation gives.

def to_ms(ts: str) -> int:
    """A canonical timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ) as epoch milliseconds."""
    dt = datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return calendar.timegm(dt.timetuple()) * 1000 + int(ts[20:23])


def public_id(key: str) -> str:
    return key.split("_", 2)[2].split(".", 1)[0]


def spec_b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def counted_id(kind: str, key: str, n: int, seed: int = 7) -> str:
    """§9: kind_ + b32(SHA-256("pacspace-mock:id:v1|kind|seed|env|publicId|n")[0:15])."""
    env = key.split("_")[1]
    digest = hashlib.sha256(f"pacspace-mock:id:v1|{kind}|{seed}|{env}|{public_id(key)}|{n}".encode()).digest()
    return f"{kind}_" + spec_b32(digest[:15])


def error_of(response, status: int, code: str) -> dict:
    """The `error` member of an error reply, after checking its status, envelope and code."""
    assert response.status_code == status, response.text
    envelope = response.json()
    assert envelope["success"] is False
    assert envelope["error"]["code"] == code
    return envelope["error"]


class Mock:
    """Plain-HTTP access to one workspace: the API and the control plane."""

    def __init__(self, base_url: str, key: str):
        self.base_url = base_url
        self.key = key
        self.http = requests.Session()
        self.http.headers["X-Api-Key"] = key

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, self.base_url + path, **kwargs)

    def ok(self, method: str, path: str, status: int | None = None, **kwargs):
        response = self.call(method, path, **kwargs)
        assert response.ok, response.text
        if status is not None:
            assert response.status_code == status, response.text
        body = response.json()
        assert body["success"] is True
        return body["data"]

    def settings(self, **changes):
        return self.ok("PATCH", "/_mock/settings", json=changes)

    def clock_set(self, instant: str):
        return self.ok("POST", "/_mock/clock/set", json={"now": instant})

    def freeze(self, instant: str):
        return self.ok("POST", "/_mock/clock/freeze", json={"at": instant})


@pytest.fixture
def mock(server, api_key) -> Mock:
    return Mock(server.url, api_key)
