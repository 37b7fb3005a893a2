"""`serve` beyond loopback (balance-api.md §8.9): a real `serve --host 0.0.0.0` process, reached through
127.0.0.1 (what counts is the address the server binds, not the peer's). Closed by default: the
global control routes need the admin token, strict mode is on, page secrets do not derive from the
seed, links never come from the Host header; the banner says so. On loopback nothing changes."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from mockserver.cli import bind_origin, is_loopback
from mockserver.operations import OPERATIONS
from mockserver.runtime import Runtime, ServerConfig

B = "/api/v1/balance"
KEY = "pk_test_shared.s3cret"
REFUSED = {"success": False, "error": {"code": "INVALID_API_KEY", "message": "admin token required"}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


class Served:
    """`pacspace-mock serve --port P ARGS` in its own process; `.url` goes through 127.0.0.1."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, token: str | None = None):
        self.given_token = token  # given by the test (--admin-token, the environment), else the banner's
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile(mode="w+")  # a file: the banner must be flushed to it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(self.port), "--no-access-log", *args],
            stdout=self.log, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + 20
        while True:  # readiness: bounded polling of the health route (open to anyone), not a timed wait
            try:
                if requests.get(f"{self.url}/_mock/health", timeout=1).ok:
                    break
            except requests.RequestException:  # refused, or accepted while the app still loads
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"serve did not start: {self.stop()}")
            time.sleep(0.02)

    @property
    def banner(self) -> str:
        self.log.seek(0)
        return self.log.read()

    @property
    def token(self) -> str:
        if self.given_token:
            return self.given_token
        return re.search(r"admin token \(printed once, not stored\): (\S+)", self.banner).group(1)

    @property
    def origin(self) -> str:
        return re.search(r"serving (\S+)", self.banner).group(1)

    def admin(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        return self.banner


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    served = Served("--host", "0.0.0.0", "--db", str(tmp_path_factory.mktemp("exposed") / "ledger.sqlite"),
                    "--processing-delay", "0", "--verify-delay", "0")
    try:
        yield served
    finally:
        served.stop()


def _registered(served: Served, key: str) -> requests.Session:
    reply = requests.post(f"{served.url}/_mock/keys", headers=served.admin(), json={"key": key})
    assert reply.status_code == 200, reply.text
    session = requests.Session()
    session.headers["X-Api-Key"] = key
    return session


# --- the banner --------------------------------------------------------------------------------------

def test_banner_warns_and_prints_the_generated_token_once(exposed):
    banner = exposed.banner
    assert f"NETWORK: listening on 0.0.0.0:{exposed.port}, beyond loopback" in banner
    assert "/_mock/state, /_mock/keys, /_mock/workspaces need the admin token" in banner
    assert "strict mode: only registered keys are accepted (0 registered" in banner
    assert f"links use {exposed.origin} (--public-url), never the request's Host header" in banner
    assert "random server secret kept in the database" in banner
    assert len(exposed.token) >= 40 and banner.count(exposed.token) == 1
    assert exposed.origin == bind_origin("0.0.0.0", exposed.port) == f"http://{socket.gethostname()}:{exposed.port}"


# --- the admin token ---------------------------------------------------------------------------------

def _admin_calls(served: Served) -> dict[str, tuple[str, str, dict, int]]:
    """A call that succeeds with the token, for every global operation of the table."""
    requests.post(f"{served.url}/_mock/keys", headers=served.admin(), json={"key": "pk_test_gone.x"})
    state = requests.get(f"{served.url}/_mock/state", headers=served.admin()).content
    return {
        "mock.health": ("GET", "/_mock/health", {}, 200),
        "mock.index": ("GET", "/", {}, 200),
        "mock.favicon": ("GET", "/favicon.ico", {}, 200),
        "mock.workspaces": ("GET", "/_mock/workspaces", {}, 200),
        "mock.keys_list": ("GET", "/_mock/keys", {}, 200),
        "mock.keys_register": ("POST", "/_mock/keys", {"json": {"key": "pk_test_admin.s3cret"}}, 200),
        "mock.keys_delete": ("DELETE", "/_mock/keys/pk_test_gone.x", {}, 200),
        "mock.state_export": ("GET", "/_mock/state", {}, 200),
        "mock.state_import": ("PUT", "/_mock/state", {"data": state}, 200),
    }


def _keys(served: Served) -> list[str]:
    return [k["key"] for k in requests.get(f"{served.url}/_mock/keys", headers=served.admin()).json()["data"]["keys"]]


def test_every_global_operation_but_health_needs_the_admin_token(exposed):
    calls = _admin_calls(exposed)
    global_ops = {op.name: op for op in OPERATIONS if op.plane == "global"}
    assert set(calls) == set(global_ops)  # a new global operation needs its line here
    for name, (method, path, kwargs, status) in calls.items():
        url = exposed.url + path
        if not global_ops[name].admin:  # what anyone may see: health, the index page and its icon
            assert name in ("mock.health", "mock.index", "mock.favicon")
            assert requests.request(method, url, **kwargs).status_code == status
            continue
        before = _keys(exposed)
        for headers in ({}, exposed.admin("wrong-token-of-the-right-size-000000000000000"),
                        {"Authorization": exposed.token}, {"Authorization": f"Basic {exposed.token}"},
                        {"Authorization": f"Bearer {exposed.token[:-1]}"}, {"X-Api-Key": KEY}):
            refused = requests.request(method, url, headers=headers, **kwargs)
            assert (refused.status_code, refused.json()) == (401, REFUSED), (name, headers)
            assert refused.headers["X-Content-Type-Options"] == "nosniff"
        assert _keys(exposed) == before  # what the refused calls would have done did not happen
        done = requests.request(method, url, headers={"authorization": f"bearer {exposed.token}"}, **kwargs)
        assert done.status_code == status, (name, done.text)
        if name == "mock.state_export":
            assert done.content.startswith(b"SQLite format 3\x00")
        elif name != "mock.state_import":
            assert done.json()["success"] is True
    # the import restored the snapshot taken before the walk
    assert _keys(exposed) == ["pk_test_gone.x"]


def test_a_state_import_is_refused_before_its_body_is_read(exposed):
    """Without the token, a huge declared upload is answered 401 at once (not 413, not read)."""
    conn = http.client.HTTPConnection("127.0.0.1", exposed.port, timeout=10)
    conn.putrequest("PUT", "/_mock/state")
    conn.putheader("Content-Length", str(900 * 1024 * 1024))
    conn.endheaders()
    conn.send(b"SQLite format 3\x00")
    reply = conn.getresponse()
    assert reply.status == 401 and b'"admin token required"' in reply.read()
    conn.close()


# --- strict mode by default --------------------------------------------------------------------------

def test_strict_mode_is_the_default(exposed):
    assert requests.get(f"{exposed.url}/_mock/health").json()["data"]["strict"] is True
    for key in ("pk_test_shared", "pk_test_shared.guess", "pk_test_other.s3cret"):
        refused = requests.get(f"{exposed.url}{B}/usage", headers={"X-Api-Key": key})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "INVALID_API_KEY", key
        assert "not registered" in refused.json()["error"]["message"]
        assert requests.get(f"{exposed.url}/_mock/workspace", headers={"X-Api-Key": key}).status_code == 401
    session = _registered(exposed, KEY)
    assert session.get(f"{exposed.url}{B}/usage").status_code == 200
    assert requests.get(f"{exposed.url}{B}/usage", headers={"X-Api-Key": "pk_test_shared.other"}).status_code == 401


# --- page secrets ---------------------------------------------------------------------------------------

def _seed_cookie(seed: int, env: str, public_id: str, handle: str, expires_ms: int) -> str:
    """The cookie a loopback server issues (the seed's derivation): what anyone can compute."""
    key = hashlib.sha256(f"pacspace-mock:access-cookie:v1|{seed}|{env}|{public_id}".encode()).digest()
    return f"{expires_ms}." + hmac.new(key, f"{handle}|{expires_ms}".encode(), hashlib.sha256).hexdigest()


def _seed_code(seed: int, env: str, public_id: str, customer_id: str) -> str:
    """balance-api.md §9's access code, from the seed."""
    value = int.from_bytes(hashlib.sha256(
        f"pacspace-mock:access-code:v1|{seed}|{env}|{public_id}|{customer_id}".encode()).digest()[:8], "big") % 36**6
    digits = ""
    for _ in range(6):
        value, digit = divmod(value, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit] + digits
    return digits


def _shared_customer(served: Served, key: str, customer: str) -> dict:
    session = _registered(served, key)
    assert session.post(f"{served.url}/_mock/clock/freeze", json={"at": "2026-02-01T10:00:00.000Z"}).ok
    assert session.post(f"{served.url}{B}/delta", json={"customerId": customer, "delta": -4,
                                                         "reason": "private-line", "referenceId": "r1"}).ok
    assert session.post(f"{served.url}/_mock/clock/set", json={"now": "2026-03-01T00:05:00.000Z"}).ok
    receipt = session.get(f"{served.url}{B}/invoice-proof/{customer}?period=2026-02")
    assert receipt.ok, receipt.text
    return receipt.json()["data"]


def _page(served: Served, receipt: dict, **kwargs) -> requests.Response:
    return requests.get(f"{served.url}/c/{receipt['verifyUrl'].rsplit('/', 1)[1]}", **kwargs)


def test_seed_derived_access_codes_and_forged_cookies_do_not_unlock(exposed):
    receipt = _shared_customer(exposed, "pk_test_pages.s3cret", "cust_a")
    handle = receipt["verifyUrl"].rsplit("/", 1)[1]
    assert "private-line" not in _page(exposed, receipt).text
    forged = _seed_cookie(0, "test", "pages", handle, 4_102_444_800_000)  # seed 0: serve's default
    assert "private-line" not in _page(exposed, receipt, cookies={"pacspace_access": forged}).text
    guessed = _seed_code(0, "test", "pages", "cust_a")
    assert receipt["accessHint"] != guessed and re.fullmatch(r"[0-9A-Z]{6}", receipt["accessHint"])
    wrong = requests.post(f"{exposed.url}/c/{handle}/access", data={"code": guessed}, allow_redirects=False)
    assert wrong.status_code == 200 and "That code is not right" in wrong.text
    right = requests.post(f"{exposed.url}/c/{handle}/access", data={"code": receipt["accessHint"]},
                          allow_redirects=False)
    assert right.status_code == 303 and "Secure" not in right.headers["set-cookie"]  # http public URL
    assert "private-line" in _page(exposed, receipt, cookies=right.cookies).text


# --- links ----------------------------------------------------------------------------------------------

def test_links_never_take_the_host_header(exposed):
    session = _registered(exposed, "pk_test_links.s3cret")
    session.headers["Host"] = "evil.example"
    texts = [session.post(f"{exposed.url}/_mock/clock/freeze", json={"at": "2026-02-01T10:00:00.000Z"}).text,
             session.post(f"{exposed.url}{B}/delta", json={"customerId": "cust_l", "delta": -1, "reason": "u",
                                                           "referenceId": "r1"}).text]
    session.post(f"{exposed.url}/_mock/clock/set", json={"now": "2026-03-01T00:05:00.000Z"})
    checkpoint = session.post(f"{exposed.url}{B}/checkpoint", json={"customerId": "cust_l", "period": "2026-02"})
    receipt = session.get(f"{exposed.url}{B}/receipt/cust_l", params={"period": "2026-02"})
    assert checkpoint.status_code == 201 and receipt.ok, (checkpoint.text, receipt.text)
    data = receipt.json()["data"]
    texts += [checkpoint.text, receipt.text,
              session.get(f"{exposed.url}/receipt/{data['receiptId']}").text,
              session.get(f"{exposed.url}/verify/{data['proofRoot']}").text,
              session.get(f"{exposed.url}{B}/customers/cust_l").text,
              session.get(f"{exposed.url}/api/v1/verify/{data['proofRoot']}").text,
              session.get(f"{exposed.url}/_mock/webhooks/outbox").text]
    assert data["verifyUrl"].startswith(exposed.origin + "/") and data["customerLinkUrl"].startswith(exposed.origin)
    assert checkpoint.json()["data"]["verificationApiUrl"].startswith(exposed.origin + "/api/v1/verify/")
    assert all("evil.example" not in text for text in texts)


# --- other starts ---------------------------------------------------------------------------------------

def test_a_given_token_and_public_url_and_restarts_keep_cookies_valid(tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    token = "team-token-0123456789abcdef"
    first = Served("--host", "0.0.0.0", "--db", db, "--public-url", "https://mock.example.org/",
                   env={"PACSPACE_MOCK_ADMIN_TOKEN": token}, token=token)
    try:
        assert "admin token: as given (--admin-token or PACSPACE_MOCK_ADMIN_TOKEN)" in first.banner
        assert "printed once" not in first.banner
        assert requests.get(f"{first.url}/_mock/keys", headers=first.admin()).status_code == 200
        receipt = _shared_customer(first, "pk_live_team.s3cret", "cust_r")
        assert receipt["verifyUrl"].startswith("https://mock.example.org/c/")
        unlocked = requests.post(f"{first.url}/c/{receipt['verifyUrl'].rsplit('/', 1)[1]}/access",
                                 data={"code": receipt["accessHint"]}, allow_redirects=False)
        assert unlocked.status_code == 303 and "Secure" in unlocked.headers["set-cookie"]  # https public URL
        cookie = unlocked.cookies.get("pacspace_access")
    finally:
        first.stop()
    second = Served("--host", "0.0.0.0", "--db", db, "--admin-token", "another-token-0123456789",
                    token="another-token-0123456789")
    try:
        assert requests.get(f"{second.url}/_mock/keys", headers=second.admin(token)).status_code == 401
        page = _page(second, receipt, cookies={"pacspace_access": cookie})
        assert "private-line" in page.text  # the server secret outlived the restart
    finally:
        second.stop()


def test_open_mode_beyond_loopback_is_loud_and_still_guards_the_global_routes(tmp_path):
    served = Served("--host", "0.0.0.0", "--db", ":memory:", "--open")
    try:
        assert "OPEN MODE (--open): ANY well-formed pk_test_/pk_live_ key is accepted" in served.banner
        assert requests.get(f"{served.url}{B}/usage", headers={"X-Api-Key": "pk_test_anyone"}).status_code == 200
        assert requests.get(f"{served.url}/_mock/workspaces").status_code == 401
    finally:
        served.stop()


def test_loopback_serve_is_unchanged():
    served = Served("--db", ":memory:")
    try:
        assert "NETWORK" not in served.banner and "admin token" not in served.banner
        assert requests.get(f"{served.url}/_mock/workspaces").status_code == 200
        assert requests.get(f"{served.url}/_mock/health").json()["data"]["strict"] is False
        headers = {"X-Api-Key": "pk_test_any", "Host": "h.example:1"}  # loopback: links follow the Host header
        assert requests.post(f"{served.url}{B}/delta", headers=headers,
                             json={"customerId": "c", "delta": -1, "reason": "u"}).status_code == 201
        detail = requests.get(f"{served.url}{B}/customers/c", headers=headers).json()["data"]
        assert detail["sharedRecord"]["url"].startswith("http://h.example:1/c/cus_")
    finally:
        served.stop()


def test_serve_refuses_a_short_admin_token_and_an_unknown_port():
    for args in (["--host", "0.0.0.0", "--admin-token", "short"], ["--host", "0.0.0.0", "--port", "0"]):
        result = subprocess.run([sys.executable, "-m", "mockserver.cli", "serve", *args], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode != 0 and ("--admin-token" in result.stderr or "--public-url" in result.stderr)


# --- the pieces -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("10.0.0.1", False),
    ("box.example", False), ("::ffff:127.0.0.1", False),
])
def test_what_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_bind_origin():
    assert bind_origin("192.168.1.20", 8787) == "http://192.168.1.20:8787"
    assert bind_origin("fd00::5", 80) == "http://[fd00::5]:80"
    assert bind_origin("box.example", 9) == "http://box.example:9"
    assert bind_origin("::", 1) == f"http://{socket.gethostname()}:1"


def test_a_runtime_beyond_loopback_needs_its_token_and_public_url():
    with pytest.raises(ValueError):
        Runtime(ServerConfig(exposed=True, public_url="http://x:1"))
    with pytest.raises(ValueError):
        Runtime(ServerConfig(exposed=True, admin_token="t" * 20))
    runtime = Runtime(ServerConfig(exposed=True, admin_token="t" * 20, public_url="http://x:1"))
    runtime.check_admin("Bearer " + "t" * 20)
    Runtime(ServerConfig()).check_admin(None)  # loopback: nothing to check


def test_a_state_from_a_loopback_server_gets_a_server_secret_when_imported(tmp_path):
    """A loopback export carries no server secret; imported beyond loopback, it gets one: the moved
    customers' pages work (a cookie is checked against it), new codes do not come from the seed."""
    from mockserver.embedded import EmbeddedServer

    with EmbeddedServer(Runtime(ServerConfig(processing_delay=0, verify_delay=0))) as loopback:
        key = {"X-Api-Key": "pk_test_moved"}
        requests.post(f"{loopback.url}/_mock/clock/freeze", headers=key, json={"at": "2026-02-01T10:00:00.000Z"})
        requests.post(f"{loopback.url}{B}/delta", headers=key, json={"customerId": "c1", "delta": -1, "reason": "u"})
        moved = requests.get(f"{loopback.url}{B}/customers/c1", headers=key).json()["data"]["sharedRecord"]["url"]
        state = requests.get(f"{loopback.url}/_mock/state").content
    token = "t" * 24
    runtime = Runtime(ServerConfig(exposed=True, admin_token=token, public_url="http://mock.example"),
                      db_path=str(tmp_path / "exposed.sqlite"))
    with EmbeddedServer(runtime) as server:
        admin = {"Authorization": f"Bearer {token}"}
        assert requests.put(f"{server.url}/_mock/state", headers=admin, data=state).json()["data"]["imported"]
        first = requests.get(f"{server.url}/c/{moved.rsplit('/', 1)[1]}",  # a read, before anything writes
                             cookies={"pacspace_access": "4102444800000.00"})
        assert first.status_code == 200 and "Access code" in first.text
        requests.post(f"{server.url}/_mock/keys", headers=admin, json={"key": "pk_test_moved"})
        key = {"X-Api-Key": "pk_test_moved"}
        assert requests.post(f"{server.url}{B}/delta", headers=key,
                             json={"customerId": "c2", "delta": -1, "reason": "u"}).status_code == 201
        shared = requests.get(f"{server.url}{B}/customers/c2", headers=key).json()["data"]["sharedRecord"]
        assert shared["url"].startswith("http://mock.example/c/")
        assert shared["accessHint"] != _seed_code(0, "test", "moved", "c2")
        handle = shared["url"].rsplit("/", 1)[1]
        page = requests.get(f"{server.url}/c/{handle}")
        assert page.status_code == 200 and "Access code" in page.text
