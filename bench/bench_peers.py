"""pacspace-mock beside the mocks users know, in one run: request latency over loopback through
each mock's official client, and the cost per test of each one's pytest integration.

Bench-only environment: the peers are NOT dependencies of this project. From the repo root:

    python3 -m venv /work/bench-peers-venv           # any path outside the repo
    /work/bench-peers-venv/bin/pip install -r bench/requirements-peers.txt -e .
    /work/bench-peers-venv/bin/python bench/bench_peers.py [--quick]

Rows (every call sequential, one client per subject, servers on 127.0.0.1 free ports):
* ours: `pacspace-mock serve` (defaults: access log on, delays 1 s/2 s) with `--db` a file in a
  temp dir, and `--db :memory:`; write = `PacSpace.init(key, base_url=url).balance.emit(...)`,
  read = `.balance.derive(customer)` of a customer holding one VERIFIED delta. The SDK opens a
  new connection per call (urllib); a keep-alive httpx row of the same emit is printed for
  reference (not compared).
* moto: `moto_server`; boto3 `dynamodb.put_item` / `get_item` and `sqs.send_message`.
* localstripe: `localstripe --from-scratch`; `stripe.Customer.create` / `retrieve` with
  `stripe.api_base` pointed at it. It pickles its whole store on every write, so the store is
  emptied (untimed) before every round, keeping writes at their small-store cost.
* per test: a generated pytest file run in a fresh process, plugin autoload off and only the
  subject's plugin loaded: our `pacspace_sdk` fixture + one emit; moto's `mock_aws` (a fixture
  that makes a boto3 client and a table inside it, as moto's docs show; and the cheapest form,
  one client for the session) + one `put_item`; pytest-httpserver's
  `httpserver` + one expected request sent with `requests`. Per test = (run of N tests - run of
  the same file with 1 test) / (N - 1), per repetition; median over repetitions. N shrinks
  for a subject whose N-test run would exceed --budget seconds (estimated from a 10-test probe).

Rounds are interleaved (each round times a batch of every subject), so a noisy moment on the
machine hurts every subject alike. Prints median, p95 and min per row and each peer's median
divided by ours (> 1: we are ahead). On a loaded machine whole pytest runs are slow or fast
(in-process client and server threads waiting on the scheduler), so the per-test rows swing
between runs: their min is printed as the least-disturbed figure. Exits 2, naming what is missing, when a peer is not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _procs import Server, free_port, median, p95, pacspace_serve, script, timed

MODULES = {  # import name: what to install
    "mockserver": "this project (pip install -e .)",
    "pytest_plugin": "this project (pip install -e .)",
    "pacspace_sdk": "pacspace-sdk",
    "boto3": "boto3",
    "moto": "moto[server]",
    "flask": "moto[server]",
    "flask_cors": "moto[server]",
    "stripe": "stripe",
    "localstripe": "localstripe",
    "pytest_httpserver": "pytest-httpserver",
    "pytest": "pytest",
    "requests": "requests",
    "httpx": "httpx",
}
SCRIPTS = {"moto_server": "moto[server]", "localstripe": "localstripe"}
KEY = "pk_test_bench_peers"
SDK_KEY_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def check_peers() -> None:
    missing = sorted({f"{name} ({what})" for name, what in MODULES.items() if importlib.util.find_spec(name) is None}
                     | {f"the {name} command ({what})" for name, what in SCRIPTS.items() if script(name) is None})
    if missing:
        print(f"bench_peers: not installed in {sys.prefix}: {', '.join(missing)}.\n"
              f"Create the bench-only environment: python3 -m venv /work/bench-peers-venv && "
              f"/work/bench-peers-venv/bin/pip install -r bench/requirements-peers.txt -e .  "
              f"(then run this script with /work/bench-peers-venv/bin/python)", file=sys.stderr)
        sys.exit(2)


# ---------------------------------------------------------------- request latency (servers)

def ours_subjects(server: Server, label: str, refs) -> dict:
    import httpx
    from pacspace_sdk import PacSpace

    sdk = PacSpace.init(KEY, base_url=server.url)
    sdk.balance.emit("reader", -2.5, "api_calls", {"referenceId": "reader-1"})
    with httpx.Client(base_url=server.url, headers={"X-Api-Key": KEY}) as control:
        control.post("/_mock/clock/advance", json={"seconds": 5}).raise_for_status()  # the reader's delta VERIFIED
    if sdk.balance.derive("reader")["deltaCount"] != 1:
        raise SystemExit(f"{label}: the reader customer should hold one verified delta")
    raw = httpx.Client(base_url=server.url, headers={"X-Api-Key": KEY})

    def emit():
        n = next(refs)
        sdk.balance.emit(f"cust_{n % 4}", -1.5, "api_calls", {"referenceId": f"ref-{n}"})

    def emit_raw():
        n = next(refs)
        r = raw.post("/api/v1/balance/delta", json={"customerId": f"cust_{n % 4}", "delta": -1.5,
                                                      "reason": "api_calls", "referenceId": f"ref-{n}"})
        if r.status_code != 201:
            raise SystemExit(f"emit -> {r.status_code}: {r.text[:300]}")

    return {f"ours emit ({label})": ("write", emit), f"ours derive ({label})": ("read", lambda: sdk.balance.derive("reader")),
            f"(ref) ours emit, httpx keep-alive ({label})": ("ref", emit_raw)}


def moto_subjects(server: Server, refs) -> dict:
    import boto3

    options = {"endpoint_url": server.url, "region_name": "us-east-1", "aws_access_key_id": "bench",
               "aws_secret_access_key": "bench"}
    dynamodb = boto3.client("dynamodb", **options)
    dynamodb.create_table(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    dynamodb.put_item(TableName="bench", Item={"pk": {"S": "reader"}, "amount": {"N": "-2.5"}})
    sqs = boto3.client("sqs", **options)
    queue = sqs.create_queue(QueueName="bench")["QueueUrl"]

    def put():
        n = next(refs)
        dynamodb.put_item(TableName="bench", Item={"pk": {"S": f"ref-{n}"}, "customer": {"S": f"cust_{n % 4}"},
                                                   "amount": {"N": "-1.5"}, "reason": {"S": "api_calls"}})

    def get():
        if "Item" not in dynamodb.get_item(TableName="bench", Key={"pk": {"S": "reader"}}):
            raise SystemExit("moto get_item: the item is missing")

    def send():
        sqs.send_message(QueueUrl=queue, MessageBody='{"customerId":"cust_0","delta":-1.5,"reason":"api_calls"}')

    return {"moto DynamoDB put_item": ("write", put), "moto SQS send_message": ("write", send),
            "moto DynamoDB get_item": ("read", get)}


def localstripe_subjects(server: Server, refs) -> tuple[dict, object]:
    import requests
    import stripe

    stripe.api_key = "sk_test_bench"
    stripe.api_base = server.url
    reader = {}

    def reset():  # untimed, before each round: localstripe pickles the whole store on each write
        requests.delete(f"{server.url}/_config/data", timeout=30).raise_for_status()
        reader["id"] = stripe.Customer.create(email="reader@example.com").id

    def create():
        n = next(refs)
        stripe.Customer.create(email=f"c{n}@example.com", metadata={"referenceId": f"ref-{n}"})

    def retrieve():
        if stripe.Customer.retrieve(reader["id"]).id != reader["id"]:
            raise SystemExit("localstripe retrieve: wrong customer")

    reset()
    return {"localstripe Customer.create": ("write", create),
            "localstripe Customer.retrieve": ("read", retrieve)}, reset


def latency(requests_per_round: int, rounds: int, warmup: int, tmp: str) -> dict[str, tuple[str, list[float]]]:
    refs = itertools.count()
    servers: list[Server] = []
    pickle_path = "/tmp/localstripe.pickle"  # localstripe's fixed store path: put back what was there
    saved = None
    if os.path.exists(pickle_path):
        with open(pickle_path, "rb") as handle:
            saved = handle.read()
    try:
        subjects: dict = {}
        for label, db in (("file", os.path.join(tmp, "ours.sqlite")), (":memory:", ":memory:")):
            port = free_port()
            servers.append(Server(f"pacspace-mock serve --db {db}", pacspace_serve(port, "--db", db), port))
            subjects.update(ours_subjects(servers[-1], label, refs))
        port = free_port()
        servers.append(Server("moto_server", [script("moto_server"), "-H", "127.0.0.1", "-p", str(port)], port,
                              env=SDK_KEY_ENV))
        subjects.update(moto_subjects(servers[-1], refs))
        port = free_port()
        servers.append(Server("localstripe", [script("localstripe"), "--port", str(port), "--from-scratch"], port))
        stripe_rows, stripe_reset = localstripe_subjects(servers[-1], refs)
        subjects.update(stripe_rows)

        for _, call in subjects.values():  # warm-up: imports, code paths, connections, caches
            timed(call, warmup, [])
        samples = {name: (group, []) for name, (group, _) in subjects.items()}
        names = list(subjects)
        for round_ in range(rounds):
            stripe_reset()
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:  # rotated: no fixed neighbour
                timed(subjects[name][1], requests_per_round, samples[name][1])
        return samples
    finally:
        for server in servers:
            server.stop()
        if saved is not None:
            with open(pickle_path, "wb") as handle:
                handle.write(saved)
        elif os.path.exists(pickle_path):
            os.remove(pickle_path)


# ---------------------------------------------------------------- cost per test (pytest runs)

OURS_TEST = """\
def test_{i}(pacspace_sdk):
    pacspace_sdk.balance.emit("cust_1", -1.5, "api_calls")
