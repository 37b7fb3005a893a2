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

import orjson

MAX_BODY = 64 * 1024
COMPRESS_OVER = 8 * 1024  # zlib costs ~30 µs even on 1.5 KB; the journal is bounded anyway
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


_SECRET_NAMES = {b"x-api-key", b"authorization", b"cookie", b"proxy-authorization", b"set-cookie"}


def _pairs(raw: Iterable[tuple[bytes, bytes]]) -> list[list[str]]:
    """ASGI header pairs (names already lower case) as [name, value] text, credentials redacted."""
    out = []
    for name, value in raw:
        text = value.decode("latin-1")
        if name in _SECRET_NAMES:
            text = _header_value(name.decode("latin-1"), text)
        out.append([name.decode("latin-1"), text])
    return out


def _headers(pairs: list[list[str]]) -> dict[str, str]:
    """Pairs as one member per name (repeated names joined by ', ')."""
    out: dict[str, str] = {}
    for name, value in pairs:
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _kept(raw: bytes | None, content_type: str, form: bool = False) -> tuple[bytes, int, bool]:
    """(the bytes kept, the body's size, binary): text bodies up to MAX_BODY, binary ones not at all."""
    if not raw:
        return b"", 0, False
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind and not kind.startswith(_TEXT_TYPES):
        return b"", len(raw), True
    if form:
        fields = [(k, REDACTED if k in SECRET_FORM_FIELDS else v)
                  for k, v in parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True)]
        raw = urlencode(fields).encode("utf-8")
    return raw[:MAX_BODY], len(raw), False


def _content_type(pairs: list[list[str]]) -> str:
    return next((value for name, value in pairs if name == "content-type"), "")


def record(method: str, path: str, query: str, request_headers: Iterable[tuple[bytes, bytes]],
           request_body: bytes | None, status: int, response_headers: Iterable[tuple[bytes, bytes]],
           response_body: bytes | None, form: bool = False) -> bytes:
    """The stored form of one exchange: a small JSON head (headers, sizes), a newline, then the
    kept bytes of both bodies as they are (no escaping); zlib-compressed when over 8 KiB."""
    sent, got = _pairs(request_headers), _pairs(response_headers)
    sent_body, sent_size, sent_binary = _kept(request_body, _content_type(sent), form)
    got_body, got_size, got_binary = _kept(response_body, _content_type(got))
    head_value = [method, path, query, status, sent, got, sent_size, len(sent_body), sent_binary, got_size,
                  len(got_body), got_binary]
    try:
        head = orjson.dumps(head_value)
    except orjson.JSONEncodeError:  # a lone surrogate somewhere: the standard writer escapes it
        head = json.dumps(head_value, separators=(",", ":")).encode("ascii")
    stored = head + b"\n" + sent_body + got_body
    return zlib.compress(stored, 1) if len(stored) > COMPRESS_OVER else stored


def _side(body: bytes, size: int, binary: bool) -> dict[str, Any]:
    side: dict[str, Any] = {"body": body.decode("utf-8", errors="replace") if body else None, "bodySize": size,
                            "truncated": size > len(body) and not binary}
    if binary:
        side["binary"] = True
    return side


def load(stored: bytes | None) -> dict[str, Any] | None:
    """The exchange as recorded (None for entries written before exchanges were recorded), each
    side with `parsed`: its body parsed with exact decimals when it is whole JSON, else null (so
    scenario expectations and scripts can look into it)."""
    if stored is None:
        return None
    raw = bytes(stored)
    if raw[:1] != b"[":
        raw = zlib.decompress(raw)
    head, _, bodies = raw.partition(b"\n")
    (method, path, query, status, sent, got, sent_size, sent_kept, sent_binary,
     got_size, got_kept, got_binary) = json.loads(head)
    exchange = {
        "request": {"method": method, "path": path, "query": query, "headers": _headers(sent),
                    **_side(bodies[:sent_kept], sent_size, sent_binary)},
        "response": {"status": status, "headers": _headers(got),
                     **_side(bodies[sent_kept:sent_kept + got_kept], got_size, got_binary)},
    }
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


def body_members(body: Any, name: str) -> list[str]:
    """The text values of a member a request body names: its own, then its batch items' (`deltas`)."""
    found = []
    if isinstance(body, dict):
        found.append(body.get(name))
        items = body.get("deltas")
        if isinstance(items, list):
            found += [item.get(name) for item in items if isinstance(item, dict)]
    return [value for value in found if isinstance(value, str)]


def references_of(body: Any) -> list[str]:
    """referenceIds a request body names (an emit, or a batch's items)."""
    return body_members(body, "referenceId")
