"""The dev console in a real browser (headless Chromium, as tests/test_browser.py): a workspace
replayed from the bundled guide-flow scenario plus some pending usage, then the walk a developer
makes — open the workspace, check its balances and the usage chart against the ledger (derive),
watch the list refresh by itself, open an exchange, advance the clock and see pending deltas turn
verified, redeliver a webhook whose endpoint refused, arm and remove a fault. No CSP violation,
no script error; none of it is a request of the workspace. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest

from conftest import Mock
from mockserver.scenarios.loader import load_scenario
from mockserver.scenarios.locate import bundled_scenarios
from mockserver.scenarios.runner import Runner, Target
from test_browser import ARTIFACTS, browser  # noqa: F401  (the Chromium fixture and its skip/fail rule)
from test_console import ws_id

B = "/api/v1/balance"
GUIDE = next(p for p in bundled_scenarios() if p.name == "guide-flow.yaml")
ODD_REASON = "<script>alert('reason')</script> é"


class Api(Mock):
    """The test's own API calls, counted: the console's must not add to the workspace's requests."""

    calls = 0

    def call(self, method, path, **kwargs):
        if not path.startswith("/_mock/"):
            Api.calls += 1
        return super().call(method, path, **kwargs)


@pytest.fixture
def replayed(server, api_key):
    target = Target(server.url, True, "the session's server")
    try:
        result = Runner(target, api_key=api_key, use_golden=False).run(load_scenario(GUIDE))
    finally:
        target.close()
    assert result.ok, [(s.step.title, s.messages) for s in result.steps if not s.ok]
    api = Api(server.url, api_key)
    # the replay left the clock frozen at 2026-03-02T00:00:05Z, with 1 s processing and 2 s verify delays
    api.ok("POST", f"{B}/delta", json={"customerId": "cust_acme_001", "delta": -55.25, "reason": "daily_usage_flush",
                                       "referenceId": "usage:acme:2026-03-02"})
    api.ok("POST", f"{B}/delta", json={"customerId": "cust_globex", "delta": -12.125, "reason": ODD_REASON,
                                       "metadata": {"note": "<img src=x onerror=alert(1)>"}})
    api.ok("POST", f"{B}/delta", json={"customerId": "cust_globex", "delta": 30, "reason": "credit"})
    return api, ws_id(server, api_key)


def _ledger(api: Api, customer: str) -> dict:
    """What the ledger says: derive over all of 2026 (every delta of this workspace), and March by day."""
    whole = api.ok("GET", f"{B}/derive/{customer}", params={"startDate": "2026-01-01", "endDate": "2027-01-01",
                                                           "timePreset": "custom"})
    march = api.ok("GET", f"{B}/derive/{customer}", params={"period": "2026-03", "granularity": "day", "limit": 1})
    return {"verified": Decimal(str(whole["computedBalance"])), "pending": whole["pendingCount"],
            "failed": whole["failedCount"], "days": {b["bucket"]: Decimal(str(b["netChange"])) for b in march["breakdown"]}}


def _check_against_ledger(page, api: Api, pending: dict[str, tuple[Decimal, int]], pending_days: dict[str, Decimal]):
    """The customers' figures and every bar of the chart, as the ledger derives them."""
    days: dict[str, Decimal] = {}
    for customer in ("cust_acme_001", "cust_globex"):
        ledger = _ledger(api, customer)
        row = page.locator(f'tr[data-customer="{customer}"]')
        verified = row.locator('[data-field="verified"]').inner_text().split()[0]
        assert Decimal(verified) == ledger["verified"], customer
        amount, count = pending.get(customer, (Decimal(0), 0))
        assert row.locator('[data-field="pending"]').inner_text().split() == [str(amount) if amount else "0", "·",
                                                                                str(ledger["pending"])], customer
        assert ledger["pending"] == count and ledger["failed"] == 0
        for day, net in ledger["days"].items():
            days[day] = days.get(day, Decimal(0)) + net
    bars = page.locator("svg#usage-chart g.bar")
    assert bars.count() == 31  # one per day of March
    for n in range(31):
        bar = bars.nth(n)
        day = bar.get_attribute("data-day")
        assert Decimal(bar.get_attribute("data-verified")) == days[day], day
        assert Decimal(bar.get_attribute("data-pending")) == pending_days.get(day, Decimal(0)), day
        title = bar.locator("title").text_content()
        assert title.startswith(f"{day}: verified {bar.get_attribute('data-verified')} units")
    return days


