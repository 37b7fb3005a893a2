"""The OpenAPI 3.1 document, generated from the operation table: every operation, its path and
query parameters, headers, request body and reply schemas come from the models the pipeline
validates with and the reply models the suite checks every reply against, so the document
cannot drift from what the server does."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from . import __version__
from .operations import Operation, resolve

TAGS = {"api": "Balance API", "dashboard": "Dashboard", "public": "Public verification", "page": "HTML pages",
        "control": "Control plane (mock only)", "global": "Control plane (mock only)",
        "console": "Dev console (mock only)"}
KEY_PATTERN = r"^pk_(test|live)_[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,128})?$"
HTML = {"text/html": {"schema": {"type": "string"}}}
REF = "#/components/schemas/{model}"


class Components:
    """Schemas by name; a model's nested definitions ($defs) become components of their own."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: str = "validation") -> dict[str, str]:
        name = model.__name__
        if name not in self.schemas:
            schema = tidy(model.model_json_schema(ref_template=REF, mode=mode))
            for sub, definition in schema.pop("$defs", {}).items():
                self.schemas.setdefault(sub, definition)
            self.schemas[name] = schema
        return {"$ref": REF.format(model=name)}


def tidy(schema: Any) -> Any:
    """Without pydantic's titles and its `default: null` on members that may be absent but are
    never null (a default the schema itself would refuse)."""
    if isinstance(schema, dict):
        out = {k: tidy(v) for k, v in schema.items() if k != "title"}
        if "default" in out and out["default"] is None:
            del out["default"]
        return out
    if isinstance(schema, list):
        return [tidy(v) for v in schema]
    return schema


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["success", "data"], "additionalProperties": False,
            "properties": {"success": {"const": True}, "data": data}}


def _parameters(op: Operation, components: Components) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
              for name in op.path_params()]
    query = resolve(op.query)
    if query is not None:
        schema = tidy(query.model_json_schema(ref_template=REF))
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            if op.plane != "page":
                prop = {**prop, "minLength": 1} if prop.get("type") == "string" else prop
            params.append({"name": name, "in": "query", "required": name in required,
                           "schema": {k: v for k, v in prop.items() if k not in ("title", "default")}})
    if op.plane in ("api", "dashboard", "control"):
        params.append({"name": "X-Api-Key", "in": "header", "required": True,
                       "schema": {"type": "string", "pattern": KEY_PATTERN}})
    if op.plane == "dashboard":
        params.append({"name": "Authorization", "in": "header", "required": True,
                       "schema": {"type": "string", "pattern": "^Bearer .+"}})
    if op.idempotency_key:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}})
    return params


def _responses(op: Operation, components: Components) -> dict[str, Any]:
    from .api.replies import ErrorEnvelope, IdempotencyPendingEnvelope

    error = {"description": "error (balance-api.md §1.4, §1.6)",
             "content": {"application/json": {"schema": components.ref(ErrorEnvelope)}}}
    if op.plane == "console":  # the console answers its errors as pages, its JSON route included
        error = {"description": "error page", "content": HTML}
    if op.media == "text/html":
        return {"200": {"description": "page", "content": HTML}, "default": {"description": "error page",
                                                                             "content": HTML}}
    reply = resolve(op.reply)
    if reply is not None:
        success = {"content": {"application/json": {"schema": _envelope(components.ref(reply))}}}
    elif op.media == "application/json":
        success = {"content": {"application/json": {"schema": _envelope({})}}}
    else:
        success = {"content": {op.media: {"schema": {"type": "string", "format": "binary"}}}}
    statuses = {str(op.status)} | ({str(op.other_status)} if op.other_status else set())
    out: dict[str, Any] = {status: {"description": "success", **success} for status in sorted(statuses)}
    if op.idempotency_key:
        out["202"] = {"description": "IDEMPOTENCY_PENDING (§4.2)",
                      "content": {"application/json": {"schema": components.ref(IdempotencyPendingEnvelope)}}}
    out["default"] = error
    return out


def _operation(op: Operation, components: Components) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{op.method.lower()} {op.path}").strip("_"),
        "summary": op.summary,
        "description": f"Route name `{op.name}`." + (" Journaled; fault rules apply." if op.journaled else ""),
        "tags": [TAGS[op.plane]],
        "parameters": _parameters(op, components),
        "responses": _responses(op, components),
    }
    body = resolve(op.body)
    if body is not None:
        empty_ok = not body.model_json_schema().get("required")
        doc["requestBody"] = {"required": not empty_ok,
                              "content": {"application/json": {"schema": components.ref(body)}}}
    elif op.form:
        doc["requestBody"] = {"content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "additionalProperties": {"type": "string"}}}}}
    elif op.raw_body:
        doc["requestBody"] = {"required": True, "content": {"application/vnd.sqlite3": {"schema": {
            "type": "string", "format": "binary"}}}}
    return doc


def build_openapi(operations: tuple[Operation, ...]) -> dict[str, Any]:
    components = Components()
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "PacSpace Balance API (pacspace-mock)", "version": __version__,
                 "description": "Local, deterministic stand-in for the PacSpace Balance API, with its /_mock control "
                                "plane. Generated from the operation table (mockserver/operations.py)."},
        "paths": paths,
        "components": {"schemas": components.schemas},
    }
