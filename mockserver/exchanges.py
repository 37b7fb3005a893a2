"""Recorded exchanges: what a journaled request sent and what it got back (balance-api.md §8.7,
extended): headers with credentials redacted, bodies up to MAX_BODY bytes each (longer ones cut,
with the full size kept), stored next to the journal entry, zlib-compressed when large. They live
as long as their journal entry: the workspace's last `journalSize` requests.

Written by the pipeline (`record`), read by `GET /_mock/journal?exchange=true` (`load`).
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlencode

MAX_BODY = 64 * 1024
COMPRESS_OVER = 1024
REDACTED = "[redacted]"
#: request headers whose values are credentials (the key's secret part is cut, the public part kept)
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization"}
SECRET_FORM_FIELDS = {"code"}  # the shared-record access code (§6.1)
_KEY_SECRET = re.compile(r"^(pk_(?:test|live)_[^.]*)\.(.+)$")
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/problem+json")


def _header_value(name: str, value: str) -> str:
    if name == "x-api-key":
        found = _KEY_SECRET.match(value)
        return f"{found.group(1)}.{REDACTED}" if found else value
    if name in SECRET_HEADERS:
        scheme = value.split(" ", 1)[0] if name != "cookie" and " " in value else None
        if name == "cookie":
            return "; ".join(f"{part.split('=', 1)[0].strip()}={REDACTED}" for part in value.split(";") if part.strip())
        return f"{scheme} {REDACTED}" if scheme else REDACTED
    if name == "set-cookie":
        cookie, _, attributes = value.partition(";")
        return f"{cookie.split('=', 1)[0]}={REDACTED}" + (f";{attributes}" if attributes else "")
    return value


def headers_of(pairs: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Raw ASGI header pairs as a dict of lower-case names (repeated names joined by ', '), redacted."""
    out: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = raw_name.decode("latin-1").lower()
        value = _header_value(name, raw_value.decode("latin-1"))
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _body(raw: bytes | None, content_type: str | None, form: bool = False) -> dict[str, Any]:
    if not raw:
        return {"body": None, "bodySize": 0, "truncated": False}
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind and not kind.startswith(_TEXT_TYPES):
        return {"body": None, "bodySize": len(raw), "truncated": False, "binary": True}
    if form:
        fields = [(k, REDACTED if k in SECRET_FORM_FIELDS else v)
                  for k, v in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True)]
        raw = urlencode(fields).encode("utf-8")
    cut = raw[:MAX_BODY]
    return {"body": cut.decode("utf-8", errors="replace"), "bodySize": len(raw), "truncated": len(raw) > MAX_BODY}


def record(method: str, path: str, query: str, request_headers: Iterable[tuple[bytes, bytes]],
           request_body: bytes | None, status: int, response_headers: Iterable[tuple[bytes, bytes]],
           response_body: bytes | None, form: bool = False) -> bytes:
    """The stored form of one exchange."""
    sent = headers_of(request_headers)
    got = headers_of(response_headers)
    exchange = {
        "request": {"method": method, "path": path, "query": query, "headers": sent,
                    **_body(request_body, sent.get("content-type"), form)},
        "response": {"status": status, "headers": got, **_body(response_body, got.get("content-type"))},
    }
    text = json.dumps(exchange, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return zlib.compress(text, 1) if len(text) > COMPRESS_OVER else text


def load(stored: bytes | None) -> dict[str, Any] | None:
    """The exchange as recorded (None for entries written before exchanges were recorded), each
    side with `parsed`: its body parsed with exact decimals when it is whole JSON, else null (so
    scenario expectations and scripts can look into it)."""
    if stored is None:
        return None
    raw = bytes(stored)
    exchange = json.loads(zlib.decompress(raw) if raw[:1] != b"{" else raw)
    for side in (exchange["request"], exchange["response"]):
        side["parsed"] = _parsed(side)
    return exchange


def _parsed(side: dict[str, Any]) -> Any:
    kind = side["headers"].get("content-type", "").split(";", 1)[0].strip().lower()
    if side["body"] is None or side["truncated"] or not kind.endswith("json"):
        return None
    from .proofs.primitives import parse_json_exact

    try:
        return parse_json_exact(side["body"])
    except ValueError:  # the app sent something that is not JSON: the text says what
        return None


def keys(customers: Iterable[str], references: Iterable[str]) -> str | None:
    """The filter column: every customer and reference id the request names."""
    items = [f"c:{c}" for c in dict.fromkeys(customers) if "\x1f" not in c]
    items += [f"r:{r}" for r in dict.fromkeys(references) if "\x1f" not in r]
    return "\x1f" + "\x1f".join(items) + "\x1f" if items else None


def references_of(body: Any) -> list[str]:
    """referenceIds a request body names (an emit, or a batch's items)."""
    found = []
    if isinstance(body, dict):
        found.append(body.get("referenceId"))
        items = body.get("deltas")
        if isinstance(items, list):
            found += [item.get("referenceId") for item in items if isinstance(item, dict)]
    return [r for r in found if isinstance(r, str)]
