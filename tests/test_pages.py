"""The public pages (balance-api.md §6) over HTTP: escaping, the two tiers of the shared record,
the access-code lockout, the compare form, receipt and verify pages."""

from __future__ import annotations

import json
import re

import pytest
import requests

B = "/api/v1/balance"
EVIL = "<script>alert(1)</script>"


@pytest.fixture
def flow(mock):
    """A customer whose id, reason, reference id and display name carry markup."""
    mock.freeze("2026-02-01T10:00:00.000Z")
    mock.call("POST", "/dashboard/customers", headers={"Authorization": "Bearer t"},
              json={"customerId": "cust_x", "displayName": EVIL, "unitLabel": "<b>calls</b>"})
    for day in ("01", "02", "03"):
        mock.clock_set(f"2026-02-{day}T23:59:59.000Z")
        mock.ok("POST", f"{B}/delta", json={"customerId": "cust_x", "delta": -10, "reason": f"{EVIL} day {day}",
                                           "referenceId": f"<i>{day}</i>", "metadata": {"note": EVIL}})
    mock.clock_set("2026-03-01T00:05:00.000Z")
    receipt = mock.ok("GET", f"{B}/invoice-proof/cust_x?period=2026-02")
    return mock, receipt


def island(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="pacspace-data">(.*?)</script>', html, re.S)
    assert match, "no data island"
    return json.loads(match.group(1))


def test_outer_view_shows_no_lines_and_escapes(flow):
    mock, receipt = flow
    page = requests.get(receipt["verifyUrl"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["Referrer-Policy"] == "no-referrer"
    assert EVIL not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # the display name
    assert "Recorded this period" in page.text and "Access code" in page.text
    assert "day 01" not in page.text  # no individual records before the code


def test_access_code_unlocks_lines_and_island(flow):
    mock, receipt = flow
    session = requests.Session()
    wrong = session.post(receipt["verifyUrl"] + "/access", data={"code": "ZZZZZZ"}, allow_redirects=False)
    assert wrong.status_code == 200 and "4 attempt(s) left" in wrong.text
    right = session.post(receipt["verifyUrl"] + "/access", data={"code": receipt["accessHint"].lower()},
                         allow_redirects=False)
    assert right.status_code == 303 and right.headers["location"].endswith(receipt["verifyUrl"].split("/c/")[1])
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=86400" in cookie and "Path=/c/" in cookie
    page = session.get(receipt["verifyUrl"])
    assert "day 01" in page.text and EVIL not in page.text and "&lt;i&gt;01&lt;/i&gt;" in page.text
    assert "\\u003cscript\\u003e" in page.text  # the data island escapes markup
    data = island(page.text)
    assert data["proofRoot"] == receipt["proofRoot"] and "accessHint" not in data
    assert all("metadata" not in line for line in data["deltas"])
    assert 'data-verification="pending"' in page.text


def test_five_wrong_codes_lock_the_form(flow):
    mock, receipt = flow
    for attempt in range(4):
        assert requests.post(receipt["verifyUrl"] + "/access", data={"code": "WRONG1"}).status_code == 200
    locked = requests.post(receipt["verifyUrl"] + "/access", data={"code": "WRONG1"})
    assert locked.status_code == 429 and "locked until" in locked.text
    refused = requests.post(receipt["verifyUrl"] + "/access", data={"code": receipt["accessHint"]},
                            allow_redirects=False)
    assert refused.status_code == 429  # even the right code, during the lock
    mock.clock_set("2026-03-01T00:21:00.000Z")  # 15 minutes later (virtual)
    assert requests.post(receipt["verifyUrl"] + "/access", data={"code": receipt["accessHint"]},
                         allow_redirects=False).status_code == 303


def test_cookie_expires_on_the_virtual_clock(flow):
    mock, receipt = flow
    session = requests.Session()
    session.post(receipt["verifyUrl"] + "/access", data={"code": receipt["accessHint"]})
    assert "day 01" in session.get(receipt["verifyUrl"]).text
    mock.clock_set("2026-03-02T00:05:01.000Z")
    assert "day 01" not in session.get(receipt["verifyUrl"]).text


def test_compare_form_fires_a_customer_compare_run(flow):
    mock, receipt = flow
    session = requests.Session()
    session.post(receipt["verifyUrl"] + "/access", data={"code": receipt["accessHint"]})
    page = session.post(receipt["verifyUrl"] + "/compare", data={"period": "2026-02", "balance": "-30"})
    assert page.status_code == 200 and "matches" in page.text and "does not match" not in page.text
    miss = session.post(receipt["verifyUrl"] + "/compare", data={"period": "2026-02", "balance": "-29"})
    assert "does not match" in miss.text
    outbox = mock.ok("GET", "/_mock/webhooks/outbox?event=customer.compare_run")["entries"]
    data = [json.loads(e["body"])["data"] for e in outbox]
    assert [(d["initiator"], d["theirBalance"], d["matchesTheirs"], d["yourBalance"]) for d in data] == [
        ("customer", -30, True, None), ("customer", -29, False, None)]


def test_receipt_and_verify_pages(flow):
    mock, receipt = flow
    page = requests.get(f"{mock.base_url}/receipt/{receipt['checkpointId']}")
    assert page.status_code == 200 and receipt["proofRoot"] in page.text and EVIL not in page.text
    assert island(page.text)["checkpointId"] == receipt["checkpointId"]
    verify = requests.get(f"{mock.base_url}/verify/{receipt['proofRoot']}")
    assert verify.status_code == 200 and "Server check (both): verified" in verify.text
    assert island(verify.text)["verified"] is True
    # chain outage is the one fault pages honour
    mock.ok("POST", "/_mock/faults", json={"match": {"route": "page.verify"}, "actions": [{"type": "chain_unavailable"}]})
    assert "chain unavailable" in requests.get(f"{mock.base_url}/verify/{receipt['proofRoot']}").text
    routes = [e["route"] for e in mock.ok("GET", "/_mock/journal")["entries"]]
    assert {"page.receipt", "page.verify"} <= set(routes)


def test_superseded_receipt_links_to_the_newer_one(flow):
    mock, receipt = flow
    window = {"customerId": "cust_x", "startDate": "2026-02-01", "endDate": "2026-04-01"}
    first = mock.ok("POST", f"{B}/checkpoint", json=window)
    mock.clock_set("2026-03-01T00:06:00.000Z")
    mock.ok("POST", f"{B}/delta", json={"customerId": "cust_x", "delta": 1, "reason": "late"})
    mock.clock_set("2026-03-01T00:07:00.000Z")
    second = mock.ok("POST", f"{B}/checkpoint", json=window)
    assert second["supersedes"] == first["checkpointId"]
    page = requests.get(f"{mock.base_url}/receipt/{first['checkpointId']}")
    assert "superseded by" in page.text and f'/receipt/{second["checkpointId"]}' in page.text


def test_unknown_objects_are_html_404(server):
    for path in ("/c/cus_nobody", "/receipt/chk_nobody", "/verify/0x" + "1" * 64, "/verify/nothex"):
        response = requests.get(server.url + path)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")


def test_shared_record_off_is_404(flow):
    mock, receipt = flow
    mock.settings(sharedRecord=False)
    assert requests.get(receipt["customerLinkUrl"]).status_code == 404


def test_static_assets_are_local(server):
    assert requests.get(server.url + "/static/pacspace.css").status_code == 200
    assert requests.get(server.url + "/static/pacspace-verify.js").status_code == 200


def test_the_index_page_says_what_runs_and_where_to_start(server):
    page = requests.get(server.url + "/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    text = page.text
    assert "<title>Dev server · pacspace-mock</title>" in text and f"<code>{server.url}</code>" in text
    assert "open mode: any well-formed pk_test_" in text and "in memory" in text
    for link in ("/openapi.json", "/_mock/health"):
        assert f'href="{link}"' in text and requests.get(server.url + link).status_code == 200
    assert "<code>guide-flow</code>" in text  # a bundled scenario, with the command to replay it
    assert f"pacspace-mock replay --base-url {server.url} NAME_OR_FILE" in text
    assert requests.post(server.url + "/").status_code == 405


def test_favicon_is_an_svg_the_pages_link(server):
    icon = requests.get(server.url + "/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.content.startswith(b"<svg xmlns=\"http://www.w3.org/2000/svg\"")
    page = requests.get(server.url + "/")
    assert '<link rel="icon" href="/favicon.ico" type="image/svg+xml">' in page.text


def test_verify_page_says_yes_and_no(flow):
    mock, receipt = flow
    page = requests.get(receipt["verificationExplorerUrl"]).text
    assert "<dt>Recomputed</dt><dd>yes</dd>" in page and "<dt>Anchored</dt><dd>yes</dd>" in page
    assert "True" not in page and "False" not in page
