"""Shared fixtures: one embedded server per session (uvicorn thread, loopback, ephemeral port) and a
fresh workspace (API key) per test, so tests never see each other's data and need no reset."""

from __future__ import annotations

import hashlib
import warnings

import pytest
import requests

from mockserver.embedded import EmbeddedServer
from mockserver.runtime import Runtime, ServerConfig

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)


@pytest.fixture(scope="session")
def server():
    runtime = Runtime(ServerConfig(seed=7, processing_delay=0, verify_delay=0))
    with EmbeddedServer(runtime) as srv:
        yield srv


@pytest.fixture
def api_key(request) -> str:
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    return f"pk_test_t{digest}"


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
