"""The customer's side in a real browser (headless Chromium from Debian's package): open the
invoice's verifyUrl, see the summary, enter the access code, see the period's lines and a passing
in-browser verification; a receipt tampered in the database fails it. Screenshots are saved in
tests/artifacts/ for a person to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import require_tool

CHROMIUM = os.environ.get("PACSPACE_MOCK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
B = "/api/v1/balance"


@pytest.fixture(scope="module")
def browser():
    require_tool(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (Debian package chromium)")
    try:
        import playwright.sync_api as playwright
    except ImportError:
        require_tool(False, "playwright is not installed (pip install -e '.[test]')")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def guide(mock):
    mock.freeze("2026-02-01T23:59:59.000Z")
    for day, calls in (("01", 420), ("02", 390), ("03", 437)):
        mock.clock_set(f"2026-02-{day}T23:59:59.000Z")
        mock.ok("POST", f"{B}/delta", json={"customerId": "cust_acme_001", "delta": -calls,
                                           "reason": f"daily_usage_flush:2026-02-{day}",
                                           "referenceId": f"usage:cust_acme_001:2026-02-{day}"})
    mock.clock_set("2026-03-01T00:05:00.000Z")
    mock.ok("POST", f"{B}/checkpoint", json={"customerId": "cust_acme_001", "period": "2026-02"})
    mock.clock_set("2026-03-01T00:06:00.000Z")
    return mock, mock.ok("GET", f"{B}/invoice-proof/cust_acme_001?period=2026-02")


def _result(page) -> tuple[str, str]:
    page.wait_for_function("document.getElementById('verification-result').dataset.verification !== 'pending'",
                           timeout=20_000)
    element = page.locator("#verification-result")
    return element.get_attribute("data-verification"), element.inner_text()


def test_customer_verifies_the_invoice_in_the_browser(browser, guide):
    mock, receipt = guide
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(receipt["verifyUrl"])
    assert "Recorded this period" in page.content() and "daily_usage_flush" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "shared-record-outer.png"), full_page=True)
    page.fill("#code", receipt["accessHint"])
    page.click("button[type=submit]")
    page.wait_for_selector("#verification-result")
    assert "daily_usage_flush:2026-02-03" in page.content()
    state, text = _result(page)
    page.screenshot(path=str(ARTIFACTS / "shared-record-unlocked.png"), full_page=True)
    assert state == "pass", text
    assert not errors, errors
    receipt_page = browser.new_page()
    receipt_page.goto(f"{mock.base_url}/receipt/{receipt['checkpointId']}")
    assert _result(receipt_page)[0] == "pass"
    verify_page = browser.new_page()
    console: list[str] = []
    verify_page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    verify_page.goto(f"{mock.base_url}/verify/{receipt['proofRoot']}")
    assert _result(verify_page)[0] == "pass"
    verify_page.screenshot(path=str(ARTIFACTS / "verify-page.png"), full_page=True)
    assert verify_page.locator("dt:text('Anchored') + dd").inner_text() == "yes"
    assert not [line for line in console if line.startswith("error")], console  # the favicon is found too


def test_the_index_page_in_the_browser(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto(server.url + "/")
    assert page.title() == "Dev server · pacspace-mock"
    assert page.locator("link[rel=icon]").get_attribute("href") == "/favicon.ico"
    page.click("text=OpenAPI document")
    assert page.url.endswith("/openapi.json")
    page.screenshot(path=str(ARTIFACTS / "index-page.png"))
    assert not [line for line in console if line.startswith("error")], console


def test_a_receipt_tampered_in_the_database_fails_in_the_browser(browser, guide, server):
    mock, receipt = guide
    ARTIFACTS.mkdir(exist_ok=True)
    record = receipt["deltas"][1]["recordId"]
    store = server.runtime.store
    with store.transaction() as conn:
        conn.execute("UPDATE deltas SET amount = '-39', units = -39 WHERE record_id = ? AND customer_id = ?",
                     (record, "cust_acme_001"))
    try:
        page = browser.new_page()
        page.goto(f"{mock.base_url}/receipt/{receipt['checkpointId']}")
        state, text = _result(page)
        page.screenshot(path=str(ARTIFACTS / "receipt-tampered.png"), full_page=True)
        assert state == "fail" and "fail" in text.lower(), text
    finally:
        with store.transaction() as conn:
            conn.execute("UPDATE deltas SET amount = '-390', units = -390 WHERE record_id = ? AND customer_id = ?",
                         (record, "cust_acme_001"))
