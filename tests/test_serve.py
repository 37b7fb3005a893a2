"""`pacspace-mock serve` as a user runs it: a separate process, a file database, a restart."""

from __future__ import annotations

import os
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
            except requests.RequestException:  # refused, or accepted while the app still loads
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


def _serve_fails(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", *args], capture_output=True, text=True,
                            timeout=60, cwd=cwd, env=env)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""  # no banner: nothing claims to be serving
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one line, no traceback
    return result


def test_a_bad_database_path_is_one_line_and_exit_2_before_the_banner(tmp_path):
    assert _serve_fails("--db", str(tmp_path / "missing" / "x.sqlite")).stderr == (
        f"Error: --db {tmp_path / 'missing' / 'x.sqlite'}: the directory {tmp_path / 'missing'} does not exist\n")
    assert "is a directory" in _serve_fails("--db", str(tmp_path)).stderr
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    assert _serve_fails("--db", str(junk)).stderr == f"Error: --db {junk} is not an SQLite database\n"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # (root may write anywhere)
            assert "permission denied" in _serve_fails("--db", str(locked / "x.sqlite")).stderr
    finally:
        locked.chmod(0o700)


def test_a_port_in_use_is_one_line_and_leaves_no_database(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _serve_fails("--port", str(port), cwd=tmp_path)  # the default ./pacspace-mock.sqlite
    assert result.stderr == (f"Error: port {port} on 127.0.0.1 is already in use (another pacspace-mock?); "
                             "give --port or stop it\n")
    assert list(tmp_path.iterdir()) == []  # no stray database file


def test_environment_variables_configure_serve_and_flags_win(tmp_path):
    env = {**os.environ, "PACSPACE_MOCK_DB": ":memory:", "PACSPACE_MOCK_SEED": "11", "PACSPACE_MOCK_PORT": "1",
           "PACSPACE_MOCK_VERIFY_DELAY": "0", "PACSPACE_MOCK_PROCESSING_DELAY": "0"}
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = proc.stdout.readline()
        assert banner.startswith(f"pacspace-mock ") and f"serving http://127.0.0.1:{port}" in banner  # the flag won
        assert "(db: :memory:" in banner
        settings = requests.get(f"http://127.0.0.1:{port}/_mock/settings", headers=KEY).json()["data"]
        assert (settings["seed"], settings["verifyDelaySeconds"], settings["processingDelaySeconds"]) == (11, 0, 0)
    finally:
        proc.terminate()
        proc.wait(20)
    help_text = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--help"], capture_output=True,
                               text=True, timeout=60).stdout
    for option in ("HOST", "PORT", "DB", "SEED", "PROCESSING_DELAY", "VERIFY_DELAY", "STRICT", "KEYS", "PUBLIC_URL",
                   "ADMIN_TOKEN", "WORKERS", "ACCESS_LOG", "TIMEOUT"):
        assert f"PACSPACE_MOCK_{option}" in help_text.replace("\n", " ").replace("  ", " ") or \
            f"PACSPACE_MOCK_{option}" in "".join(help_text.split()), option


def test_port_0_prints_the_port_it_got_and_strict_mode_says_how_to_register(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", ":memory:",
                             "--strict"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(6)]
        port = int(lines[0].split("serving http://127.0.0.1:", 1)[1].split()[0])
        assert port > 0
        register = lines[2].strip()
        assert register == f"curl -s -X POST http://127.0.0.1:{port}/_mock/keys -d '{{\"key\":\"pk_test_demo.s3cret\"}}'"
        # the banner's two lines work as printed, in order
        assert requests.post(f"http://127.0.0.1:{port}/_mock/keys", json={"key": "pk_test_demo.s3cret"}).ok
        assert f"-H 'X-Api-Key: pk_test_demo.s3cret' http://127.0.0.1:{port}/api/v1/balance/usage" in lines[3]
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/balance/usage",
                            headers={"X-Api-Key": "pk_test_demo.s3cret"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(20)


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

    import mockserver.cli as cli

    captured = {}

    def run(listener, workers, options):
        listener.close()
        captured.update(options, workers=workers)

    monkeypatch.setattr(cli, "_run", run)
    monkeypatch.setenv(ENV_OPTIONS, "")  # restored afterwards: serve writes its options there
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--db", str(tmp_path / "w.sqlite"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert captured["workers"] == 2

    async def hello(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    options = {k: v for k, v in captured.items() if k not in ("app", "factory", "workers")}
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