def _refusing_url() -> str:
    with socket.socket() as s:  # a port nobody listens on: connections are refused at once
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hooks"


def test_a_developer_walks_the_console(browser, server, replayed):  # noqa: F811
    api, ws = replayed
    ARTIFACTS.mkdir(exist_ok=True)
    before = api.ok("GET", "/_mock/journal", params={"limit": 1})["total"]
    own = Api.calls
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)

    # the list of workspaces: masked key, counts
    page.goto(f"{server.url}/_console")
    row = page.locator(f'tr[data-workspace="{ws}"]')
    assert row.locator("code").inner_text() == f"pk_test_…{api.key[-4:]}"
    assert row.locator('[data-field="requests"]').inner_text() == str(before)
    page.screenshot(path=str(ARTIFACTS / "console-workspaces.png"), full_page=True)
    row.locator("a").first.click()
    page.wait_for_url(f"{server.url}/_console/w/{ws}")

    # the workspace: balances and the chart match derive; pending usage of March 2 stacked
    assert page.locator("#clock-value").inner_text() == "2026-03-02T00:00:05.000Z"
    pending = {"cust_acme_001": (Decimal("-55.25"), 1), "cust_globex": (Decimal("17.875"), 2)}
    _check_against_ledger(page, api, pending, {"2026-03-02": Decimal("-37.375")})
    assert page.locator("#count-pending").inner_text() == "3"
    march_1 = page.locator('g.bar[data-day="2026-03-01"]')
    assert march_1.get_attribute("data-verified") == "-100" and march_1.locator("rect.verified").count() == 1
    links = page.locator("#checkpoints tr[data-checkpoint] a")
    checkpoint = page.locator("#checkpoints tr[data-checkpoint]").first.get_attribute("data-checkpoint")
    assert links.nth(0).get_attribute("href") == f"/receipt/{checkpoint}"
    assert links.nth(1).get_attribute("href").startswith("/verify/0x")
    page.screenshot(path=str(ARTIFACTS / "console-workspace.png"), full_page=True)

    # the lists refresh by themselves: a delta sent now appears without a reload
    page.evaluate("window.notReloaded = true")
    api.ok("POST", f"{B}/delta", json={"customerId": "cust_globex", "delta": -1, "reason": "late"})
    from playwright.sync_api import expect

    cell = page.locator('tr[data-customer="cust_globex"] [data-field="pending"]')
    expect(cell).to_have_text("16.875 · 3", timeout=15_000)
    assert page.evaluate("window.notReloaded") is True
    pending["cust_globex"] = (Decimal("16.875"), 3)

    # recent exchanges, filtered; one opens in full
    page.click("nav.tabs >> text=Requests")
    page.select_option("#filter-route", "balance.emit")
    page.fill("#filter-customer", "cust_globex")
    page.click("#request-filters button[type=submit]")
    rows = page.locator("#requests tr[data-seq]")
    assert rows.count() == 3 and all("cust_globex" in rows.nth(n).inner_text() for n in range(3))
    rows.nth(2).locator("a.open-exchange").click()  # newest first: the oldest is the odd reason
    body = page.locator("#request-body").inner_text()
    assert '"reason": "<script>alert(\'reason\')</script> é"' in body and '"delta": -12.125' in body
    assert page.locator("#exchange-status").inner_text() == "201"
    assert page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))") == ["/static/console.js"]
    assert '"status": "QUEUED"' in page.locator("#response-body").inner_text()
    page.screenshot(path=str(ARTIFACTS / "console-exchange.png"), full_page=True)

    # deliveries will go to an endpoint that refuses
    page.click("nav.tabs >> text=Webhooks")
    refusing = _refusing_url()
    page.fill("#webhook-url", refusing)
    page.click("#save-webhook-url")
    assert page.locator("#flash").inner_text() == f"Deliveries now go to {refusing}."

    # advance the clock: pending deltas turn verified, their events' first attempts are refused
    page.click("nav.tabs >> text=Overview")
    page.fill("form:has(#advance-clock) input[name=seconds]", "5")
    page.click("#advance-clock")
    assert page.locator("#flash").inner_text() == (
        "Clock at 2026-03-02T00:00:10.000Z (frozen): 8 transition(s), 4 event(s), 4 delivery attempt(s),"
        " 0 delivered, 0 failed.")  # four batches processed and verified; refused attempts retry later
    assert page.locator("#count-pending").inner_text() == "0"
    days = _check_against_ledger(page, api, {}, {})
    assert days["2026-03-02"] == Decimal("-38.375")
    page.screenshot(path=str(ARTIFACTS / "console-after-advance.png"), full_page=True)

    # the outbox shows each refused attempt; redeliver one while the endpoint still refuses, then fixed
    page.click("nav.tabs >> text=Webhooks")
    refused = page.locator('#deliveries tr[data-status="pending"]')
    assert refused.count() == 4
    event = refused.first.get_attribute("data-event")
    assert "connection_error" in refused.first.inner_text()
    row = page.locator(f'tr[data-event="{event}"]')
    row.locator("button.redeliver").click()
    assert page.locator("#flash").inner_text() == f"Redelivered {event} (attempt 2): failed again (connection_error)."
    assert page.locator(f'tr[data-event="{event}"] [data-field="attempts"]').inner_text() == "2"
    page.fill("#webhook-url", "")
    page.click("#save-webhook-url")
    assert page.locator("#flash").inner_text() == "No URL: deliveries are captured."
    page.locator(f'tr[data-event="{event}"] button.redeliver').click()
    assert page.locator("#flash").inner_text() == f"Redelivered {event} (attempt 3): delivered."
    page.locator(f'tr[data-event="{event}"] + tr.detail summary').click()
    attempts = page.locator(f'tr[data-event="{event}"] + tr.detail tr[data-attempt]')
    assert [attempts.nth(n).locator("td").nth(3).inner_text() for n in range(3)] == [
        "connection_error", "connection_error", "ok"]
    page.screenshot(path=str(ARTIFACTS / "console-webhooks.png"), full_page=True)
    delivered = next(e for e in api.ok("GET", "/_mock/webhooks/outbox", params={"limit": 1000})["entries"]
                     if e["eventId"] == event)
    assert (delivered["deliveryStatus"], delivered["attempts"], delivered["captured"]) == ("delivered", 3, True)

    # arm a fault, see it, remove it
    page.click("nav.tabs >> text=Faults")
    page.select_option("#rule-route", "balance.emit")
    page.select_option("#rule-action", "error")
    page.fill("#rule-status", "503")
    page.fill("#rule-description", "emit answers 503 <b>now</b>")
    page.click("#arm-rule")
    rule = page.locator("#rules tr[data-rule]")
    assert rule.count() == 1 and "emit answers 503 <b>now</b>" in rule.inner_text()
    armed = api.ok("GET", "/_mock/faults")["rules"]
    assert [(r["ruleId"], r["match"]["route"], r["actions"][0]["status"]) for r in armed] == [
        (rule.get_attribute("data-rule"), "balance.emit", 503)]
    assert api.call("POST", f"{B}/delta", json={"customerId": "c", "delta": -1, "reason": "x"}).status_code == 503
    page.screenshot(path=str(ARTIFACTS / "console-faults.png"), full_page=True)
    rule.locator("button.remove-rule").click()
    assert page.locator("#no-rules").is_visible()
    assert api.ok("GET", "/_mock/faults") == {"rules": []}

    # none of it was a request of the workspace: only the test's own API calls were journaled
    assert api.ok("GET", "/_mock/journal", params={"limit": 1})["total"] == before + (Api.calls - own)
    assert not problems, problems
