"""The HTTP side of a replay: full replies with exact-decimal bodies, the client that sends them,
and the probe that tells the mock from the real service."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from .. import __version__, jsonout
from ..operations import path_of
from ..proofs.primitives import JSONInputError, parse_json_exact
from ..testkit import Workspace
from .expect import MISSING
from .refs import as_text

USER_AGENT = f"pacspace-mock-replay/{__version__}"
RECORDED_HEADERS = ("retry-after", "idempotent-replayed", "allow", "content-disposition")


@dataclass
class Reply:
    status: int
    headers: httpx.Headers
    content: bytes
    envelope: Any = None  # the parsed JSON body (exact decimals), None if not JSON

    @property
    def json(self) -> bool:
        return self.envelope is not None

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300 and not (isinstance(self.envelope, dict) and self.envelope.get("success") is False)

    @property
    def data(self) -> Any:
        if isinstance(self.envelope, dict) and "data" in self.envelope:
            return self.envelope["data"]
        return MISSING

    @property
    def error(self) -> Any:
        if isinstance(self.envelope, dict) and isinstance(self.envelope.get("error"), dict):
            return self.envelope["error"]
        return MISSING

    @property
    def value(self) -> Any:
        """What references and `expect.data` see: data, or {"error": …}, or a summary of a non-JSON body."""
        if self.data is not MISSING:
            return self.data
        if self.error is not MISSING:
            return {"error": self.error}
        if self.envelope is not None:
            return self.envelope
        return {"contentType": self.headers.get("content-type"), "size": len(self.content),
                "sha256": hashlib.sha256(self.content).hexdigest(),
                "head": self.content[:8].decode("latin-1")}

    def retry_after(self) -> Decimal | None:
        header = self.headers.get("retry-after")
        if header and header.strip().isdigit():
            return Decimal(header.strip())
        error = self.error
        if isinstance(error, dict) and isinstance(error.get("retryAfterSeconds"), (int, Decimal)):
            return Decimal(error["retryAfterSeconds"])
        return None

    def recorded_headers(self) -> dict[str, str]:
        out = {name: self.headers[name] for name in RECORDED_HEADERS if name in self.headers}
        content_type = self.headers.get("content-type", "")
        if content_type and not content_type.startswith("application/json"):
            out["content-type"] = content_type
        return out


class ScenarioClient(Workspace):
    """The testkit's Workspace with exact-decimal bodies, a fixed User-Agent, and full replies."""

    def __init__(self, base_url: str, key: str, http: httpx.Client, dashboard_token: str = "scenario-replay"):
        super().__init__(base_url, key, http)
        self.dashboard_token = dashboard_token

    def request(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Api-Key": self.key, "User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
        content = kwargs.pop("content", None)
        if json_body is not None:
            content = jsonout.dumps(json_body)
        return self.http.request(method, self.base_url + path, content=content, headers=headers, **kwargs)

    def send(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = MISSING,
             raw_body: str | None = None, auth: str = "key", headers: dict[str, str] | None = None) -> Reply:
        sent = {"User-Agent": USER_AGENT}
        if auth in ("key", "dashboard"):
            sent["X-Api-Key"] = self.key
        if auth == "dashboard":
            sent["Authorization"] = f"Bearer {self.dashboard_token}"
        if body is not MISSING or raw_body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        content = raw_body if raw_body is not None else (None if body is MISSING else jsonout.dumps(body))
        url = self.base_url + path + query_string(query)
        response = self.http.request(method, url, content=content, headers=sent)
        envelope = None
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                envelope = parse_json_exact(response.content, max_depth=64)
            except (JSONInputError, ValueError):
                envelope = None
        return Reply(response.status_code, response.headers, response.content, envelope)


def query_string(query: dict[str, Any] | None) -> str:
    if not query:
        return ""
    return "?" + "&".join(f"{quote(str(k), safe='')}={quote(as_text(v), safe='')}" for k, v in query.items())


def probe_mock(base_url: str) -> bool:
    try:
        response = httpx.get(base_url.rstrip("/") + path_of("mock.health"), timeout=10.0)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    return response.status_code == 200 and isinstance(body, dict) and (body.get("data") or {}).get("status") == "ok"


__all__ = ["Reply", "ScenarioClient", "USER_AGENT", "probe_mock", "query_string"]
