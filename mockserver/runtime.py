"""Runtime: server configuration, the store, workspaces, their virtual clocks and counters.

One Runtime is passed to create_app(runtime); there are no module globals, so several servers
(one per test session, one per xdist worker) live side by side in one process.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

from . import ids
from .errors import ApiError
from .proofs.objects import chain_id_for, ledger_id
from .proofs.primitives import format_ts
from .store import Store, server_secret, workspaces

KEY_RE = re.compile(r"^pk_(test|live)_([A-Za-z0-9_-]{1,64})(\.[A-Za-z0-9_-]{1,128})?\Z")
MAX_KEY_LENGTH = 256


@dataclass
class ServerConfig:
    """Server-wide defaults that new and reset workspaces get (balance-api.md §8.5)."""

    seed: int = 0
    processing_delay: float = 1.0
    verify_delay: float = 2.0
    strict: bool = False
    keys: dict[str, bool] = field(default_factory=dict)  # full key -> active
    public_url: str | None = None
    webhook_delivery: str = "auto"
    # §8.9 "Beyond loopback": the server listens on a non-loopback address. Then every global
    # operation but health needs `admin_token`, page secrets come from a random server secret kept
    # in the database (not from the seed), and links use `public_url`, never the Host header.
    exposed: bool = False
    admin_token: str | None = None
    # validate every JSON reply against its operation's published schema (the test suite turns it on)
    check_replies: bool = field(default_factory=lambda: os.environ.get("PACSPACE_MOCK_CHECK_REPLIES", "") not in ("", "0"))

    def default_settings(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "processingDelaySeconds": _num(self.processing_delay),
            "verifyDelaySeconds": _num(self.verify_delay),
            "sharedRecord": True,
            "strictMode": self.strict,
            "cadenceLimitSeconds": None,
            "planAllotment": None,
            "limits": {"maxScopeMonths": 24, "maxLastNDays": 90, "maxRetentionDays": 730},
            "publicOrigin": None,
            "webhookDelivery": self.webhook_delivery,
            "webhookTimestampClock": "wall",
            "idempotencyTtlSeconds": 86400,
            "journalSize": 1000,
            "embedOrigins": [],
        }


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


@dataclass
class Workspace:
    id: int
    env: str
    public_id: str
    created_ms: int
    settings: dict[str, Any]
    # as loaded at the start of the request (same transaction): clock, scheduling, rule count
    clock: tuple[str, int, int | None, int] = ("real", 0, None, 0)
    next_due_ms: int | None = None
    rules_created: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Workspace":
        return cls(
            row["id"], row["env"], row["public_id"], row["created_ms"], parse_settings(row["settings"]),
            (row["clock_mode"], row["clock_offset_ms"] or 0, row["clock_frozen_ms"], row["clock_last_ms"] or 0),
            row["next_due_ms"], row["n_flt"] or 0,
        )

    @property
    def key_public_part(self) -> str:
        return f"pk_{self.env}_{self.public_id}"

    @cached_property
    def ledger_id(self) -> str:
        return ledger_id(self.env, self.key_public_part)

    @property
    def chain_id(self) -> int:
        return chain_id_for(self.env)

    @cached_property
    def tenant_id(self) -> str:
        return ids.tenant_id(self.public_id)

    @property
    def seed(self) -> int:
        return int(self.settings["seed"])


def parse_api_key(key: str | None) -> tuple[str, str]:
    """(environment, public id) of a well-formed key, else 401 INVALID_API_KEY."""
    if key is None or key == "":
        raise ApiError("INVALID_API_KEY", "The X-Api-Key header is missing")
    if len(key) > MAX_KEY_LENGTH or not KEY_RE.match(key):
        raise ApiError("INVALID_API_KEY", "The X-Api-Key header is not a well-formed PacSpace API key (pk_test_… or pk_live_…)")
    m = KEY_RE.match(key)
    return m.group(1), m.group(2)


_SETTINGS_CACHE: dict[str, dict[str, Any]] = {}


def parse_settings(text: str) -> dict[str, Any]:
    """A workspace's settings JSON, parsed once per distinct text (a session's requests see the
    same few). The dict is shared: read it, never change it in place (patches build a new one)."""
    parsed = _SETTINGS_CACHE.get(text)
    if parsed is None:
        if len(_SETTINGS_CACHE) > 256:
            _SETTINGS_CACHE.clear()
        parsed = _SETTINGS_CACHE[text] = json.loads(text)
    return parsed


class Runtime:
    """Everything one server has: configuration, the store, the wall clock, in-process webhook
    receivers. The rules of keys (open and strict mode) and of the virtual clock's modes live
    here; their rows are read and written by store.workspaces."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        db_path: str = ":memory:",
        wall_ms: Callable[[], int] | None = None,
    ):
        self.config = config or ServerConfig()
        if self.config.exposed and not (self.config.admin_token and self.config.public_url):
            raise ValueError("a server beyond loopback needs an admin token and a public URL")
        self.store = Store(db_path)
        with self.store.transaction() as conn:
            for key, active in self.config.keys.items():  # serve --keys: registered as given
                env, public_id = parse_api_key(key)
                workspaces.put_key(conn, key, env, public_id, active)
            if self.config.exposed:  # made at the first start, kept by restarts
                server_secret.ensure(conn, _new_secret)
        self.wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        # In-process webhook receivers (tests): workspace id -> callable(headers, body) -> status
        self.webhook_callables: dict[int, Callable[[dict[str, str], bytes], int]] = {}

    # --- workspaces ----------------------------------------------------------------------------

    def resolve_workspace(self, conn: sqlite3.Connection, api_key: str | None, create: bool = True) -> Workspace:
        env, public_id = parse_api_key(api_key)
        row, registered = workspaces.find(conn, env, public_id, api_key)
        if registered is False:
            raise ApiError("INVALID_API_KEY", "This API key is disabled")
        if row is None:
            if self.config.strict and registered is None:
                raise ApiError("INVALID_API_KEY", "This API key is not registered on this server (strict mode)")
            if not create:
                raise ApiError("INVALID_API_KEY", "Unknown workspace")
            return self.load_workspace(conn, workspaces.create(conn, env, public_id, self.wall_ms(),
                                                               json.dumps(self.config.default_settings())))
        ws = Workspace.from_row(row)
        self._check_key(row["key_active"], ws)
        return ws

    def open_request(self, conn: sqlite3.Connection, api_key: str | None = None,
                     ws_id: int | None = None) -> tuple[Workspace, int, int]:
        """(workspace, virtual now, request number) of a counted request (API, public, page),
        authenticated by its key (§1.2) or found by `ws_id`; one statement when the workspace
        exists. A refusal raises: the caller's transaction must then roll back."""
        if ws_id is not None:
            row = workspaces.count_request_by_id(conn, ws_id, self.wall_ms())
        else:
            env, public_id = parse_api_key(api_key)
            row = workspaces.count_request_by_key(conn, env, public_id, api_key, self.wall_ms())
            if row is None:  # a new workspace (open mode), or a refusal
                ws = self.resolve_workspace(conn, api_key)
                now, seq = self.begin_request(conn, ws)
                return ws, now, seq
            self._check_key(row["key_active"], Workspace.from_row(row))
        return Workspace.from_row(row), row["clock_last_ms"], row["n_req"]

    def _check_key(self, key_active: int | None, ws: Workspace) -> None:
        registered = None if key_active is None else bool(key_active)
        if registered is False:
            raise ApiError("INVALID_API_KEY", "This API key is disabled")
        if (self.config.strict or ws.settings.get("strictMode")) and registered is None:
            raise ApiError("INVALID_API_KEY", "This API key is not registered on this server (strict mode)")

    def load_workspace(self, conn: sqlite3.Connection, ws_id: int) -> Workspace:
        return Workspace.from_row(workspaces.load(conn, ws_id))

    def save_settings(self, conn: sqlite3.Connection, ws: Workspace, settings: dict[str, Any]) -> None:
        workspaces.save_settings(conn, ws.id, json.dumps(settings))
        ws.settings = copy.deepcopy(settings)

    # --- counters ------------------------------------------------------------------------------

    def next_number(self, conn: sqlite3.Connection, ws: Workspace, kind: str, count: int = 1) -> int:
        """Reserve `count` numbers of a counter; returns the first. Stored in the caller's transaction."""
        return workspaces.next_number(conn, ws.id, kind, count)

    def counted_id(self, ws: Workspace, kind: str, n: int) -> str:
        return ids.counted_id(kind, ws.seed, ws.env, ws.public_id, n)

    # --- clock ---------------------------------------------------------------------------------

    def begin_request(self, conn: sqlite3.Connection, ws: Workspace) -> tuple[int, int]:
        """(virtual now, request number) for an API request, in one statement; uses the clock
        state loaded with the workspace in this same transaction."""
        mode, offset, frozen, last = ws.clock
        now = max(frozen if mode == "frozen" else self.wall_ms() + offset, last)
        return now, workspaces.count_request(conn, ws.id, now)

    def read_clock(self, conn: sqlite3.Connection, ws: Workspace) -> int:
        """The workspace's virtual now in ms; never earlier than its previous reading."""
        mode, offset, frozen, last = workspaces.clock_state(conn, ws.id)
        now = frozen if mode == "frozen" else self.wall_ms() + offset
        if now < last:
            now = last
        elif now != last:
            workspaces.store_reading(conn, ws.id, now)
        return now

    def set_clock(self, conn: sqlite3.Connection, ws: Workspace, target_ms: int, freeze: bool | None = None) -> None:
        """Stand the clock at target (not earlier than now). Frozen stays frozen; running -> offset."""
        mode = workspaces.clock_state(conn, ws.id)[0]
        if freeze or (freeze is None and mode == "frozen"):
            workspaces.store_clock(conn, ws.id, "frozen", 0, target_ms, target_ms)
        else:
            offset = target_ms - self.wall_ms()
            workspaces.store_clock(conn, ws.id, "offset" if offset else "real", offset, None, target_ms)

    def unfreeze_clock(self, conn: sqlite3.Connection, ws: Workspace) -> None:
        mode, _offset, frozen, _last = workspaces.clock_state(conn, ws.id)
        if mode != "frozen":
            return
        offset = frozen - self.wall_ms()
        workspaces.store_clock(conn, ws.id, "offset" if offset else "real", offset, None, None)

    def clock_object(self, conn: sqlite3.Connection, ws: Workspace, now_ms: int) -> dict[str, Any]:
        mode, offset, _frozen, _last = workspaces.clock_state(conn, ws.id)
        return {"now": format_ts(now_ms), "mode": mode, "offsetMs": None if mode == "frozen" else int(offset)}

    def origin(self, ws: Workspace | None, request_origin: str) -> str:
        """Public origin for URLs in replies (balance-api.md §1.1). Beyond loopback the configured
        public URL is always set, so the request's Host header is never used (§8.9)."""
        origin = (ws.settings.get("publicOrigin") if ws is not None else None) or self.config.public_url \
            or request_origin
        return origin.rstrip("/")

    def state_replaced(self) -> None:
        """After a state import: in-process receivers belonged to the old workspaces; beyond
        loopback, a database that came without a server secret gets one now (not in a page's read)."""
        self.webhook_callables.clear()
        if self.config.exposed:
            with self.store.transaction() as conn:
                server_secret.ensure(conn, _new_secret)

    # --- beyond loopback (§8.9) ------------------------------------------------------------------

    def check_admin(self, authorization: str | None) -> None:
        """Beyond loopback: refuse unless `authorization` is `Bearer <admin token>` (compared in
        constant time). The pipeline calls it for the ADMIN_PLANES operations of the table; any
        other admin surface (a dev console) calls it the same way. On loopback it passes."""
        if not self.config.exposed:
            return
        scheme, _, presented = (authorization or "").partition(" ")
        expected = self.config.admin_token.encode("utf-8")
        # header values arrive as latin-1 text of their bytes: compare bytes with bytes
        if not (scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode("latin-1", "replace"),
                                                                   expected)):
            raise ApiError("INVALID_API_KEY", "admin token required",
                           headers={"WWW-Authenticate": 'Bearer realm="pacspace-mock admin"'})

    def page_key(self, conn: sqlite3.Connection, ws: Workspace, purpose: str) -> bytes | None:
        """Beyond loopback: a 32-byte key for one page secret of one workspace (`access-cookie`,
        `access-code`), derived from the server secret, which the seed does not determine. On
        loopback None: the caller derives from the seed as §9 says, byte for byte as before."""
        if not self.config.exposed:
            return None
        secret = server_secret.read(conn)
        if secret is None:  # another process imported a database without one just now
            secret = server_secret.ensure(conn, _new_secret)
        return hmac.new(secret, f"pacspace-mock:{purpose}:v2|{ws.env}|{ws.public_id}".encode("utf-8"),
                        hashlib.sha256).digest()

    def access_code(self, conn: sqlite3.Connection, ws: Workspace, customer_id: str) -> str:
        """A new customer's access code (§6.1, `accessHint`): from the seed on loopback (§9), from
        the server secret beyond it."""
        key = self.page_key(conn, ws, "access-code")
        if key is None:
            return ids.access_code(ws.seed, ws.env, ws.public_id, customer_id)
        return ids.base36_code(hmac.new(key, customer_id.encode("utf-8"), hashlib.sha256).digest())


def _new_secret() -> bytes:
    return secrets.token_bytes(32)
