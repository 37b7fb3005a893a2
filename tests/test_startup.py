"""What a pytest session pays before its first request: what gets imported, how the embedded
server starts and stops, and the schema written without sqlite-utils."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from mockserver.embedded import EmbeddedServer
from mockserver.proofs import primitives
from mockserver.runtime import Runtime, ServerConfig
from mockserver.store import Store
from mockserver.store.schema import TABLES, table_sql
from mockserver.testkit import USER_AGENT, LoopbackClient, MockError


def loaded_after(code: str, modules: list[str]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    return json.loads(out.stdout)


def test_loading_the_plugin_imports_nothing_of_the_server():
    # pytest imports the plugin in every run of a project that has pacspace-mock installed
    assert loaded_after("import pytest_plugin.plugin", ["mockserver", "httpx", "pydantic", "uvicorn"]) == []


def test_the_server_stack_leaves_out_what_only_some_sessions_use():
    deferred = ["jinja2", "mockserver.proofs.verifier", "mockserver.openapi", "mockserver.scenarios",
                "sqlite_utils", "cffi", "Crypto.Hash.keccak", "httpx", "yaml", "faker", "mockserver.console"]
    assert loaded_after("import mockserver.embedded", deferred) == []
    # the workspace's control calls go over the standard library, not httpx
    assert loaded_after("import mockserver.testkit", ["httpx", "mockserver.proofs.verifier"]) == []


def test_deferred_parts_load_when_used(pacspace):
    # the verifier and the templates arrive on first use, in the same process as the server
    assert pacspace.call("POST", "/api/v1/balance/delta", {"customerId": "c1", "delta": -2, "reason": "x"})
    pacspace.clock.advance(1)
    pacspace.call("POST", "/api/v1/balance/checkpoint", {"customerId": "c1"})
    pacspace.clock.advance(60)
    report = pacspace.assert_receipt_verifies("c1")
    assert report.ok
    assert pacspace.request("GET", "/openapi.json").json()["openapi"].startswith("3.")


def test_keccak_runs_on_the_fast_path_and_matches_the_public_api():
    fast = primitives.keccak_factory()
    assert fast is not None, "pycryptodome's keccak_oneshot could not be loaded with ctypes"
    h = fast()
    for n in (0, 1, 31, 32, 33, 135, 136, 137, 1000):
        data = bytes(range(256)) * (n // 256) + bytes(range(n % 256))
        assert h(data) == primitives._keccak_public(data)
    assert h(bytearray(b"abc")) == h(b"abc") == bytes.fromhex(primitives._KECCAK_VECTORS[1][1])


def test_schema_text_is_what_sqlite_utils_wrote():
    # files created by earlier versions (sqlite-utils DDL) and by this one have the same schema
    assert table_sql("month_stats", TABLES["month_stats"]) == (
        'CREATE TABLE IF NOT EXISTS "month_stats" (\n'
        '   "ws" INTEGER,\n   "period" TEXT,\n   "consumed" INTEGER,\n   "verified_count" INTEGER,\n'
        '   "verified_net" TEXT,\n   PRIMARY KEY ("ws", "period")\n)')
    store = Store()
    sql = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'workspaces'").fetchone()[0]
    assert sql.startswith('CREATE TABLE "workspaces" (\n   "id" INTEGER PRIMARY KEY,\n   "env" TEXT NOT NULL,')
    assert '"checkpoint_trees"' in table_sql("checkpoint_trees", TABLES["checkpoint_trees"])
    assert '"hashes" BLOB' in table_sql("checkpoint_trees", TABLES["checkpoint_trees"])


def test_a_file_database_is_in_wal_mode_and_reopens(tmp_path):
    path = str(tmp_path / "m.sqlite")
    Store(path).conn.execute("INSERT INTO api_keys (key, env, public_id, active) VALUES ('k', 'test', 'p', 1)")
    again = Store(path)
    assert again.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again.conn.execute("SELECT key FROM api_keys").fetchall()[0][0] == "k"


def test_stop_closes_idle_connections_and_the_listener():
    server = EmbeddedServer(Runtime(ServerConfig())).start()
    with httpx.Client() as client:  # keep-alive: the connection stays open after the reply
        assert client.get(server.url + "/_mock/health").status_code == 200
        server.stop()
        assert not server._thread.is_alive()
        with pytest.raises(httpx.TransportError):
            client.get(server.url + "/_mock/health")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_stop_lets_a_request_in_flight_finish():
    runtime = Runtime(ServerConfig())
    server = EmbeddedServer(runtime).start()
    key = "pk_test_" + "f" * 32
    with httpx.Client(base_url=server.url, headers={"X-Api-Key": key}) as client:
        rule = {"match": {"route": "balance.limits"}, "actions": [{"type": "latency", "ms": 100}]}
        assert client.post("/_mock/faults", json=rule).status_code == 201
        replies: list[int] = []
        slow = threading.Thread(target=lambda: replies.append(client.get("/api/v1/balance/limits").status_code))
        slow.start()
        while not request_in_flight(server):
            pass
        server.stop()
        slow.join()
    assert replies == [200]


def request_in_flight(server: EmbeddedServer) -> bool:
    return bool(server._server.server_state.tasks)


def test_a_server_that_cannot_start_says_why():
    runtime = Runtime(ServerConfig())
    server = EmbeddedServer(runtime)
    server._sock.close()  # nothing to listen on
    with pytest.raises(RuntimeError, match="did not start"):
        server.start()


class _ClosingHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 replies without `Connection: close`, then closes: a server ending idle keep-alive."""

    protocol_version = "HTTP/1.1"
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers["User-Agent"], body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


def test_loopback_client_replaces_a_connection_the_server_closed_and_never_resends():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _ClosingHandler.received = []
    client = LoopbackClient(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        for n in range(3):
            reply = client.request("POST", client._prefix + "/x", content=f'{{"n": {n}}}')
            assert (reply.status_code, reply.json()) == (200, {})
            # wait until the server's close reaches the client's idle connection
            assert select.select([client._local.conn.sock], [], [], 5)[0]
        assert _ClosingHandler.received == [(USER_AGENT, b'{"n": 0}'), (USER_AGENT, b'{"n": 1}'),
                                            (USER_AGENT, b'{"n": 2}')]
    finally:
        client.close()
        server.shutdown()
        server.server_close()


def test_loopback_client_keeps_one_connection_per_thread(pacspace_server):
    client = LoopbackClient(pacspace_server.url)
    replies: list[int] = []

    def work() -> None:
        for _ in range(5):
            replies.append(client.get(pacspace_server.url + "/_mock/health").status_code)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert replies == [200] * 20
    assert len(client._all) == 4  # reused within a thread, never shared between threads
    reply = client.get(pacspace_server.url + "/no/such/path")
    assert reply.status_code == 404 and reply.headers.get("content-type") == "application/json"
    with pytest.raises(MockError, match="404"):
        reply.raise_for_status()
    with pytest.raises(ValueError, match="is not on"):
        client.get("http://example.invalid/_mock/health")
    client.close()


def test_fixture_calls_are_journaled_with_the_testkit_user_agent(pacspace):
    pacspace.call("GET", "/api/v1/balance/limits")
    assert pacspace.journal.entries(limit=1)[0]["userAgent"] == USER_AGENT
