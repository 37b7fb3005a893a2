"""`pacspace-mock verify`: a receipt saved from the server verifies offline; tampered copies fail."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mockserver.cli import main

B = "/api/v1/balance"


@pytest.fixture
def saved_receipt(mock, tmp_path):
    mock.freeze("2026-04-02T10:00:00.000Z")
    for i, amount in enumerate((-120, 12.5, -0.000001, -300)):
        mock.clock_set(f"2026-04-0{2 + i}T10:00:00.000Z")
        mock.ok("POST", f"{B}/delta", json={"customerId": "cust_v", "delta": amount, "reason": f"line {i}",
                                           "referenceId": f"ref-{i}", "metadata": {"i": i} if i == 1 else None})
    mock.clock_set("2026-05-01T00:00:01.000Z")
    text = mock.call("GET", f"{B}/invoice-proof/cust_v?period=2026-04").text
    path = tmp_path / "receipt.json"
    path.write_text(text)
    return path


def run(*args):
    return CliRunner().invoke(main, ["verify", *map(str, args)])


def test_a_saved_receipt_verifies(saved_receipt):
    result = run(saved_receipt)
    assert result.exit_code == 0, result.output
    assert "receipt: VERIFIED" in result.output and "4 deltas" in result.output


def test_one_delta_inclusion(saved_receipt):
    result = run(saved_receipt, "--delta", "ref-2")
    assert result.exit_code == 0, result.output
    assert "delta ref-2: VERIFIED" in result.output
    assert run(saved_receipt, "--delta", "nope").exit_code == 1


def test_public_url_and_json_report(mock, saved_receipt):
    data = json.loads(saved_receipt.read_text())["data"]
    result = run(data["links"]["json"], "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True


@pytest.mark.parametrize("tamper,check", [
    (lambda d: d["deltas"][0].update(delta=-121, deltaDecimal="-121"), "deltas.fingerprints"),
    (lambda d: d["deltas"].pop(1), "completeness"),
    (lambda d: d["deltas"].reverse(), "deltas.order"),
    (lambda d: d.update(proofRoot="0x" + "0" * 64), "proofRoot"),
    (lambda d: d.update(finalBalance=-1), "balances"),
])
def test_tampered_copies_fail(saved_receipt, tmp_path, tamper, check):
    envelope = json.loads(saved_receipt.read_text())
    tamper(envelope["data"])
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(envelope))
    result = run(path)
    assert result.exit_code == 1
    assert "receipt: FAILED" in result.output and f"failed: {check}" in result.output


def test_a_tenant_url_needs_the_key_and_an_http_error_is_reported_as_such(mock, saved_receipt):
    url = f"{mock.base_url}{B}/invoice-proof/cust_v?period=2026-04"
    refused = run(url)
    assert refused.exit_code == 2
    assert refused.output.strip() == (f"Error: could not fetch {url}: HTTP 401 INVALID_API_KEY: "
                                      "The X-Api-Key header is missing (a tenant URL needs --api-key)")
    result = run(url, "--api-key", mock.key)
    assert result.exit_code == 0 and "receipt: VERIFIED" in result.output, result.output
    unknown = run(f"{mock.base_url}/api/v1/receipt/chk_nothing", "--api-key", mock.key)
    assert unknown.exit_code == 2 and "HTTP 404 NOT_FOUND: " in unknown.output and "chk_nothing" in unknown.output
    import subprocess
    import sys

    as_typed = subprocess.run([sys.executable, "-m", "mockserver.cli", "verify", url], capture_output=True, text=True)
    assert as_typed.returncode == 2 and as_typed.stdout == ""
    assert as_typed.stderr.startswith(f"Error: could not fetch {url}: HTTP 401 INVALID_API_KEY")
    down = run("http://127.0.0.1:9/receipt.json")
    assert down.exit_code == 2 and down.output.startswith("Error: could not fetch http://127.0.0.1:9/receipt.json: ")


def test_unreadable_input(tmp_path):
    missing = run(tmp_path / "missing.json")
    assert missing.exit_code == 2 and "could not read" in missing.output
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    result = run(junk)
    assert result.exit_code == 1 and "FAILED" in result.output
