"""Schemas once (DESIGN "Schemas once"): request bodies and query parameters of every operation
are pydantic models; this module turns their failures into the contract's 400 VALIDATION_ERROR
(balance-api.md §1.4, §1.8, §1.9): `details.field` is the path into the request, `details.reason`
one of the contract's reasons, and the message names the field.

A validator raises `fail(reason, template)`, where the template names the field as {field}; the
path is filled in here. An unknown member or parameter is refused with the accepted ones listed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Optional
from urllib.parse import parse_qsl

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from .errors import ApiError, validation


def fail(reason: str, template: str, member: str | None = None, value: str | None = None) -> PydanticCustomError:
    """A validation failure with the contract's reason; `template` names the field as {field} and
    shows `value` (text the caller chose, e.g. a repr of the refused input) as {value}, never
    formatted into the template by the caller: input may hold braces. `member`: the failure is
    about a member of the value (e.g. vendorAccountId of an item)."""
    return PydanticCustomError(reason, "{tmpl}", {"tmpl": template, "member": member, "value": value})


_PLACEHOLDER = re.compile(r"\{(field|value)\}")


def _message(template: str, field: str, value: str | None) -> str:
    """The template with {field} and {value} filled in, in one pass (what they bring is not read again)."""
    return _PLACEHOLDER.sub(lambda m: field if m.group(1) == "field" else (value or ""), template)


class Body(BaseModel):
    """A JSON request body: unknown members are refused (§1.9)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class Query(BaseModel):
    """Query parameters (strings): unknown, repeated and empty parameters are refused first (§1.8)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class Empty(Body):
    """A body with no members (`{}`; an empty body reads as `{}`)."""


# --- pydantic errors -> VALIDATION_ERROR ------------------------------------------------------------

PYDANTIC_REASON = {"missing": "required", "extra_forbidden": "unknown_field", "too_short": "range",
                   "too_long": "range"}


def field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def accepted_members(model: type[BaseModel], loc: tuple) -> list[str]:
    """The member names a (possibly nested) model accepts at `loc` (the location of an unknown member)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found = _model_in(meta) if isinstance(meta, type) else None
        if found is not None:
            return found
    return None


def _without_union_tags(loc: tuple, data: Any) -> tuple:
    """A discriminated union puts the member's tag into the location (`actions.0.error.status`):
    the request has no such member, so it is left out of the path (`actions[0].status`)."""
    out, node = [], data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node and node.get("type") == part:
            continue
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
    return tuple(out)


def error_for(err: dict[str, Any], prefix: str, model: type[BaseModel], data: Any = None) -> ApiError:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    loc = _without_union_tags(loc, data)
    path = prefix + field_path(loc)
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if "tmpl" in ctx:
        if ctx.get("member"):
            path = f"{path}.{ctx['member']}" if path else ctx["member"]
        return validation(path, kind, _message(ctx["tmpl"], path, ctx.get("value")))
    reason = PYDANTIC_REASON.get(kind, "type")
    if kind == "missing":
        message = f"{path} is required"
    elif kind == "extra_forbidden":
        accepted = accepted_members(model, loc)
        message = f"{path} is not a known field" + (f"; accepted: {', '.join(accepted)}" if accepted else "")
    elif kind in ("too_short", "too_long"):
        low, high = ctx.get("min_length", 1), ctx.get("max_length")
        message = f"{path} must have between {low} and {high} items"
    else:
        message = f"{path} has the wrong type: {err['msg']}"
    return validation(path, reason, message)


def first_error(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Members refused by name first (vendorAccountId), then unknown members (the body's shape),
    then the first error in field order."""
    for kind in ("not_allowed", "extra_forbidden"):
        for err in errors:
            if err["type"] == kind:
                return err
    return errors[0]


def validate(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    """A validated model instance; the first problem becomes the 400."""
    if not isinstance(data, dict):
        raise validation(prefix or "body", "type", "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error_for(first_error(exc.errors(include_url=False)), prefix, model, data) from None


def query_pairs(raw: str, model: type[Query], lenient: bool = False) -> dict[str, str]:
    """The query string as {name: value}: a parameter the model does not name, one given twice, or
    an empty one is refused (§1.8, §1.9); `lenient` (HTML pages) ignores unknown ones instead."""
    accepted = [f.alias or name for name, f in model.model_fields.items()]
    out: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if name not in accepted:
            if lenient:
                continue
            listed = ", ".join(accepted) or "none"
            raise validation(name, "unknown_field",
                             f"{name} is not a known query parameter of this route; accepted: {listed}")
        if name in out:
            if lenient:
                continue
            raise validation(name, "conflict", f"{name} is given more than once")
        if value == "" and not lenient:
            raise validation(name, "required", f"{name} must not be empty")
        out[name] = value
    return out


# --- query parameter types ----------------------------------------------------------------------------

def query_int(lo: int, hi: int) -> Any:
    """An integer query parameter: decimal digits only, within [lo, hi], never clamped (§1.8)."""
    def check(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        else:
            text = value
        if not isinstance(text, str) or not text.isdigit() or not text.isascii():
            raise fail("type", "{field} must be a whole number")
        # never turn thousands of digits into an int (Python refuses past 4 300, leading zeros included)
        digits = text.lstrip("0") or "0"
        if len(digits) > len(str(hi)):
            raise fail("range", f"{{field}} must be between {lo} and {hi}")
        number = int(digits)
        if not lo <= number <= hi:
            raise fail("range", f"{{field}} must be between {lo} and {hi}")
        return number

    return Annotated[int, BeforeValidator(check), WithJsonSchema({"type": "integer", "minimum": lo, "maximum": hi})]


def query_enum(*allowed: str, lower: bool = False) -> Any:
    def check(value: Any) -> str:
        text = value.lower() if lower and isinstance(value, str) else value
        if text not in allowed:
            raise fail("format", "{field} must be one of " + ", ".join(allowed))
        return text

    return Annotated[Optional[str], BeforeValidator(check), WithJsonSchema({"type": "string", "enum": list(allowed)})]


def _query_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value not in ("true", "false"):
        raise fail("type", "{field} must be true or false")
    return value == "true"


QueryBool = Annotated[bool, BeforeValidator(_query_bool), WithJsonSchema({"type": "boolean"})]


def text(max_length: int, reason: str = "too_long", pattern: re.Pattern | None = None,
         pattern_message: str | None = None) -> Any:
    """A string of at most `max_length` code points (and matching `pattern`)."""
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise fail("type", "{field} must be a string")
        if len(value) > max_length:
            raise fail(reason, f"{{field}} must be at most {max_length} characters")
        if pattern is not None and not pattern.match(value):
            raise fail("format", pattern_message or "{field} has the wrong format")
        return value

    return Annotated[Optional[str], BeforeValidator(check), WithJsonSchema({"type": "string", "maxLength": max_length})]


def is_decimal(value: Any) -> bool:
    return isinstance(value, Decimal) and not isinstance(value, bool)
