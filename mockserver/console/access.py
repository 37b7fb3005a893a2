"""Who may use the dev console, and which form POSTs it performs.

* On loopback: anyone on this machine, without a key, but only under a loopback name (the Host
  header is localhost, 127.x or [::1], or the configured public URL's host): a web page whose own
  DNS name is rebound to 127.0.0.1 cannot read or drive the console.
* Beyond loopback (balance-api.md §8.9): the admin token, as `Authorization: Bearer <token>`, or
  entered once in the sign-in form and then kept as a session cookie (HttpOnly, SameSite=Strict,
  Path=/_console) that holds an expiry and an HMAC keyed by the token, never the token itself.
  Checked by `Runtime.check_admin` / in constant time, before any body is read.
* Every form POST carries the session's CSRF token (a random value kept in an HttpOnly
  SameSite=Strict cookie and repeated in the form); an Origin or Referer header, when the
  browser sends one, must name this server, and `Sec-Fetch-Site`, when sent, must be same-origin.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from ..errors import ApiError
from ..pipeline import Call, header
from ..runtime import Runtime
from ..store import workspaces

PREFIX = "/_console"
CSRF_COOKIE = "pacspace_console_csrf"
SESSION_COOKIE = "pacspace_console_session"
FLASH_COOKIE = "pacspace_console_flash"
SESSION_TTL_MS = 12 * 3600 * 1000
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}\Z")
SESSION_RE = re.compile(r"^([0-9]{13,16})\.([0-9a-f]{64})\Z")
WS_RE = re.compile(r"^[1-9][0-9]{0,17}\Z")


# --- the workspace a console path addresses ---------------------------------------------------------

def workspace(conn: Any, path: dict[str, str]) -> int | None:
    """The `locate` of console routes: `{ws}` is the workspace's row number (never its key)."""
    value = path.get("ws", "")
    if not WS_RE.match(value) or not workspaces.exists(conn, int(value)):
        return None
    return int(value)


# --- guards (run before the body is read) -----------------------------------------------------------

def _is_loopback_name(host: str) -> bool:
    name = host.lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(value: str) -> str:
    """The host of a Host header value (port and IPv6 brackets dropped)."""
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_refusal(runtime: Runtime, request: Request) -> Response | None:
    """On loopback, a request must name the loopback (or the configured public URL's host)."""
    if runtime.config.exposed:
        return None
    host = header(request, "host")
    if host is None:
        return None
    name = _host_name(host.strip())
    public = urlsplit(runtime.config.public_url).hostname if runtime.config.public_url else None
    if _is_loopback_name(name) or (public is not None and name.lower() == public.lower()):
        return None
    from .views import message_page

    return message_page("Not this host", "The dev console answers only to a loopback name (localhost, "
                        "127.0.0.1, [::1]) on a server that listens on loopback.", status=421)


def host_guard(runtime: Runtime, request: Request) -> Response | None:
    """Signing in and out: open to anyone who reaches the server, under the right host name."""
    return host_refusal(runtime, request)


def admin_guard(runtime: Runtime, request: Request) -> Response | None:
    """Every other console operation: beyond loopback, the admin token or a session made with it."""
    refused = host_refusal(runtime, request)
    if refused is not None or not runtime.config.exposed:
        return refused
    authorization = header(request, "authorization")
    if authorization:
        try:
            runtime.check_admin(authorization)
            return None
        except ApiError:
            pass
    elif session_valid(runtime, request.cookies.get(SESSION_COOKIE, "")):
        return None
    from .views import login_page

    return login_page(runtime, request.cookies, request.url.path, status=401,
                      error="admin token required" if authorization else None)


# --- the admin session ------------------------------------------------------------------------------

def _session_mac(runtime: Runtime, expires_ms: int) -> str:
    key = runtime.config.admin_token.encode("utf-8")
    return hmac.new(key, f"pacspace-mock:console-session:v1|{expires_ms}".encode(), hashlib.sha256).hexdigest()


def new_session(runtime: Runtime) -> str:
    expires = time.time_ns() // 1_000_000 + SESSION_TTL_MS
    return f"{expires}.{_session_mac(runtime, expires)}"


def session_valid(runtime: Runtime, value: str) -> bool:
    found = SESSION_RE.match(value)
    if found is None or not runtime.config.admin_token:
        return False
    expires = int(found.group(1))
    return expires > time.time_ns() // 1_000_000 and hmac.compare_digest(found.group(2), _session_mac(runtime, expires))


def secure_cookies(runtime: Runtime) -> bool:
    """Cookies never travel in clear behind an https public URL (§8.9)."""
    return bool(runtime.config.exposed and (runtime.config.public_url or "").startswith("https://"))


def set_cookie(runtime: Runtime, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="strict",
                        secure=secure_cookies(runtime))


# --- CSRF -------------------------------------------------------------------------------------------

def csrf_token(cookies: dict[str, str]) -> tuple[str, bool]:
    """(the session's CSRF token, whether it is new and must be set as the cookie)."""
    token = cookies.get(CSRF_COOKIE, "")
    if TOKEN_RE.match(token):
        return token, False
    return secrets.token_urlsafe(32), True


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.netloc.lower() if parts.scheme in ("http", "https") and parts.netloc else None


def check_post(runtime: Runtime, call: Call) -> None:
    """A form POST of the console: same-origin (when the browser says where it comes from) and
    carrying the CSRF token of the session's cookie. Refused with 403 before anything happens."""
    headers = call.headers
    ours = {h for h in ((headers.get("host") or "").lower(), _origin_of(runtime.config.public_url or "")) if h}
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        raise _refused(f"this form was sent from another site (Sec-Fetch-Site: {site})")
    for name in ("origin", "referer"):
        value = headers.get(name)
        if value is not None:
            if _origin_of(value) not in ours:
                raise _refused(f"this form was sent from another origin ({name} does not name this server)")
            break  # the Origin decides when both are sent
    sent = (call.body or {}).get("csrf", "") if isinstance(call.body, dict) else ""
    kept = call.cookies.get(CSRF_COOKIE, "")
    if not (TOKEN_RE.match(kept) and isinstance(sent, str)
            and hmac.compare_digest(sent.encode("utf-8", "replace"), kept.encode("ascii"))):
        raise _refused("the form's CSRF token is missing or does not match this browser's session; reload the page")


def _refused(message: str) -> ApiError:
    return ApiError("UNAUTHORIZED", message, status=403)
