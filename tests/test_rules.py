"""The rule language: names checked against the closed vocabulary, never Python eval."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.rules.core import (RuleError, apply_overrides, check_names, compile_condition, compile_template,
                           format_value, nominal_context, vocabulary)


def test_vocabulary_numbers_are_all_doubles_in_nominal_context():
    ctx = nominal_context()
    for root, fields in vocabulary().items():
        for name, field in fields.items():
            value = ctx[root][name]
            expected = {"number": float, "string": str, "boolean": bool, "array": list}[field.type]
            assert type(value) is expected, f"{root}.{name} default {value!r} is not {field.type}"


@pytest.mark.parametrize("expr", [
    "est.ram_kb > 0.9 * est.ram_avail_kb",
    "size(est.unsupported_ops) > 0",
    "0 < size(model.ops)",
    "req.sensors.exists(s, !(s in board.sensors))",
    "model.ops.filter(o, o.startsWith('CONV')).size() > 0 || fw.ops[0] == 'CONV_2D'",
    "'camera' in req.sensors && board.ext_ram_kb == 0.0",
    "fw.id.startsWith('tflite')",
])
def test_good_conditions_compile(expr):
    condition = compile_condition(expr)
    assert isinstance(condition(nominal_context()), bool)


@pytest.mark.parametrize("expr, message", [
    ("est.ram_kbytes > 1.0", "unknown field 'est.ram_kbytes'"),
    ("estimate.ram_kb > 1.0", "unknown name 'estimate'"),
    ("est > 1.0", "'est' must be followed by a field"),
    ("board.sram_kb.value > 1.0", "'board.sram_kb' has no sub-fields"),
    ("est.ram_kb > 100", "integer literal 100"),
    ("est.ram_kb * 2 > 1.0", "integer literal 2"),
    ("__import__('os')", "unknown name '__import__'"),
    ("open('x').read()", "unknown name 'open'"),
    ("est.ram_kb >", "Failed to parse expression"),
    ("est.ram_kb > 1.0 ; 1", "unexpected character ';'"),
    ("'mbed' in board.os", "'mbed' can never match board.os \\(did you mean 'mbed-os'\\?\\)"),
    ("board.os.exists(o, o in ['zephyr', 'threadx'])", "'threadx' can never match board.os"),
    ("board.fpu == 'single'", "'single' can never match board.fpu"),
    ("'lora' != board.connectivity[0] && req.language in ['c', 'fortran']", "'fortran' can never match req.language"),
])
def test_bad_conditions_are_rejected_at_load(expr, message):
    pattern = message if "\\" in message else message.replace("(", r"\(").replace("*", r"\*")
    with pytest.raises(RuleError, match=pattern):
        compile_condition(expr)


def test_string_literals_are_not_taken_for_names():
    assert check_names("'req.nothing' == fw.id && \"open(x)\" != fw.license") == []


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
def test_any_unknown_root_is_rejected(name):
    roots = set(vocabulary())
    expr = f"{name}.x > 1.0"
    errors = check_names(expr)
    if name in roots:
        assert any("unknown field" in e for e in errors)
    elif name not in {"true", "false", "null", "in"}:
        assert any(f"unknown name '{name}'" in e for e in errors)


def test_template_renders_numbers_as_people_write_them():
    tpl = compile_template("arena {est.arena_kb} KB of {board.sram_kb} KB, {est.energy_mj * 1000.0} uJ, "
                           "{fw.languages}")
    assert tpl.render(nominal_context()) == "arena 40 KB of 256 KB, 1000 uJ, c, cpp"
    assert format_value(0.123456) == "0.123" and format_value(212.4) == "212" and format_value(12.34) == "12.3"


def test_overrides_are_typed():
    ctx = apply_overrides(nominal_context(), {"est.ram_kb": 300.0, "board.sensors": ["camera"]})
    assert ctx["est"]["ram_kb"] == 300.0 and ctx["board"]["sensors"] == ["camera"]
    with pytest.raises(RuleError, match="must be a double"):
        apply_overrides(nominal_context(), {"est.ram_kb": 300})
    with pytest.raises(RuleError, match="unknown context field"):
        apply_overrides(nominal_context(), {"est.ram": 1.0})