"""

MOTO_HEADER = """\
import boto3
import pytest
from moto import mock_aws


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        yield client

"""
MOTO_SHARED_HEADER = """\
import boto3
import pytest
from moto import mock_aws

CLIENT = boto3.client("dynamodb", region_name="us-east-1")  # made once, after moto is imported


@pytest.fixture
def dynamodb():
    with mock_aws():
        CLIENT.create_table(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        yield CLIENT

"""
MOTO_TEST = """
def test_{i}(dynamodb):
    dynamodb.put_item(TableName="bench", Item={{"pk": {{"S": "ref-{i}"}}, "amount": {{"N": "-1.5"}}}})
"""

HTTPSERVER_HEADER = "import requests\n\n"
HTTPSERVER_TEST = """
def test_{i}(httpserver):
    httpserver.expect_request("/api/v1/balance/delta", method="POST").respond_with_json({{"success": True}}, status=201)
    assert requests.post(httpserver.url_for("/api/v1/balance/delta"), json={{"delta": -1.5}}).status_code == 201
"""

PER_TEST = {  # name: (file header, test body, plugin to load)
    "ours: pacspace_sdk fixture + 1 emit": ("", OURS_TEST, "pytest_plugin.plugin"),
    "moto: mock_aws + 1 put_item (docs' fixture)": (MOTO_HEADER, MOTO_TEST, None),
    "moto: same, one boto3 client per session": (MOTO_SHARED_HEADER, MOTO_TEST, None),
    "pytest-httpserver: httpserver + 1 request": (HTTPSERVER_HEADER, HTTPSERVER_TEST, "pytest_httpserver"),
}


def run_pytest(directory: str, name: str, count: int) -> float:
    header, body, plugin = PER_TEST[name]
    path = os.path.join(directory, f"test_{abs(hash(name)) % 10**8}_{count}.py")
    if not os.path.exists(path):
        with open(path, "w") as handle:
            handle.write(header + "".join(body.format(i=i) for i in range(count)))
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **SDK_KEY_ENV}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' runs load cached bytecode
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(["-p", plugin] if plugin else []), path]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name}: pytest failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed


def per_test(tests: int, repetitions: int, budget: float, tmp: str) -> dict[str, tuple[str, list[float]]]:
    """N is `tests`, or fewer for a subject whose run of N would take over `budget` seconds (from a
    probe of 10 tests): a 400 ms-per-test subject needs no 200-test file to be measured."""
    directory = os.path.join(tmp, "pytest")
    os.makedirs(directory)
    sizes = {}
    for name in PER_TEST:  # warm-up (bytecode and file caches), and the probe: the lower of two estimates,
        estimates = []     # so that one slow moment on a shared machine does not shrink N
        for _ in range(2):
            one = run_pytest(directory, name, 1)
            estimates.append((run_pytest(directory, name, 10) - one) / 9)
        sizes[name] = max(20, min(tests, int(budget / max(1e-4, min(estimates)))))
    samples = {f"{name} [N={sizes[name]}]": ("test", []) for name in PER_TEST}
    for _ in range(repetitions):
        for name in PER_TEST:
            many, one = run_pytest(directory, name, sizes[name]), run_pytest(directory, name, 1)
            samples[f"{name} [N={sizes[name]}]"][1].append((many - one) / (sizes[name] - 1))
    return samples


# ---------------------------------------------------------------- report

BASELINES = {"write": "ours emit (file)", "read": "ours derive (file)", "test": "ours: "}  # the row, or its prefix
GROUPS = {"write": "write (one record)", "read": "read (one record)", "test": "cost per test (pytest)",
          "ref": "reference (not compared)"}


def report(samples: dict[str, tuple[str, list[float]]], header: str) -> int:
    print(header)
    behind = []
    for group, title in GROUPS.items():
        rows = [(name, s) for name, (g, s) in samples.items() if g == group]
        if not rows:
            continue
        baseline = next((name for name, _ in rows if name.startswith(BASELINES.get(group, "\0"))), None)
        base = median(samples[baseline][1]) if baseline else None
        print(f"\n{title:<48}{'median':>11}{'p95':>11}{'min':>11}{'n':>6}   peer / ours (medians)")
        for name, s in rows:
            ratio = ""
            if base is not None and name != baseline:
                peer = not name.startswith("ours")
                if base <= 0 or median(s) <= 0:
                    ratio = "     n/a (a median <= 0: noise; use more tests)"
                    if peer:
                        behind.append(f"{name} (not measurable)")
                else:
                    value = median(s) / base
                    ratio = f"{value:8.2f}x" + (("  ahead" if value > 1 else "  BEHIND") if peer else "")
                    if peer and value <= 1:
                        behind.append(f"{name} ({value:.2f}x)")
            print(f"{name:<48}{median(s) * 1000:>8.2f} ms{p95(s) * 1000:>8.2f} ms{min(s) * 1000:>8.2f} ms{len(s):>6}   {ratio}")
    print("\nahead of every peer on every row" if not behind else "\nBEHIND on: " + "; ".join(behind))
    return len(behind)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="timed calls per subject per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tests", type=int, default=200, help="N, the tests in the many-test pytest file")
    parser.add_argument("--repetitions", type=int, default=7, help="pytest runs of each size per subject")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds a run of N tests may take (N shrinks)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 calls x 2 rounds, 60 tests x 2")
    parser.add_argument("--only", choices=("requests", "pytest"), help="only the request rows, or only cost per test")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds, args.tests, args.repetitions, args.budget = 20, 2, 60, 2, 3.0
    check_peers()

    import boto3
    import localstripe  # noqa: F401 - checked above; the version is printed
    import moto
    import pacspace_sdk  # noqa: F401
    import stripe

    from mockserver import __version__

    warmup = max(10, args.requests // 2)
    with tempfile.TemporaryDirectory() as tmp:
        samples = latency(args.requests, args.rounds, warmup, tmp) if args.only != "pytest" else {}
        if args.only != "requests":
            samples.update(per_test(args.tests, args.repetitions, args.budget, tmp))
    from importlib.metadata import version

    header = (f"peers over loopback, sequential calls through each mock's official client; {args.rounds} interleaved "
              f"rounds x {args.requests} calls (after {warmup} warm-up calls each); per test: N up to {args.tests} "
              f"(a run at most ~{args.budget:.0f} s), {args.repetitions} repetitions\nPython {sys.version.split()[0]}; pacspace-mock {__version__}, "
              f"pacspace-sdk {version('pacspace-sdk')}, moto {moto.__version__}, boto3 {boto3.__version__}, "
              f"localstripe {version('localstripe')}, stripe {stripe.VERSION}, "
              f"pytest-httpserver {version('pytest-httpserver')}")
    report(samples, header)


if __name__ == "__main__":
    main()
