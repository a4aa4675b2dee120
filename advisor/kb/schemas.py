"""JSON Schema validation (draft 2020-12) that reports the deepest relevant error per problem."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from advisor.resources import SCHEMAS
from advisor.problems import Problem, did_you_mean, json_path
from advisor.kb.yamlio import EXCERPT, LineMap, excerpt, line_of


@lru_cache(maxsize=None)
def _registry(folder: Path) -> Registry:
    registry: Registry = Registry()
    for path in sorted(folder.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(contents)
        registry = registry.with_resources([(contents["$id"], resource), (path.name, resource)])
    return registry


@lru_cache(maxsize=None)
def schema(name: str, folder: Path = SCHEMAS) -> dict:
    """The parsed schema ``<name>.schema.json``."""
    return json.loads((folder / f"{name}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def validator(name: str, folder: Path = SCHEMAS) -> Draft202012Validator:
    """A validator for ``<name>.schema.json`` with the folder's other schemas resolvable."""
    return Draft202012Validator(schema(name, folder), registry=_registry(folder))


def _allowed(error: ValidationError) -> list[str]:
    props = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(props)


def _describe(error: ValidationError) -> list[tuple[tuple, str, str]]:
    """Turn one jsonschema error into (path, message, hint) triples, one per offending field."""
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = _allowed(error)
        extras = sorted(k for k in error.instance if k not in allowed)
        return [(path + (k,), f"unknown field '{k}'{did_you_mean(k, allowed)}",
                 "allowed: " + ", ".join(allowed)) for k in extras]
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [(path, f"missing required field '{missing}'", "")]
    if kind == "enum":
        allowed = [str(v) for v in error.validator_value]
        return [(path, f"{excerpt(error.instance)} is not allowed{did_you_mean(str(error.instance)[:100], allowed)}",
                 "allowed: " + ", ".join(allowed))]
    if kind == "type":
        want = error.validator_value
        return [(path, f"expected {want if isinstance(want, str) else ' or '.join(want)}, "
                       f"got {type(error.instance).__name__} {excerpt(error.instance)}", "")]
    if kind == "pattern":
        return [(path, f"{excerpt(error.instance)} does not match the pattern {error.validator_value}", "")]
    if error.context:
        return _describe(best_match(error.context))
    # NOTE: jsonschema quotes the whole value (it may be a megabyte); keep its wording, cut the quote.
    message = error.message.replace(repr(error.instance), excerpt(error.instance), 1)
    if len(message) > 3 * EXCERPT:
        message = f"{excerpt(error.instance)} fails the schema's '{kind}' check"
    return [(path, message, "")]


def validate(data: object, name: str, file: str, lines: LineMap, folder: Path = SCHEMAS) -> list[Problem]:
    """Validate ``data`` against schema ``name``; every problem carries file, line and path."""
    problems = []
    for error in validator(name, folder).iter_errors(data):
        for path, message, hint in _describe(error):
            problems.append(Problem(file, line_of(lines, path), json_path(path), message, "schema", hint))
    return problems
