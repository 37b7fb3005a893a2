"""The OpenAPI 3.1 document, generated from the route table and the request models, so it cannot
drift from what the server does: every Route in app.routes() appears, bodies come from the pydantic
models the handlers validate with, query parameters from the lists the handlers accept."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Mount, Route

from . import __version__

ENVELOPE = {
    "type": "object",
    "required": ["success"],
    "properties": {
        "success": {"type": "boolean"},
        "data": {},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "retryAfterSeconds": {"type": "integer"},
                "customerId": {"type": "string"},
                "details": {"type": "object"},
            },
        },
    },
}
HTML = {"text/html": {"schema": {"type": "string"}}}
TAGS = {"balance": "Balance API", "public": "Public verification", "dashboard": "Dashboard",
        "page": "HTML pages", "control": "Control plane (mock only)"}


def _tag(name: str) -> str:
    return TAGS.get(name.split(".", 1)[0], "Control plane (mock only)")


def _parameters(path: str, meta: dict[str, Any]) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{(\w+)}", path)]
    params += [{"name": name, "in": "query", "required": False, "schema": {"type": "string", "minLength": 1}}
               for name in meta.get("query") or ()]
    if meta.get("auth") in ("key", "dashboard"):
        params.append({"name": "X-Api-Key", "in": "header", "required": True,
                       "schema": {"type": "string", "pattern": r"^pk_(test|live)_[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,128})?$"}})
    if meta.get("auth") == "dashboard":
        params.append({"name": "Authorization", "in": "header", "required": True,
                       "schema": {"type": "string", "pattern": "^Bearer .+"}})
    if meta.get("idempotency"):
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}})
    return params


def _operation(path: str, method: str, meta: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{method.lower()} {path}").strip("_"),
        "summary": meta["name"],
        "tags": [_tag(meta["name"])],
        "parameters": _parameters(path, meta),
    }
    if meta.get("html"):
        op["responses"] = {"200": {"description": "page", "content": HTML},
                           "default": {"description": "error page", "content": HTML}}
    else:
        envelope = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}}
        op["responses"] = {"200": {"description": "success", **envelope},
                           "default": {"description": "error (balance-api.md §1.6)", **envelope}}
    model = meta.get("model")
    if model is not None:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            components[name] = definition
        components[model.__name__] = schema
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
    elif meta.get("form"):
        op["requestBody"] = {"content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "additionalProperties": {"type": "string"}}}}}
    elif meta.get("body"):
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"type": "object"}}}}
    return op


def build_openapi(routes: list[Any]) -> dict[str, Any]:
    components: dict[str, Any] = {"Envelope": ENVELOPE}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if isinstance(route, Mount) or not isinstance(route, Route):
            continue
        meta = getattr(route.endpoint, "openapi", None) or {"name": f"control.{route.path.strip('/').replace('/', '_')}",
                                                            "auth": None}
        for method in sorted(route.methods - {"HEAD"}):
            paths.setdefault(route.path, {})[method.lower()] = _operation(route.path, method, meta, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "PacSpace Balance API (pacspace-mock)", "version": __version__,
                 "description": "Local, deterministic stand-in for the PacSpace Balance API, with its /_mock control plane."},
        "paths": paths,
        "components": {"schemas": components},
    }
