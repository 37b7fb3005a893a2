"""pacspace-mock command line: serve, verify, openapi, export, inspect, replay."""

from __future__ import annotations

from typing import NoReturn

import click

from . import __version__


@click.group()
@click.version_option(__version__, prog_name="pacspace-mock")
def main() -> None:
    """A local, deterministic stand-in for the PacSpace Balance API."""


ADMIN_TOKEN_ENV = "PACSPACE_MOCK_ADMIN_TOKEN"
#: the admin routes of §8.9, for the banner (every global operation but health)
ADMIN_ROUTES = "/_mock/state, /_mock/keys, /_mock/workspaces"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost` are loopback; anything else (0.0.0.0, ::, an interface's
    address, a host name) may be reachable from the network (§8.9)."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bind_origin(host: str, port: int) -> str:
    """http://<host>:<port> of the bind; a wildcard bind (0.0.0.0, ::) names this machine."""
    import ipaddress
    import socket

    name = host.strip().strip("[]")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return f"http://{name}:{port}"
    if address.is_unspecified:
        return f"http://{socket.gethostname()}:{port}"
    return f"http://[{name}]:{port}" if address.version == 6 else f"http://{name}:{port}"


def _admin_token(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) < 16 or not all("\x21" <= c <= "\x7e" for c in value):
        raise click.BadParameter("the admin token must be at least 16 printable ASCII characters, no spaces",
                                 param_hint="--admin-token")
    return value


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="PACSPACE_MOCK_HOST", show_envvar=True,
              help="Interface to listen on. Anything but loopback guards the server (see README).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535), envvar="PACSPACE_MOCK_PORT",
              show_envvar=True, help="TCP port (0: any free port, printed in the banner).")
@click.option("--db", "db_path", default="./pacspace-mock.sqlite", show_default=True, envvar="PACSPACE_MOCK_DB",
              show_envvar=True,
              help="SQLite file (':memory:' for a throwaway ledger). Data persists across restarts.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1), envvar="PACSPACE_MOCK_SEED",
              show_envvar=True,
              help="Default seed of new workspaces (ids and secrets derive from it).")
@click.option("--processing-delay", default=1.0, show_default=True, type=click.FloatRange(0, 86400),
              envvar="PACSPACE_MOCK_PROCESSING_DELAY", show_envvar=True,
              help="Seconds (virtual) from acceptance to PROCESSING.")
@click.option("--verify-delay", default=2.0, show_default=True, type=click.FloatRange(0, 86400),
              envvar="PACSPACE_MOCK_VERIFY_DELAY", show_envvar=True,
              help="Seconds (virtual) from acceptance to VERIFIED; at least --processing-delay.")
@click.option("--strict/--no-strict", " /--open", "strict", default=None, envvar="PACSPACE_MOCK_STRICT", show_envvar=True,
              help="Accept only registered keys (see --keys). Default: off on loopback, on beyond it.")
@click.option("--keys", "keys_file", type=click.Path(exists=True, dir_okay=False), envvar="PACSPACE_MOCK_KEYS",
              show_envvar=True,
              help="File of full API keys, one per line ('#' comments), registered as active.")
@click.option("--public-url", default=None, envvar="PACSPACE_MOCK_PUBLIC_URL", show_envvar=True,
              help="Origin used in links of replies (default: the request's Host on loopback, "
                   "http://<host>:<port> beyond it).")
@click.option("--admin-token", default=None, envvar=ADMIN_TOKEN_ENV, show_envvar=True,
              help="Bearer token of the global /_mock routes beyond loopback (default: generated, printed once).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32), envvar="PACSPACE_MOCK_WORKERS",
              show_envvar=True,
              help="Worker processes sharing the SQLite file.")
@click.option("--access-log/--no-access-log", default=True, show_default=True, envvar="PACSPACE_MOCK_ACCESS_LOG",
              show_envvar=True,
              help="One JSON line per request on stderr.")
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(0.05, 3600),
              envvar="PACSPACE_MOCK_TIMEOUT", show_envvar=True,
              help="Connection timeout in seconds: idle keep-alive, request line and headers, a stalled body.")
def serve(host, port, db_path, seed, processing_delay, verify_delay, strict, keys_file, public_url, admin_token,
          workers, access_log, timeout) -> None:
    """Run the dev server.

    Every option can also come from its PACSPACE_MOCK_* environment variable (a flag wins). The
    port and the database are checked before anything is printed or written: a problem is one
    line on stderr and exit status 2.
    """
    import json
    import os
    import secrets
    import sys

    from .serving import ENV_OPTIONS

    if verify_delay < processing_delay:
        raise click.BadParameter("--verify-delay must be at least --processing-delay", param_hint="--verify-delay")
    if workers > 1 and db_path == ":memory:":
        raise click.BadParameter("several workers need a database file to share", param_hint="--workers")
    admin_token = _admin_token(admin_token)
    exposed = not is_loopback(host)
    if exposed and not public_url and port == 0:
        raise click.BadParameter("beyond loopback, links need a known port: give --port or --public-url",
                                 param_hint="--public-url")
    keys = {}
    if keys_file:
        with open(keys_file, encoding="utf-8") as handle:
            for line in handle:
                line = line.split("#", 1)[0].strip()
                if line:
                    keys[line] = True
    if strict is None:
        strict = exposed  # §8.9: strict mode is the default beyond loopback
    generated = exposed and admin_token is None
    if generated:
        admin_token = secrets.token_urlsafe(32)
    _check_db(db_path)
    listener = _listen(host, port)  # before the banner: a port in use is told, and nothing is written
    port = listener.getsockname()[1]
    if exposed and not public_url:
        public_url = bind_origin(host, port)
    config = {"seed": seed, "processing_delay": processing_delay, "verify_delay": verify_delay, "strict": strict,
              "keys": keys, "public_url": public_url.rstrip("/") if public_url else None, "exposed": exposed,
              "admin_token": admin_token if exposed else None}
    os.environ[ENV_OPTIONS] = json.dumps({"config": config, "db": db_path, "access_log": access_log})
    origin = (public_url or f"http://{host}:{port}").rstrip("/")
    key = next(iter(keys), "pk_test_demo")
    click.echo(f"pacspace-mock {__version__} serving {origin}  (db: {db_path}, workers: {workers})")
    if exposed:
        _exposed_banner(host, port, origin, strict, len(keys), admin_token if generated else None)
    elif admin_token:
        click.echo("  admin token:      not used on loopback (the global /_mock routes need none here)")
    if not strict:
        click.echo(f"  API key to try:   {key}   (open mode: any pk_test_/pk_live_ key works)")
    elif keys:
        click.echo(f"  strict mode:      {len(keys)} registered key(s) from {keys_file}")
    else:  # nothing can be tried before a key is registered: say how
        key = "pk_test_demo.s3cret"
        auth = " -H 'Authorization: Bearer <admin token>'" if exposed else ""
        click.echo("  strict mode:      no key is registered yet; register one first (or give --keys FILE):")
        click.echo(f"                    curl -s -X POST {origin}/_mock/keys{auth} -d '{{\"key\":\"{key}\"}}'")
    click.echo(f"  try:              curl -s -H 'X-Api-Key: {key}' {origin}/api/v1/balance/usage")
    click.echo(f"  SDK:              PacSpace.init('{key}', base_url='{origin}')")
    click.echo(f"  OpenAPI:          {origin}/openapi.json    health: {origin}/_mock/health    index: {origin}/")
    click.echo(f"  dev console:      {origin}/_console" + ("   (the admin token, once)" if exposed else ""))
    sys.stdout.flush()  # the banner (and the token) reach a log file now, not at exit
    from .connection import GuardedH11Protocol

    _run(listener, workers, dict(app="mockserver.serving:worker_app", factory=True, host=host, port=port,
                                 log_level="warning", timeout_graceful_shutdown=10, http=GuardedH11Protocol,
                                 timeout_keep_alive=timeout))


def _fail(message: str) -> NoReturn:
    """A problem found before serving: one line on stderr, exit status 2 (click's usage errors)."""
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(2)


def _check_db(path: str) -> None:
    """The database file must be usable before the banner: its directory exists, it is not a
    directory, it can be written, and an existing file is a pacspace-mock database this
    version can open (a version-1 file is upgraded when opened)."""
    import os
    import sqlite3

    from .store.schema import MIGRATIONS, SCHEMA_VERSION

    if path == ":memory:":
        return
    full = os.path.abspath(path)
    folder = os.path.dirname(full)
    if os.path.isdir(full):
        _fail(f"--db {path} is a directory; give a file path such as {os.path.join(path, 'pacspace-mock.sqlite')}")
    if not os.path.isdir(folder):
        _fail(f"--db {path}: the directory {folder} does not exist")
    if not os.path.exists(full):
        if not os.access(folder, os.W_OK | os.X_OK):
            _fail(f"--db {path}: cannot create a file in {folder} (permission denied)")
        return
    if not os.access(full, os.R_OK | os.W_OK):
        _fail(f"--db {path} cannot be read and written (permission denied)")
    if os.path.getsize(full) == 0:
        return
    with open(full, "rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            _fail(f"--db {path} is not an SQLite database")
    try:
        conn = sqlite3.connect(f"file:{full}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        _fail(f"--db {path} cannot be opened: {exc}")
    if version > SCHEMA_VERSION:
        _fail(f"--db {path} was written by a newer pacspace-mock (schema {version}; this one reads up to {SCHEMA_VERSION})")
    if version and version != SCHEMA_VERSION and version not in MIGRATIONS:
        _fail(f"--db {path} has schema version {version}, which this pacspace-mock cannot upgrade")


def _listen(host: str, port: int):
    """The listening socket, bound before the banner (so `--port 0` prints the port it got)."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            _fail(f"port {port} on {host} is already in use (another pacspace-mock?); give --port or stop it")
        if exc.errno == errno.EACCES:
            _fail(f"port {port} on {host}: permission denied (ports below 1024 need privileges)")
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    sock.set_inheritable(True)
    return sock


def _run(listener, workers: int, options: dict) -> None:
    """uvicorn on the socket bound above: one server, or its process supervisor for --workers."""
    import uvicorn

    config = uvicorn.Config(**options, workers=workers)
    try:
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[listener]).run()
        else:
            config.load_app()
            uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()


def _exposed_banner(host: str, port: int, origin: str, strict: bool, key_count: int, token: str | None) -> None:
    """§8.9: say that the server is reachable from the network and what guards it."""
    line = "!" * 78
    click.echo(line)
    click.echo(f"  NETWORK: listening on {host}:{port}, beyond loopback: anyone who can reach this port can")
    click.echo("  connect. Plain HTTP: put TLS in front of it for anything but a trusted network.")
    click.echo(f"  - {ADMIN_ROUTES} need the admin token (Authorization: Bearer <token>); health does not")
    if token is not None:
        click.echo(f"  - admin token (printed once, not stored): {token}")
    else:
        click.echo(f"  - admin token: as given (--admin-token or {ADMIN_TOKEN_ENV})")
    if strict:
        click.echo(f"  - strict mode: only registered keys are accepted ({key_count} registered; add with --keys or")
        click.echo(f"    curl -X POST {origin}/_mock/keys -H 'Authorization: Bearer <token>' "
                   "-d '{\"key\":\"pk_test_demo.<secret>\"}')")
    else:
        click.echo("  - OPEN MODE (--open): ANY well-formed pk_test_/pk_live_ key is accepted and reads or writes")
        click.echo("    that workspace; anyone who guesses a public id sees its data. Drop --open to fix this.")
    click.echo("  - access codes and shared-record cookies come from a random server secret kept in the database")
    click.echo(f"  - links use {origin} (--public-url), never the request's Host header")
    click.echo(line)


@main.command()
@click.argument("source")
@click.option("--delta", "delta_ref", default=None,
              help="Also check one delta's inclusion proof: its recordId, referenceId or sequence.")
@click.option("--ledger-id", default=None, help="Require the checkpoint's ledgerId to be this one.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--api-key", default=None, envvar="PACSPACE_API_KEY", show_envvar=True,
              help="Sent as X-Api-Key when SOURCE is a tenant URL (/api/v1/balance/receipt/..., invoice-proof).")
def verify(source: str, delta_ref: str | None, ledger_id: str | None, as_json: bool, api_key: str | None) -> None:
    """Verify a receipt offline: SOURCE is a saved receipt JSON file, '-' for stdin, or a URL.

    Checks completeness, sums, fingerprints, items root and proof root (proofs.md §6.1); with
    --delta, also that delta's inclusion proof (§6.2). No server is needed; a public receipt URL
    needs no key, a tenant URL needs --api-key. Exit status 0 when everything verifies, 1 when a
    check fails, 2 when the receipt could not be read or fetched (the HTTP error is shown).
    """
    import json
    import sys

    from .proofs.primitives import JSONInputError, parse_json_exact
    from .proofs.verifier import verify_inclusion_object, verify_receipt

    if source.startswith(("http://", "https://")):
        text = _fetch(source, api_key)
    elif source == "-":
        text = sys.stdin.buffer.read()
    else:
        try:
            with open(source, "rb") as handle:
                text = handle.read()
        except OSError as exc:
            _input_error(f"could not read {source}: {exc.strerror}")
    report = verify_receipt(text, ledger_id=ledger_id)
    results = [("receipt", report)]
    if delta_ref is not None:
        results.append((f"delta {delta_ref}", _inclusion_report(text, delta_ref, verify_inclusion_object,
                                                               parse_json_exact, JSONInputError)))
    ok = all(r.ok for _, r in results)
    if as_json:
        click.echo(json.dumps({"ok": ok, "reports": {name: {"ok": r.ok, "failed": r.failed, "checks": r.checks,
                                                              "messages": r.messages} for name, r in results}},
                              indent=2))
    else:
        summary = _receipt_summary(text, parse_json_exact)
        if summary:
            click.echo(summary)
        for name, r in results:
            passed = sum(1 for v in r.checks.values() if v)
            click.echo(f"{name}: {'VERIFIED' if r.ok else 'FAILED'} ({passed}/{len(r.checks)} checks passed)")
            for check in r.failed:
                click.echo(f"  failed: {check}")
            for message in r.messages:
                click.echo(f"  - {message}")
    sys.exit(0 if ok else 1)


def _input_error(message: str) -> NoReturn:
    """Nothing to verify: one line on stderr, exit status 2 (1 means a check failed)."""
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(2)


def _fetch(url: str, api_key: str | None) -> bytes:
    import httpx

    headers = {"X-Api-Key": api_key} if api_key else {}
    try:
        reply = httpx.get(url, timeout=30.0, follow_redirects=True, headers=headers)
    except httpx.HTTPError as exc:
        _input_error(f"could not fetch {url}: {exc}")
    if reply.status_code >= 400:
        detail = ""
        try:
            error = reply.json()["error"]
            detail = f" {error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            detail = f" {reply.text[:200]}" if reply.text else ""
        hint = " (a tenant URL needs --api-key)" if reply.status_code == 401 and not api_key else ""
        _input_error(f"could not fetch {url}: HTTP {reply.status_code}{detail}{hint}")
    return reply.content


def _data(text: bytes, parse):
    value = parse(text)
    if isinstance(value, dict) and value.get("success") is True and "data" in value:
        value = value["data"]
    return value


def _receipt_summary(text: bytes, parse) -> str | None:
    try:
        data = _data(text, parse)
        return (f"receipt {data.get('receiptId')} · customer {data.get('customerId')} · "
                f"{data.get('period') or (str(data.get('startDate')) + ' – ' + str(data.get('endDate')))} · "
                f"{data.get('deltaCount')} deltas · final balance {data.get('finalBalance')} · "
                f"proof root {data.get('proofRoot')}")
    except Exception:  # noqa: BLE001 - the summary is a courtesy; the report says what is wrong
        return None


def _inclusion_report(text: bytes, ref: str, verify_inclusion_object, parse, json_error):
    """Build the inclusion proof object of proofs.md §5.1 from the receipt line and check it."""
    from .proofs.verifier import Report

    try:
        data = _data(text, parse)
        lines = data["deltas"]
    except (json_error, KeyError, TypeError):
        report = Report()
        report.fail("shape", "the receipt has no readable deltas")
        return report
    line = next((d for d in lines if ref in (d.get("recordId"), d.get("referenceId"), str(d.get("sequence")))), None)
    if line is None:
        report = Report()
        report.fail("shape", f"no delta {ref!r} among the receipt's lines")
        return report
    checkpoint = data.get("verification", {}).get("checkpoint")
    obj = {
        "customerId": line.get("customerId"), "recordId": line.get("recordId"), "sequence": line.get("sequence"),
        "fingerprint": line.get("fingerprint"), "leafIndex": line.get("leafIndex"),
        "treeSize": (checkpoint or {}).get("treeSize"), "itemsRoot": data.get("itemsRoot"),
        "merkleProof": line.get("merkleProof"), "proofRoot": data.get("proofRoot"), "checkpoint": checkpoint,
    }
    return verify_inclusion_object(obj, delta_fields=line)


@main.command()
def openapi() -> None:
    """Print the OpenAPI 3.1 document of every route (generated from the code)."""
    import json

    from .openapi import build_openapi
    from .operations import OPERATIONS

    click.echo(json.dumps(build_openapi(OPERATIONS), indent=2))


#: the tables and formats of `export` (mockserver/export.py; a test holds them equal), listed here
#: so that loading the CLI for `serve` imports none of it
EXPORT_TABLES = ("customers", "deltas", "checkpoints", "receipts", "outbox", "journal")
EXPORT_FORMATS = ("csv", "json", "ndjson")


class OfflineError(click.ClickException):
    """export / inspect could not do their work: one line on stderr, exit status 2."""

    exit_code = 2


@main.command()
@click.option("--db", "db_path", default="./pacspace-mock.sqlite", show_default=True, envvar="PACSPACE_MOCK_DB",
              show_envvar=True,
              help="SQLite file written by serve (opened read-only; serve may be running).")
@click.option("--key", default=None,
              help="Only this workspace: its API key or the key's public part (pk_test_demo). Default: all.")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="csv", show_default=True,
              help="csv (a header row), json (one array) or ndjson (one object per line).")
@click.option("--out", default="-", show_default=True,
              help="Directory for one file per table (TABLE.csv, ...), or '-' for stdout (one --table).")
@click.option("--table", "tables", multiple=True, type=click.Choice(EXPORT_TABLES),
              help="Export this table (repeatable). Default with --out DIR: all of them.")
def export(db_path: str, key: str | None, fmt: str, out: str, tables: tuple[str, ...]) -> None:
    """Export the ledger to files: customers, deltas, checkpoints, receipts, the webhook outbox and
    the request journal, with the API's field names and exact decimals as strings.

    \b
    pacspace-mock export --out ledger/                       # every table, every workspace, CSV
    pacspace-mock export --key pk_test_demo --format ndjson --out ledger/
    pacspace-mock export --table deltas --format json > deltas.json
    """
    import sys

    from .export import ExportError, Plan, run

    if out != "-" and not tables:
        tables = EXPORT_TABLES
    sys.stdout.flush()
    try:
        run(Plan(db_path, key, fmt, out, tuple(dict.fromkeys(tables))), sys.stdout.buffer)
    except ExportError as exc:
        raise OfflineError(str(exc)) from None


@main.command()
@click.argument("db_path", metavar="DB", default="./pacspace-mock.sqlite")
def inspect(db_path: str) -> None:
    """Summarize a database file (read-only): workspaces with their clocks; per workspace customers,
    deltas by status, checkpoints, receipts, webhook events by delivery status, journal entries;
    the file's size and each table's."""
    from .inspection import render, summary
    from .store.readonly import Unreadable

    try:
        click.echo(render(summary(db_path)))
    except Unreadable as exc:
        raise OfflineError(str(exc)) from None


def _register_replay() -> None:
    from .scenarios.cli import replay

    main.add_command(replay)


_register_replay()

if __name__ == "__main__":
    main()
