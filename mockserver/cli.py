"""pacspace-mock command line: serve (more commands arrive with their issues)."""

from __future__ import annotations

import click

from . import __version__


@click.group()
@click.version_option(__version__, prog_name="pacspace-mock")
def main() -> None:
    """A local, deterministic stand-in for the PacSpace Balance API."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--db", "db_path", default="./pacspace-mock.sqlite", show_default=True,
              help="SQLite file (':memory:' for a throwaway ledger). Data persists across restarts.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="Default seed of new workspaces (ids and secrets derive from it).")
@click.option("--processing-delay", default=1.0, show_default=True, type=click.FloatRange(0, 86400),
              help="Seconds (virtual) from acceptance to PROCESSING.")
@click.option("--verify-delay", default=2.0, show_default=True, type=click.FloatRange(0, 86400),
              help="Seconds (virtual) from acceptance to VERIFIED; at least --processing-delay.")
@click.option("--strict", is_flag=True, help="Accept only registered keys (see --keys).")
@click.option("--keys", "keys_file", type=click.Path(exists=True, dir_okay=False),
              help="File of full API keys, one per line ('#' comments), registered as active.")
@click.option("--public-url", default=None, help="Origin used in links of replies (default: the request's Host).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32),
              help="Worker processes sharing the SQLite file.")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="One JSON line per request on stderr.")
def serve(host, port, db_path, seed, processing_delay, verify_delay, strict, keys_file, public_url, workers,
          access_log) -> None:
    """Run the dev server."""
    import json
    import os

    import uvicorn

    from .serving import ENV_OPTIONS, NoDelayHTTP

    if verify_delay < processing_delay:
        raise click.BadParameter("--verify-delay must be at least --processing-delay", param_hint="--verify-delay")
    if workers > 1 and db_path == ":memory:":
        raise click.BadParameter("several workers need a database file to share", param_hint="--workers")
    keys = {}
    if keys_file:
        with open(keys_file, encoding="utf-8") as handle:
            for line in handle:
                line = line.split("#", 1)[0].strip()
                if line:
                    keys[line] = True
    config = {"seed": seed, "processing_delay": processing_delay, "verify_delay": verify_delay, "strict": strict,
              "keys": keys, "public_url": public_url.rstrip("/") if public_url else None}
    os.environ[ENV_OPTIONS] = json.dumps({"config": config, "db": db_path, "access_log": access_log})
    origin = (public_url or f"http://{host}:{port}").rstrip("/")
    key = next(iter(keys), "pk_test_demo")
    click.echo(f"pacspace-mock {__version__} serving {origin}  (db: {db_path}, workers: {workers})")
    click.echo(f"  API key to try:   {key}   (open mode: any pk_test_/pk_live_ key works)" if not strict
               else f"  strict mode: {len(keys)} registered key(s)")
    click.echo(f"  try:              curl -s -H 'X-Api-Key: {key}' {origin}/api/v1/balance/usage")
    click.echo(f"  SDK:              PacSpace.init('{key}', base_url='{origin}')")
    click.echo(f"  OpenAPI:          {origin}/openapi.json    health: {origin}/_mock/health")
    uvicorn.run("mockserver.serving:worker_app", factory=True, host=host, port=port, workers=workers,
                http=NoDelayHTTP, log_level="warning", timeout_graceful_shutdown=10)


@main.command()
@click.argument("source")
@click.option("--delta", "delta_ref", default=None,
              help="Also check one delta's inclusion proof: its recordId, referenceId or sequence.")
@click.option("--ledger-id", default=None, help="Require the checkpoint's ledgerId to be this one.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(source: str, delta_ref: str | None, ledger_id: str | None, as_json: bool) -> None:
    """Verify a receipt offline: SOURCE is a saved receipt JSON file, '-' for stdin, or a URL.

    Checks completeness, sums, fingerprints, items root and proof root (proofs.md §6.1); with
    --delta, also that delta's inclusion proof (§6.2). No server or API key is needed (a URL is
    only fetched). Exit code 0 when everything verifies, 1 otherwise.
    """
    import json
    import sys

    from .proofs.primitives import JSONInputError, parse_json_exact
    from .proofs.verifier import verify_inclusion_object, verify_receipt

    if source.startswith(("http://", "https://")):
        import httpx

        try:
            text = httpx.get(source, timeout=30.0, follow_redirects=True).content
        except httpx.HTTPError as exc:
            raise click.ClickException(f"could not fetch {source}: {exc}") from None
    elif source == "-":
        text = sys.stdin.buffer.read()
    else:
        try:
            with open(source, "rb") as handle:
                text = handle.read()
        except OSError as exc:
            raise click.ClickException(f"could not read {source}: {exc.strerror}") from None
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


def _register_replay() -> None:
    from .scenarios.cli import replay

    main.add_command(replay)


_register_replay()

if __name__ == "__main__":
    main()
