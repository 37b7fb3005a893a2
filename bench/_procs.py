"""Servers in subprocesses for the loopback benchmarks: a free port, readiness, a clean stop.

Only loopback addresses are used. A server that dies before it listens stops the benchmark
with its output, so a figure is never taken from something else listening on the port.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's pick; checked once more before use)."""
    for _ in range(20):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise SystemExit("no free loopback port found")


def script(name: str) -> str | None:
    """A console script of the running interpreter's environment (never another one's on PATH)."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.access(here, os.X_OK) else None


class Server:
    """A server process listening on 127.0.0.1:port; output goes to a temp file, read on failure."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict | None = None, cwd: str | None = None,
                 timeout: float = 60.0):
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                                     env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout
        while True:  # bounded polling until the port accepts, while our process is alive
            if self.proc.poll() is not None:
                raise SystemExit(f"{name} exited before listening:\n{self.output()[-2000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{name} did not listen on port {port} within {timeout:.0f} s:\n{self.output()[-2000:]}")
            time.sleep(0.05)
        if self.proc.poll() is not None:  # a bind error on our side and someone else's listener
            raise SystemExit(f"{name} exited while starting:\n{self.output()[-2000:]}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # uvicorn's supervisor passes it on to its workers
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.log.close()


def pacspace_serve(port: int, *args: str) -> list[str]:
    """`pacspace-mock serve` of this environment (the module, where the script is not installed)."""
    exe = script("pacspace-mock")
    command = [exe] if exe else [sys.executable, "-m", "mockserver.cli"]
    return [*command, "serve", "--host", "127.0.0.1", "--port", str(port), *args]


def timed(call, count: int, into: list[float]) -> None:
    """Time `count` sequential calls, appending each one's seconds."""
    clock = time.perf_counter
    for _ in range(count):
        started = clock()
        call()
        into.append(clock() - started)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def median(samples: list[float]) -> float:
    return statistics.median(samples)
