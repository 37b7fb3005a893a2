"""`pacspace-mock serve` as a user runs it: a separate process, a file database, a restart."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

KEY = {"X-Api-Key": "pk_test_serve"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, *args: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # output to a file, not a pipe nobody reads while the server runs (the access log would fill it)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(self.port), *args],
            stdout=self.log, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 20
        while True:  # readiness: bounded polling of the health route, not a timed wait
            try:
                if requests.get(f"{self.url}/_mock/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"serve did not start: {self.stop()}")
            time.sleep(0.02)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.log.seek(0)
        return self.log.read()


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "ledger.sqlite")


def test_serve_persists_across_restarts(db):
    first = Served("--db", db, "--seed", "7", "--processing-delay", "0", "--verify-delay", "0")
    try:
        health = requests.get(f"{first.url}/_mock/health").json()["data"]
        assert health["status"] == "ok" and health["storage"] == "file"
        reply = requests.post(f"{first.url}/api/v1/balance/delta", headers=KEY,
                              json={"customerId": "c1", "delta": -3, "reason": "usage", "referenceId": "r1"})
        assert reply.status_code == 201
        record = reply.json()["data"]["recordId"]
        settings = requests.get(f"{first.url}/_mock/settings", headers=KEY).json()["data"]
        assert settings["seed"] == 7 and settings["verifyDelaySeconds"] == 0
    finally:
        banner = first.stop()
    assert f"serving http://127.0.0.1:{first.port}" in banner and "curl -s -H" in banner
    second = Served("--db", db)
    try:
        status = requests.get(f"{second.url}/api/v1/balance/delta/{record}", headers=KEY).json()["data"]
        assert status["status"] == "VERIFIED" and status["delta"] == -3
        replay = requests.post(f"{second.url}/api/v1/balance/delta", headers=KEY,
                               json={"customerId": "c1", "delta": -3, "reason": "usage", "referenceId": "r1"})
        assert replay.status_code == 200 and replay.json()["data"]["recordId"] == record
    finally:
        second.stop()


def test_serve_in_memory_and_flags(tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("# registered\npk_test_serve.secret\n")
    served = Served("--db", ":memory:", "--strict", "--keys", str(keys), "--public-url", "http://mock.local:9000")
    try:
        assert requests.get(f"{served.url}/_mock/health").json()["data"]["storage"] == "memory"
        assert requests.get(f"{served.url}/api/v1/balance/usage", headers=KEY).status_code == 401
        ok = requests.get(f"{served.url}/api/v1/balance/usage", headers={"X-Api-Key": "pk_test_serve.secret"})
        assert ok.status_code == 200
    finally:
        served.stop()


def test_serve_rejects_bad_flags():
    result = subprocess.run([sys.executable, "-m", "mockserver.cli", "serve", "--verify-delay", "1",
                             "--processing-delay", "2"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "--verify-delay" in result.stderr


RACE_BODY = {"customerId": "race", "delta": -1, "reason": "usage", "referenceId": "same"}


def _hammer(url: str, worker: int) -> list[tuple[int, str]]:
    """One client process: the same emit 40 times, interleaved with its own distinct emits."""
    replies = []
    with requests.Session() as session:
        for i in range(40):
            r = session.post(f"{url}/api/v1/balance/delta", headers=KEY, json=RACE_BODY, timeout=30)
            replies.append((r.status_code, r.json()["data"]["recordId"]))
            r = session.post(f"{url}/api/v1/balance/delta", headers=KEY, timeout=30,
                             json={"customerId": f"w{worker}", "delta": -1, "reason": "u", "referenceId": f"r{i}"})
            assert r.status_code == 201
    return replies


def test_two_workers_on_one_file_record_one_delta(db):
    """Two worker processes, hammered with the same referenceId from two client processes at
    once: exactly one delta; a restart keeps every acknowledged delta."""
    import concurrent.futures

    served = Served("--db", db, "--workers", "2", "--processing-delay", "0", "--verify-delay", "0",
                    "--no-access-log")
    try:
        with concurrent.futures.ProcessPoolExecutor(2) as pool:
            results = [reply for part in pool.map(_hammer, [served.url] * 2, range(2)) for reply in part]
    finally:
        served.stop()
    assert sorted(status for status, _ in results).count(201) == 1
    assert len({record for _, record in results}) == 1
    restarted = Served("--db", db)
    try:
        for name in ("race", "w0", "w1"):
            detail = requests.get(f"{restarted.url}/api/v1/balance/customers/{name}", headers=KEY).json()["data"]
            assert detail["totalDeltas"] == (1 if name == "race" else 40)
    finally:
        restarted.stop()


def test_access_log_lines_are_json(db):
    import json

    served = Served("--db", db)
    requests.get(f"{served.url}/api/v1/balance/usage", headers=KEY)
    output = served.stop()
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    usage = [e for e in entries if e["path"] == "/api/v1/balance/usage"]
    assert usage and usage[0]["status"] == 200 and usage[0]["requestId"].startswith("req_")


def test_serve_workers_set_tcp_nodelay_on_accepted_connections(monkeypatch, tmp_path):
    """With --workers N, uvicorn binds a plain (proto 0) socket and hands it to the workers, where
    asyncio leaves Nagle on: each keep-alive reply then waited ~40 ms for a delayed ACK. Serve the
    options the CLI gives uvicorn on such a socket and read the option of the accepted connection."""
    import threading

    import uvicorn
    from click.testing import CliRunner

    from mockserver.cli import main
    from mockserver.serving import ENV_OPTIONS

    captured = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: captured.update(options))
    monkeypatch.setenv(ENV_OPTIONS, "")  # restored afterwards: serve writes its options there
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--db", str(tmp_path / "w.sqlite"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert captured["workers"] == 2

    async def hello(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    options = {k: v for k, v in captured.items() if k not in ("factory", "workers")}
    config = uvicorn.Config(hello, **{**options, "lifespan": "off"})
    listener = config.bind_socket()  # what uvicorn's Multiprocess hands every worker
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.01)
        with socket.create_connection(listener.getsockname()[:2], timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert client.recv(1024).startswith(b"HTTP/1.1 200")
            (connection,) = server.server_state.connections  # kept alive: the client has not closed
            accepted = connection.transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listener.close()
