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
def serve(host, port, db_path, seed, processing_delay, verify_delay, strict, keys_file, public_url) -> None:
    """Run the dev server."""
    import uvicorn

    from .app import create_app
    from .runtime import Runtime, ServerConfig

    if verify_delay < processing_delay:
        raise click.BadParameter("--verify-delay must be at least --processing-delay", param_hint="--verify-delay")
    keys = {}
    if keys_file:
        with open(keys_file, encoding="utf-8") as handle:
            for line in handle:
                line = line.split("#", 1)[0].strip()
                if line:
                    keys[line] = True
    config = ServerConfig(seed=seed, processing_delay=processing_delay, verify_delay=verify_delay, strict=strict,
                          keys=keys, public_url=public_url.rstrip("/") if public_url else None)
    runtime = Runtime(config, db_path=db_path)
    app = create_app(runtime)
    origin = public_url or f"http://{host}:{port}"
    click.echo(f"pacspace-mock {__version__} on {origin}  (db: {db_path})")
    click.echo(f"  try: curl -s -H 'X-Api-Key: pk_test_demo' {origin}/api/v1/balance/usage")
    from .webhooks.background import BackgroundDelivery

    background = BackgroundDelivery(runtime).start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        background.stop()


@main.command()
def openapi() -> None:
    """Print the OpenAPI 3.1 document of every route (generated from the code)."""
    import json

    from .app import routes
    from .openapi import build_openapi
    from .runtime import Runtime

    click.echo(json.dumps(build_openapi(routes(Runtime())), indent=2))


if __name__ == "__main__":
    main()
