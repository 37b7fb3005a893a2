"""The dev console (`/_console`) over HTTP: its pages are never requests of the workspace they show
(nothing journaled, the `req` counter unchanged), its forms are refused without the session's CSRF
token or from another origin, hostile values render inert, it answers only to loopback names on
loopback, and beyond loopback it needs the admin token (header, or a session made with it)."""

from __future__ import annotations

import re

import pytest
import requests

from conftest import counted_id

B = "/api/v1/balance"
HOSTILE = "<script>alert(\"x\")</script>'\"&<img src=x onerror=alert(1)>é\u2028😀"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def ws_id(server, key: str) -> int:
    """The console addresses a workspace by its row number: looked up in the session server's store."""
    env, public = key.split("_")[1], key.split("_", 2)[2].split(".", 1)[0]
    with server.runtime.store.transaction() as conn:
        return conn.execute("SELECT id FROM workspaces WHERE env = ? AND public_id = ?", (env, public)).fetchone()[0]


class Console:
    """A browser-like client of the console: keeps its cookies, reads the CSRF token from a page."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers.update(headers or {})

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base_url + path, allow_redirects=False, **kwargs)

    def token(self, path: str = "/_console") -> str:
        page = self.get(path)
        return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

    def post(self, path: str, data: dict[str, str], csrf: str | None = "page", **kwargs) -> requests.Response:
        if csrf == "page":
            csrf = self.token(path.split("/clock")[0].split("/faults")[0].split("/webhooks")[0])
        fields = {**data, **({"csrf": csrf} if csrf is not None else {})}
        return self.http.post(self.base_url + path, data=fields, allow_redirects=False, **kwargs)


def _pages(ws: int) -> list[str]:
    return ["/_console", "/_console/live", f"/_console/w/{ws}", f"/_console/w/{ws}/live", f"/_console/w/{ws}/requests",
            f"/_console/w/{ws}/requests/1", f"/_console/w/{ws}/webhooks", f"/_console/w/{ws}/faults",
            f"/_console/w/{ws}/requests?route=balance.emit&status=201&customer=cust_1",
            f"/_console/w/{ws}?customer=cust_1"]


# --- pages and their headers -------------------------------------------------------------------------------

def test_pages_are_html_under_a_strict_csp_and_set_a_strict_csrf_cookie(mock, server):
    mock.ok("POST", f"{B}/delta", json={"customerId": "cust_1", "delta": -3, "reason": "usage"})
    ws = ws_id(server, mock.key)
    console = Console(server.url)
    for path in _pages(ws):
        reply = console.get(path)
        assert reply.status_code == 200, (path, reply.text[:300])
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        if path.endswith("/live"):
            assert reply.json()["success"] is True and set(reply.json()["data"]) == {"stamp", "workspaces", "requests"}
            continue
        assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
        assert reply.headers["Content-Security-Policy"] == CSP
        assert reply.headers["Cache-Control"] == "no-store"
        found = re.search(r"<[^>]* style=|<style", reply.text)
        assert found is None, reply.text[found.start() - 200:found.start() + 100]  # no inline style
        assert re.findall(r"<script[^>]*>", reply.text) == ['<script src="/static/console.js" defer>']
        assert "http://" not in reply.text.replace(server.url, "") and "https://" not in reply.text
    fresh = requests.get(server.url + "/_console")
    cookie = fresh.headers["Set-Cookie"]
    assert re.match(r"pacspace_console_csrf=[A-Za-z0-9_-]{43}; HttpOnly; Path=/_console; SameSite=strict$", cookie)
    for asset in ("/static/console.js", "/static/console.css"):
        assert requests.get(server.url + asset).status_code == 200


def test_the_list_masks_keys_and_counts_what_each_workspace_holds(mock, server):
    mock.freeze("2026-02-03T10:00:00.000Z")
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    mock.ok("POST", f"{B}/delta", json={"customerId": "cust_1", "delta": -3, "reason": "usage"})
    mock.ok("POST", f"{B}/delta", json={"customerId": "cust_2", "delta": 5, "reason": "credit"})
    ws = ws_id(server, mock.key)
    page = Console(server.url).get("/_console").text
    row = re.search(rf'<tr data-workspace="{ws}">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[1] == f"pk_test_…{mock.key[-4:]}" and mock.key not in page and mock.key[8:] not in page
    assert cells[2] == "2026-02-03 10:00:00 frozen"
    assert cells[3:9] == ["2", "2", "0", "2", "0", "0"]  # requests, customers, verified, pending, failed, rules
    assert cells[9] == "2026-02-03 10:00:00"


# --- never a request of the workspace ----------------------------------------------------------------------

def test_viewing_and_driving_the_console_is_not_a_request_of_the_workspace(mock, server):
    mock.freeze("2026-02-03T10:00:00.000Z")
    mock.ok("POST", f"{B}/delta", json={"customerId": "cust_1", "delta": -3, "reason": "usage"})
    mock.ok("GET", f"{B}/limits")
    before = mock.ok("GET", "/_mock/journal", params={"exchange": "true"})
    assert before["total"] == 2
    ws = ws_id(server, mock.key)
    console = Console(server.url)
    for path in _pages(ws):
        assert console.get(path).status_code == 200, path
    done = console.post(f"/_console/w/{ws}/faults", {"route": "balance.limits", "action": "error", "status": "503"})
    assert done.status_code == 303
    assert console.post(f"/_console/w/{ws}/faults/flt_1/delete", {}).status_code == 303
    assert console.post(f"/_console/w/{ws}/webhooks/drain", {}).status_code == 303
    assert mock.ok("GET", "/_mock/journal", params={"exchange": "true"}) == before
    # the workspace's request counter did not move: the next request is its third
    assert mock.call("GET", f"{B}/limits").headers["X-Request-Id"] == counted_id("req", mock.key, 3)


def test_a_clock_button_performs_the_control_operation(mock, server):
    mock.freeze("2026-02-03T10:00:00.000Z")
    mock.settings(processingDelaySeconds=1, verifyDelaySeconds=2)
    record = mock.ok("POST", f"{B}/delta", json={"customerId": "cust_1", "delta": -3, "reason": "usage"})["recordId"]
    ws = ws_id(server, mock.key)
    console = Console(server.url)
    moved = console.post(f"/_console/w/{ws}/clock/advance", {"seconds": "5", "back": f"/_console/w/{ws}/requests"})
    assert (moved.status_code, moved.headers["Location"]) == (303, f"/_console/w/{ws}/requests")
    assert mock.ok("GET", "/_mock/clock") == {"now": "2026-02-03T10:00:05.000Z", "mode": "frozen", "offsetMs": None}
    assert mock.ok("GET", f"{B}/delta/{record}")["status"] == "VERIFIED"
    page = console.get(f"/_console/w/{ws}/requests").text  # the one-time message says what the operation did
    assert ("Clock at 2026-02-03T10:00:05.000Z (frozen): 2 transition(s), 1 event(s), 1 delivery attempt(s), "
            "1 delivered, 0 failed.") in page
    assert "Clock at" not in console.get(f"/_console/w/{ws}/requests").text
    # a form's mistake is the operation's own 400 message, shown on the page; nothing moved
    refused = console.post(f"/_console/w/{ws}/clock/set", {"at": "yesterday"})
    assert refused.status_code == 303
    assert "at: &#39;yesterday&#39; is not an RFC 3339 timestamp with a zone" in console.get(f"/_console/w/{ws}").text
    backwards = console.post(f"/_console/w/{ws}/clock/set", {"at": "2026-01-01T00:00:00Z"})
    assert backwards.status_code == 400 and "the clock cannot move back" in backwards.text
    assert mock.ok("GET", "/_mock/clock")["now"] == "2026-02-03T10:00:05.000Z"
    # a link elsewhere is not followed back
    elsewhere = console.post(f"/_console/w/{ws}/clock/advance", {"seconds": "1", "back": "//evil.example/x"})
    assert elsewhere.headers["Location"] == f"/_console/w/{ws}"


# --- CSRF and origins --------------------------------------------------------------------------------------

RULE = {"route": "balance.emit", "action": "error", "status": "503", "description": "from the console"}


@pytest.mark.parametrize("case", ["no token", "wrong token", "no cookie", "another origin", "another referer",
                                  "cross-site fetch", "null origin"])
def test_a_form_without_the_session_token_or_from_elsewhere_is_refused(mock, server, case):
    mock.ok("GET", "/_mock/workspace")
    ws = ws_id(server, mock.key)
    console = Console(server.url)
    token = console.token(f"/_console/w/{ws}/faults")
    path = f"/_console/w/{ws}/faults"
    headers = {}
    if case == "no token":
        token = None
    elif case == "wrong token":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif case == "no cookie":
        console.http.cookies.clear()
    elif case == "another origin":
        headers = {"Origin": "http://evil.example"}
    elif case == "another referer":
        headers = {"Referer": f"http://evil.example{path}"}
    elif case == "cross-site fetch":
        headers = {"Sec-Fetch-Site": "cross-site"}
    elif case == "null origin":
        headers = {"Origin": "null"}
    refused = console.post(path, RULE, csrf=token, headers=headers)
    assert refused.status_code == 403, refused.text
    assert refused.headers["Content-Type"].startswith("text/html")
    assert ("CSRF token" in refused.text) == (case in ("no token", "wrong token", "no cookie"))
    assert mock.ok("GET", "/_mock/faults") == {"rules": []}
    # the same form with the session's token, from this origin, performs the operation
    done = console.post(path, RULE, csrf=console.token(path),
                        headers={"Origin": server.url, "Referer": server.url + path, "Sec-Fetch-Site": "same-origin"})
    assert (done.status_code, done.headers["Location"]) == (303, path)
    rule = mock.ok("GET", "/_mock/faults")["rules"][0]
    assert (rule["ruleId"], rule["match"]["route"], rule["actions"], rule["description"]) == (
        "flt_1", "balance.emit", [{"type": "error", "status": 503, "code": "SERVICE_UNAVAILABLE"}], "from the console")


def test_on_loopback_the_console_answers_only_to_loopback_names(server):
    port = server.url.rsplit(":", 1)[1]
    for host, status in ((f"localhost:{port}", 200), (f"127.0.0.1:{port}", 200), (f"[::1]:{port}", 200),
                         (f"app.localhost:{port}", 200), (f"attacker.example:{port}", 421), ("10.0.0.8", 421),
                         (f"127.0.0.1.attacker.example:{port}", 421)):
        reply = requests.get(server.url + "/_console", headers={"Host": host})
        assert reply.status_code == status, host
    refused = requests.post(server.url + "/_console/w/1/clock/advance", headers={"Host": "attacker.example"},
                            data={"seconds": "1"})
    assert refused.status_code == 421 and "loopback name" in refused.text


# --- hostile values -------------------------------------------------------------------------------------

def test_hostile_values_render_inert_on_every_page(mock, server):
    mock.freeze("2026-02-03T10:00:00.000Z")
    mock.ok("POST", "/dashboard/customers", headers={"Authorization": "Bearer t"},
            json={"customerId": "cust_h", "displayName": HOSTILE, "unitLabel": "u<b>"})
    mock.ok("POST", f"{B}/delta", json={"customerId": "cust_h", "delta": -3, "reason": HOSTILE,
                                        "referenceId": "ref\"<i>'", "metadata": {"note": HOSTILE}})
    refused = mock.call("POST", f"{B}/delta", json={"customerId": HOSTILE, "delta": -1, "reason": "x"})
    assert refused.status_code == 400  # journaled with the customer it names
    mock.ok("POST", "/_mock/faults", status=201, json={"match": {"path": "/x/<script>*", "customerId": HOSTILE},
                                                       "actions": [{"type": "error", "status": 503}],
                                                       "description": HOSTILE[:200]})
    mock.ok("PUT", "/_mock/webhooks/config", json={"url": 'http://127.0.0.1:9/"><script>alert(1)</script>'})
    ws = ws_id(server, mock.key)
    console = Console(server.url)
    console.post(f"/_console/w/{ws}/faults", {"json": HOSTILE})  # a message that quotes the input
    pages = [*_pages(ws), f"/_console/w/{ws}/requests/2", f"/_console/w/{ws}/requests/3",
             f"/_console/w/{ws}/requests?customer={requests.utils.quote(HOSTILE)}",
             f"/_console/w/{ws}?customer={requests.utils.quote(HOSTILE)}"]
    seen = ""
    for path in pages:
        if path.endswith("/live"):
            continue
        text = console.get(path).text
        assert "<script>alert" not in text and "<img" not in text and "<b>" not in text and "<i>" not in text, path
        assert len(re.findall(r"<script", text)) == 1, path  # the console's own script only
        assert "onerror=alert(1)>" not in text.replace("onerror=alert(1)&gt;", ""), path
        seen += text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#39;&#34;&amp;&lt;img src=x onerror=alert(1)&gt;é\u2028😀" in seen
    assert "u&lt;b&gt;" in seen and "ref\\&#34;&lt;i&gt;&#39;" in seen  # unit label; reference in a JSON body
    assert "The rule is not valid JSON" in seen  # the flash message that quoted the input


def test_an_unknown_workspace_or_request_is_a_404_page(mock, server):
    mock.ok("GET", "/_mock/workspace")
    ws = ws_id(server, mock.key)
    for path in ("/_console/w/0", "/_console/w/999999999", "/_console/w/abc", f"/_console/w/{ws}/requests/99",
                 f"/_console/w/{ws}/requests/x"):
        reply = requests.get(server.url + path)
        assert reply.status_code == 404 and reply.headers["Content-Type"].startswith("text/html"), path
        assert reply.headers["Content-Security-Policy"] == CSP
    bad = requests.get(f"{server.url}/_console/w/{ws}/requests?status=5xx")
    assert bad.status_code == 400 and "status must be an HTTP status" in bad.text


# --- beyond loopback: the admin token -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    from test_beyond_loopback import Served

    served = Served("--host", "0.0.0.0", "--db", str(tmp_path_factory.mktemp("console") / "ledger.sqlite"),
                    "--processing-delay", "0", "--verify-delay", "0")
    try:
        key = "pk_test_console.s3cret"
        assert requests.post(f"{served.url}/_mock/keys", headers=served.admin(), json={"key": key}).ok
        assert requests.post(f"{served.url}{B}/delta", headers={"X-Api-Key": key},
                             json={"customerId": "cust_1", "delta": -3, "reason": "usage"}).status_code == 201
        yield served
    finally:
        served.stop()


def test_beyond_loopback_every_console_route_needs_the_admin_token(exposed):
    from mockserver.operations import OPERATIONS

    params = {"ws": "1", "seq": "1", "eventId": "evt_x", "ruleId": "flt_1"}
    for op in OPERATIONS:
        if op.plane != "console" or not op.admin:
            continue
        url = exposed.url + op.url(**{name: params[name] for name in op.path_params()})
        for headers in ({}, exposed.admin("wrong-token-of-the-right-size-000000000000000"),
                        {"Authorization": exposed.token}, {"Cookie": "pacspace_console_session=1.ab"}):
            refused = requests.request(op.method, url, headers=headers, data={"seconds": "1"}, allow_redirects=False)
            assert refused.status_code == 401, (op.key, headers, refused.status_code)
            assert refused.headers["Content-Type"].startswith("text/html")
            assert 'name="token"' in refused.text and "pk_test_…cret" not in refused.text and "cust_1" not in refused.text
        if op.method == "GET":
            allowed = requests.get(url, headers=exposed.admin(), allow_redirects=False)
            assert allowed.status_code == 200, (op.key, allowed.text[:300])
    page = requests.get(exposed.url + "/_console/w/1", headers=exposed.admin()).text
    assert "pk_test_…sole" in page and "cust_1" in page  # the public id's last four characters, never the key
    assert "s3cret" not in page


def test_beyond_loopback_a_browser_signs_in_once_with_the_token(exposed):
    console = Console(exposed.url)
    first = console.get("/_console/w/1/faults")
    assert first.status_code == 401 and 'name="next" value="/_console/w/1/faults"' in first.text
    token = re.search(r'name="csrf" value="([^"]+)"', first.text).group(1)
    wrong = console.http.post(exposed.url + "/_console/login", allow_redirects=False,
                              data={"csrf": token, "token": "not-the-token", "next": "/_console/w/1/faults"})
    assert wrong.status_code == 401 and "That is not this server&#39;s admin token." in wrong.text
    assert "pacspace_console_session" not in wrong.headers.get("Set-Cookie", "")
    no_csrf = console.http.post(exposed.url + "/_console/login", allow_redirects=False, data={"token": exposed.token})
    assert no_csrf.status_code == 403 and "pacspace_console_session" not in no_csrf.headers.get("Set-Cookie", "")
    signed = console.http.post(exposed.url + "/_console/login", allow_redirects=False,
                               data={"csrf": token, "token": exposed.token, "next": "/_console/w/1/faults"})
    assert (signed.status_code, signed.headers["Location"]) == (303, "/_console/w/1/faults")
    session = re.search(r"pacspace_console_session=([^;]+); HttpOnly; Max-Age=43200; Path=/_console; SameSite=strict",
                        signed.headers["Set-Cookie"])
    assert session and exposed.token not in signed.headers["Set-Cookie"]
    assert console.get("/_console/w/1/faults").status_code == 200
    # the session drives the forms like on loopback (with the CSRF token)
    armed = console.post("/_console/w/1/faults", {"route": "balance.emit", "action": "error", "status": "503"})
    assert armed.status_code == 303
    assert requests.get(f"{exposed.url}/_mock/faults", headers={"X-Api-Key": "pk_test_console.s3cret"}).json()[
        "data"]["rules"][0]["ruleId"] == "flt_1"
    # a changed session cookie is no session
    expires, mac = session.group(1).split(".")
    forged = Console(exposed.url)
    for value in (f"{int(expires) + 1}.{mac}", f"{expires}.{'0' * 64}", session.group(1)[:-1]):
        forged.http.cookies.set("pacspace_console_session", value, path="/_console")
        assert forged.get("/_console").status_code == 401, value
    assert console.post("/_console/logout", {}, csrf=console.token("/_console")).status_code == 303
    assert console.get("/_console").status_code == 401
    # a login's `next` never leaves the console
    again = Console(exposed.url)
    token = re.search(r'name="csrf" value="([^"]+)"', again.get("/_console").text).group(1)
    away = again.http.post(exposed.url + "/_console/login", allow_redirects=False,
                           data={"csrf": token, "token": exposed.token, "next": "https://evil.example/"})
    assert away.headers["Location"] == "/_console"
