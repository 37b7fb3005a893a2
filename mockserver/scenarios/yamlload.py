"""YAML for scenario files: exact decimals, line numbers on every node, no surprises.

* Floats load as `Decimal` (`-12.50` stays exact); integers as `int`.
* Booleans are YAML 1.2's `true`/`false` only (`on`, `yes`, `no` stay strings).
* Timestamps stay strings (`2026-02-01` is not turned into a date object).
* A duplicate key in a mapping is an error (PyYAML would silently keep the last one).
* Every mapping and sequence remembers the line of each member, so a schema error deep inside a
  step can name its line.
* Matcher shorthands for expectations: `!re '^rec_'`, `!present`, `!absent`, `!decimal '-12.50'`,
  `!any [a, b]`, `!type string`, `!contains x`, `!len 3`, `!each {...}`, `!not x`, `!gte 1` (also !gt !lt !lte) construct the
  `$`-operator objects. In flow style, leave a space after a bare tag: `{a: !present }`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml

try:  # the C parser when available; constructors stay in Python either way
    _Base = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader


class LineDict(dict):
    """A mapping that knows its own line and the line of each key and value (1-based)."""

    line: int = 0
    key_lines: dict
    value_lines: dict


class LineList(list):
    line: int = 0
    item_lines: list


class YamlProblem(Exception):
    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class ScenarioLoader(_Base):
    """SafeLoader with the rules above."""


# YAML 1.2 booleans: drop the 1.1 resolver (yes/no/on/off) and add one for true/false only.
ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _construct_mapping(loader: ScenarioLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = _line(node)
    out.key_lines, out.value_lines = {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key) if isinstance(key, (int, Decimal, bool)) or key is None else key
        if not isinstance(key, str):
            raise YamlProblem(_line(key_node), "mapping keys must be strings")
        if key in out:
            raise YamlProblem(_line(key_node), f"duplicate key {key!r} (first at line {out.key_lines[key]})")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = _line(key_node)
        out.value_lines[key] = _line(value_node)
    return out


def _construct_sequence(loader: ScenarioLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = _line(node)
    out.item_lines = [_line(child) for child in node.value]
    return out


def _construct_float(loader: ScenarioLoader, node: yaml.ScalarNode) -> Any:
    text = loader.construct_scalar(node).replace("_", "")
    lowered = text.lower()
    if lowered in (".nan", ".inf", "+.inf", "-.inf"):
        raise YamlProblem(_line(node), f"{text} is not allowed: amounts are exact decimals")
    try:
        return Decimal(text)
    except ArithmeticError:  # pragma: no cover - the resolver only matches numbers
        raise YamlProblem(_line(node), f"{text!r} is not a number") from None


def _construct_timestamp(loader: ScenarioLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


ScenarioLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
ScenarioLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
ScenarioLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _matcher(op: str, kind: str):
    def construct(loader: ScenarioLoader, node: yaml.Node) -> LineDict:
        if kind == "none":
            if not isinstance(node, yaml.ScalarNode) or loader.construct_scalar(node) not in ("", None):
                raise YamlProblem(_line(node), f"!{op} takes no value")
            value: Any = True
        elif kind == "scalar":
            if not isinstance(node, yaml.ScalarNode):
                raise YamlProblem(_line(node), f"!{op} takes a single value")
            value = loader.construct_scalar(node)
            if op == "len":
                if not value.isdigit():
                    raise YamlProblem(_line(node), f"!len takes a whole number, got {value!r}")
                value = int(value)
        elif kind == "seq":
            if not isinstance(node, yaml.SequenceNode):
                raise YamlProblem(_line(node), f"!{op} takes a list, e.g. !{op} [a, b]")
            value = _construct_sequence(loader, node)
        else:  # any value, constructed normally
            value = loader.construct_object(_retag(node), deep=True)
        out = LineDict({f"${op}": value})
        out.line = _line(node)
        out.key_lines = {f"${op}": out.line}
        out.value_lines = {f"${op}": out.line}
        return out

    return construct


def _retag(node: yaml.Node) -> yaml.Node:
    """The same node with its default tag, so `!contains 3` yields the int 3."""
    if isinstance(node, yaml.ScalarNode):
        tag = ScenarioLoader.resolve(ScenarioLoader, yaml.ScalarNode, node.value, (True, False))
        return yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
    if isinstance(node, yaml.SequenceNode):
        return yaml.SequenceNode("tag:yaml.org,2002:seq", node.value, node.start_mark, node.end_mark, node.flow_style)
    return yaml.MappingNode("tag:yaml.org,2002:map", node.value, node.start_mark, node.end_mark, node.flow_style)


for _tag, _op, _kind in (
    ("!re", "pattern", "scalar"), ("!pattern", "pattern", "scalar"), ("!present", "present", "none"),
    ("!absent", "absent", "none"), ("!decimal", "decimal", "scalar"), ("!any", "any", "seq"),
    ("!type", "type", "scalar"), ("!contains", "contains", "any"), ("!len", "len", "scalar"),
    ("!each", "each", "any"), ("!not", "not", "any"), ("!gt", "gt", "any"), ("!gte", "gte", "any"),
    ("!lt", "lt", "any"), ("!lte", "lte", "any"),
):
    ScenarioLoader.add_constructor(_tag, _matcher(_op, _kind))


def load_yaml(text: str) -> Any:
    """Parse one YAML document; YamlProblem(line, message) on any error."""
    try:
        return yaml.load(text, Loader=ScenarioLoader)
    except YamlProblem:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context}"
            if exc.context_mark is not None and exc.context_mark is not mark:
                problem += f" at line {exc.context_mark.line + 1}"
            problem += ")"
        if problem.startswith("could not determine a constructor for the tag"):
            problem += "; known tags: !re !present !absent !decimal !any !type !contains !len !each !not !gt !gte !lt !lte"
        raise YamlProblem(mark.line + 1 if mark else None, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, f"invalid YAML: {exc}") from None


def line_of(document: Any, path: list | tuple) -> int | None:
    """The line of the deepest node along `path` (keys and indexes) that carries a line."""
    node, best = document, getattr(document, "line", None)
    for part in path:
        if isinstance(node, LineDict) and isinstance(part, str) and part in node:
            best = node.value_lines.get(part, best)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.item_lines[part]
            node = node[part]
        else:
            break
        best = getattr(node, "line", None) or best
    return best


def key_line(document: Any, path: list | tuple, key: str) -> int | None:
    """The line of `key` inside the mapping at `path` (for unknown-member errors)."""
    node = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return line_of(document, path)
    if isinstance(node, LineDict):
        return node.key_lines.get(key, node.line)
    return line_of(document, path)
