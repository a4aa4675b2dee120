"""The pydantic entities and the JSON Schemas agree field by field, and shared enums live once in common."""

from __future__ import annotations

import copy
import json
import types
import typing
from typing import Any, Literal, Union

import pytest
from pydantic import BaseModel

from advisor.kb import entities
from advisor.kb.base import KINDS
from advisor.resources import schema_json

COMMON = "common.schema.json"
ENTITY_SCHEMAS = sorted({schema for schema, _kind, _cls in KINDS.values()})
MODELS = {schema: cls for schema, _kind, cls in KINDS.values()}


# --- one comparable shape from each side -------------------------------------------------------------------------

def _resolve(node: dict, schemas: dict[str, dict], here: str) -> tuple[dict, str]:
    """Follow ``$ref`` (local or ``common.schema.json#/...``) and merge ``allOf``; keep sibling keywords."""
    node = dict(node)
    while "$ref" in node:
        target, _, pointer = node.pop("$ref").partition("#")
        here = target or here
        found: Any = schemas[here]
        for part in filter(None, pointer.split("/")):
            found = found[part]
        node = {**found, **node}
    for part in node.pop("allOf", []):
        resolved, _ = _resolve(part, schemas, here)
        node = {**resolved, **node}
    return node, here


def schema_shape(node: dict, schemas: dict[str, dict], here: str) -> tuple:
    """A schema node as a comparable tuple: (type, detail...)."""
    node, here = _resolve(node, schemas, here)
    if "enum" in node:
        return ("enum", frozenset(node["enum"]))
    kind = node.get("type")
    if isinstance(kind, list) and "null" in kind and len(kind) == 2:
        return ("nullable", schema_shape({**node, "type": next(k for k in kind if k != "null")}, schemas, here))
    if kind == "array":
        fixed = node.get("minItems") if node.get("minItems") == node.get("maxItems") else None
        return ("array", schema_shape(node.get("items", {}), schemas, here), fixed)
    if kind == "object" and "properties" in node:
        required = set(node.get("required", ()))
        fields = {}
        for name, prop in node["properties"].items():
            resolved, at = _resolve(prop, schemas, here)
            fields[name] = (name in required, _default(resolved), schema_shape(resolved, schemas, at))
        return ("model", node.get("additionalProperties", True) is False, fields)
    if kind == "object":
        return ("mapping",)
    if kind in ("string", "number", "integer", "boolean"):
        return (kind,)
    raise AssertionError(f"schema node without a type this test knows: {node}")


def _default(node: dict) -> Any:
    """The schema default (None when there is none), lists as tuples like the models hold them."""
    default = node.get("default")
    return tuple(default) if isinstance(default, list) else default


SCALARS = {str: ("string",), float: ("number",), int: ("integer",), bool: ("boolean",), dict: ("mapping",)}


def model_shape(annotation: Any) -> tuple:
    """A pydantic annotation as the same comparable tuple (``Optional[X]`` is X: absence is the None default)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        assert len(rest) == 1, f"only Optional[X] unions are supported, got {annotation}"
        return model_shape(rest[0])
    if origin is Literal:
        return ("enum", frozenset(args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return ("array", model_shape(args[0]), None)
        assert len(set(args)) == 1, f"fixed tuples must be homogeneous, got {annotation}"
        return ("array", model_shape(args[0]), len(args))
    if origin is dict:
        return ("mapping",)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {}
        for name, info in annotation.model_fields.items():
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            if isinstance(default, list):
                default = tuple(default)
            shape = model_shape(info.annotation)
            if info.is_required() and type(None) in typing.get_args(info.annotation):
                shape = ("nullable", shape)  # a required key whose value may be null
            fields[info.alias or name] = (info.is_required(), default, shape)
        return ("model", annotation.model_config.get("extra") == "forbid", fields)
    if annotation in SCALARS:
        return SCALARS[annotation]
    raise AssertionError(f"annotation this test does not know: {annotation}")


def differences(want: tuple, have: tuple, path: str = "$") -> list[str]:
    """Every place where the schema shape ``want`` and the model shape ``have`` disagree."""
    if want[0] != have[0]:
        return [f"{path}: schema says {want[0]}, model says {have[0]}"]
    if want[0] == "nullable":
        return differences(want[1], have[1], path)
    if want[0] == "enum" and want[1] != have[1]:
        return [f"{path}: enum schema-only {sorted(want[1] - have[1])}, model-only {sorted(have[1] - want[1])}"]
    if want[0] == "array":
        out = differences(want[1], have[1], f"{path}[]")
        if want[2] != have[2]:
            out.append(f"{path}: schema fixes {want[2]} items, model {have[2]}")
        return out
    if want[0] != "model":
        return []
    out = [] if want[1] == have[1] else [f"{path}: additionalProperties false is {want[1]}, extra=forbid is {have[1]}"]
    for name in sorted(want[2].keys() | have[2].keys()):
        where = f"{path}.{name}"
        if name not in have[2] or name not in want[2]:
            out.append(f"{where}: only in the {'schema' if name in want[2] else 'model'}")
            continue
        (s_req, s_default, s_shape), (m_req, m_default, m_shape) = want[2][name], have[2][name]
        if s_req != m_req:
            out.append(f"{where}: required in the {'schema' if s_req else 'model'} only")
        elif not s_req and s_default != m_default:
            out.append(f"{where}: schema default {s_default!r}, model default {m_default!r}")
        out += differences(s_shape, m_shape, where)
    return out


def _schemas() -> dict[str, dict]:
    return {f"{name}.schema.json": schema_json(name) for name in ENTITY_SCHEMAS + ["common"]}


def drift(schema_name: str, model: type[BaseModel], schemas: dict[str, dict] | None = None) -> list[str]:
    """Disagreements between one entity schema and its model class."""
    schemas = schemas or _schemas()
    file = f"{schema_name}.schema.json"
    return differences(schema_shape(schemas[file], schemas, file), model_shape(model))


# --- the agreement --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("schema_name", ENTITY_SCHEMAS)
def test_model_agrees_with_schema(schema_name: str):
    assert drift(schema_name, MODELS[schema_name]) == []


def test_the_agreement_check_catches_drift_on_either_side():
    schemas = copy.deepcopy(_schemas())
    board = schemas["board.schema.json"]
    board["properties"]["vendor_url"] = {"type": "string"}            # a field only the schema has
    board["required"].append("notes")                                 # required on one side only
    board["properties"]["dsp"] = {"type": "integer"}                  # another type
    board["properties"]["ext_ram_kb"]["default"] = 8                  # another default
    board["properties"]["mcu"]["additionalProperties"] = True        # nested object no longer closed
    schemas["common.schema.json"]["$defs"]["core"]["enum"].append("cortex-m99")  # a shared enum grows
    found = drift("board", entities.Board, schemas)
    assert found == ["$.dsp: schema says integer, model says boolean",
                     "$.ext_ram_kb: schema default 8, model default 0.0",
                     "$.mcu: additionalProperties false is False, extra=forbid is True",
                     "$.mcu.cores[].core: enum schema-only ['cortex-m99'], model-only []",
                     "$.notes: required in the schema only",
                     "$.vendor_url: only in the schema"]

    class LooseTool(entities.Tool):
        status: Literal["active", "dead"]
        homepage: str = ""
        features: tuple[str, str]
    assert drift("tool", LooseTool) == ["$.features: schema fixes None items, model 2",
                                        "$.homepage: only in the model",
                                        "$.status: enum schema-only ['archived', 'maintenance'], model-only ['dead']"]


def schema_field_names(schema_name: str) -> set[str]:
    """Every property name, nested ones included, of one entity schema."""
    schemas = _schemas()
    file = f"{schema_name}.schema.json"
    names, todo = set(), [schema_shape(schemas[file], schemas, file)]
    while todo:
        shape = todo.pop()
        if shape[0] == "model":
            names |= shape[2].keys()
            todo += [field[2] for field in shape[2].values()]
        elif shape[0] == "array":
            todo.append(shape[1])
    return names


def test_aliases_are_the_schema_names():
    assert entities.Board.model_fields["class_"].alias == "class"
    assert entities.RecipeStep.model_fields["with_"].alias == "with"
    assert {"class"} <= schema_field_names("board") and {"with"} <= schema_field_names("recipe")


# --- shared enums live once -----------------------------------------------------------------------------------------

COMMON_DEFS = schema_json("common")["$defs"]
SHARED = {name: tuple(node["enum"]) for name, node in COMMON_DEFS.items() if "enum" in node}


def _enums(node: Any, path: str):
    """(path, values) of every ``enum`` written out in a schema (``$ref``s not followed)."""
    if isinstance(node, dict):
        if "enum" in node:
            yield path, tuple(node["enum"])
        for key, value in node.items():
            yield from _enums(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _enums(value, f"{path}/{i}")


def repeated_enums(schemas: dict[str, dict]) -> list[str]:
    """Enums written out in an entity schema that are a shared enum, or that another entity schema repeats."""
    shared = {name: set(node["enum"]) for name, node in schemas[COMMON]["$defs"].items() if "enum" in node}
    local = [(file, path, set(values)) for file, schema in sorted(schemas.items()) if file != COMMON
             for path, values in _enums(schema, "")]
    out = []
    for i, (file, path, values) in enumerate(local):
        out += [f"{file}{path} repeats common $defs/{name}: use a $ref" for name, v in shared.items() if v == values]
        out += [f"{file}{path} and {f}{p} list the same values: move them to common $defs"
                for f, p, v in local[i + 1:] if v == values]
    return out


def test_no_entity_schema_repeats_a_shared_enum():
    assert repeated_enums(_schemas()) == []
    schemas = copy.deepcopy(_schemas())
    schemas["board.schema.json"]["properties"]["fpu"] = {"enum": list(schemas["common.schema.json"]["$defs"]["fpu"]["enum"])}
    schemas["tool.schema.json"]["properties"]["kinds"]["items"] = {"enum": ["easy", "moderate", "hard"]}
    assert repeated_enums(schemas) == [
        "board.schema.json/properties/fpu repeats common $defs/fpu: use a $ref",
        "tool.schema.json/properties/kinds/items and tool.schema.json/properties/ease_of_use list the same values: "
        "move them to common $defs"]


def test_every_shared_enum_is_used_by_an_entity_schema():
    text = " ".join(json.dumps(schema_json(name)) for name in ENTITY_SCHEMAS)
    unused = [name for name in SHARED if f"#/$defs/{name}\"" not in text]
    assert unused == []


@pytest.mark.parametrize("narrow, wide", [
    (SHARED["npuKind"], SHARED["accelerator"]),  # perf.kernel_for: board.npu.kind in fw.accelerators
    (SHARED["convertedQuantization"], SHARED["quantization"]),  # constraint: recipe.quantization in fw.quantization
    (tuple(schema_json("throughput")["properties"]["dtype"]["enum"]), SHARED["dtype"]),
    (tuple(schema_json("tool")["properties"]["status"]["enum"]), SHARED["frameworkStatus"]),
])
def test_narrower_enums_stay_inside_the_wider_one(narrow, wide):
    assert set(narrow) <= set(wide), sorted(set(narrow) - set(wide))


# Schemas that mirror entity fields without $ref-ing them (owned elsewhere): their enums must not drift.
MIRRORS = [
    ("rule-context", "/properties/board/properties/class", "boardClass", ()),
    ("rule-context", "/properties/board/properties/core", "core", ()),
    ("rule-context", "/properties/board/properties/arch", "arch", ()),
    ("rule-context", "/properties/board/properties/fpu", "fpu", ()),
    ("rule-context", "/properties/board/properties/npu", "npuKind", ("",)),
    ("rule-context", "/properties/board/properties/sensors/items", "sensor", ()),
    ("rule-context", "/properties/board/properties/connectivity/items", "connectivity", ()),
    ("rule-context", "/properties/board/properties/os/items", "os", ()),
    ("rule-context", "/properties/fw/properties/kind", "frameworkKind", ()),
    ("rule-context", "/properties/fw/properties/target_classes/items", "targetClass", ()),
    ("rule-context", "/properties/fw/properties/cores/items", "core", ()),
    ("rule-context", "/properties/fw/properties/languages/items", "language", ()),
    ("rule-context", "/properties/fw/properties/model_formats/items", "modelFormat", ()),
    ("rule-context", "/properties/fw/properties/quantization/items", "quantization", ()),
    ("rule-context", "/properties/fw/properties/accelerators/items", "accelerator", ()),
    ("rule-context", "/properties/fw/properties/os/items", "os", ()),
    ("rule-context", "/properties/fw/properties/status", "frameworkStatus", ()),
    ("rule-context", "/properties/fw/properties/community", "community", ()),
    ("rule-context", "/properties/recipe/properties/quantization", "convertedQuantization", ()),
    ("rule-context", "/properties/recipe/properties/data_needed", "dataNeed", ()),
    ("rule-context", "/properties/req/properties/task", "task", ()),
    ("rule-context", "/properties/req/properties/input_kind", "inputKind", ()),
    ("rule-context", "/properties/req/properties/sensors/items", "sensor", ()),
    ("rule-context", "/properties/req/properties/connectivity/items", "connectivity", ()),
    ("rule-context", "/properties/req/properties/language", "language", ()),
    ("rule-context", "/properties/req/properties/data", "dataNeed", ()),
    ("rule-context", "/properties/est/properties/kernel", "kernel", ()),
    ("requirements", "/properties/task", "task", ()),
    ("requirements", "/properties/input/properties/kind", "inputKind", ()),
    ("requirements", "/properties/sensors/items", "sensor", ()),
    ("requirements", "/properties/connectivity/items", "connectivity", ()),
    ("requirements", "/properties/language", "language", ()),
    ("requirements", "/properties/data", "dataNeed", ()),
    ("advice", "/$defs/candidate/properties/estimates/properties/kernel", "kernel", ()),
    ("advice", "/$defs/candidate/properties/pitfalls/items/properties/severity", "severity", ()),
    ("profile", "/properties/board/oneOf/1/properties/kernel", "kernel", ()),
]


@pytest.mark.parametrize("schema_name, pointer, shared, extra", MIRRORS, ids=[f"{m[0]}{m[1]}" for m in MIRRORS])
def test_mirrored_enums_match_the_shared_ones(schema_name, pointer, shared, extra):
    assert set(_at(schema_json(schema_name), pointer)["enum"]) == set(SHARED[shared]) | set(extra)


def _at(node: Any, pointer: str) -> Any:
    for part in filter(None, pointer.split("/")):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


# --- Python constants follow the schema -----------------------------------------------------------------------------

def test_python_constants_come_from_the_schema():
    assert entities.SEVERITIES == SHARED["severity"]
    assert entities.GUIDELINE_STEPS == SHARED["guidelineStep"]
    assert typing.get_args(entities.Kernel) == SHARED["kernel"]


def test_solver_tables_cover_exactly_the_schema_values():
    from advisor import perf
    from advisor.solve import estimate

    assert set(perf.KERNEL_FALLBACK) == set(SHARED["kernel"])
    assert {k for ks in perf.KERNEL_FALLBACK.values() for k in ks} <= set(SHARED["kernel"])
    assert set(perf.CORE_FALLBACK) | {c for cs in perf.CORE_FALLBACK.values() for c in cs} <= set(SHARED["core"])
    for table in (estimate.WEIGHT_FACTOR, estimate.ACTIVATION_FACTOR, estimate.KERNEL_DTYPE):
        assert set(table) == set(SHARED["convertedQuantization"])
    assert set(estimate.KERNEL_DTYPE.values()) <= set(SHARED["dtype"])


def test_shipped_guideline_is_the_schema_steps_in_order():
    from advisor.kb.load import load_kb

    kb = load_kb()
    assert tuple(s.id for s in sorted(kb.guideline.values(), key=lambda s: s.step)) == entities.GUIDELINE_STEPS


# --- validation behaviour kept ------------------------------------------------------------------------------------

@pytest.mark.parametrize("schema_name, data, path, message, hint", [
    ("pitfall", {"step": "hardware"}, "$.step", "'hardware' is not allowed (did you mean 'hardware-selection'?)",
     "allowed: " + ", ".join(SHARED["guidelineStep"])),
    ("board", {"mcu": {"cores": [{"core": "cortex-m5"}]}}, "$.mcu.cores[0].core", "'cortex-m5' is not allowed",
     "allowed: " + ", ".join(SHARED["core"])),
    ("operator-set", {"ops": [{"dtypes": ["int7"]}]}, "$.ops[0].dtypes[0]", "'int7' is not allowed",
     "allowed: " + ", ".join(SHARED["dtype"])),
])
def test_a_shared_enum_error_still_lists_the_allowed_values(schema_name, data, path, message, hint):
    from advisor.kb.schemas import validate

    problems = [p for p in validate(data, schema_name, "x.yaml", {}) if p.path == path]
    assert len(problems) == 1, problems
    assert problems[0].message.startswith(message) and problems[0].hint == hint
