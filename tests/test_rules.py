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


# Each literal form CEL has, with the value CEL itself gives it: the checker must end each token where CEL does.
LITERALS = [r"r'\'", r'r"\"', r"R'\n'", r"'a\'b'", r"b'\x41'", r"br'\x41'", r"bR'a'", "'''a'b'''", '"""a"b"""',
            r"r'''a\'''", r"'''a\''''", r"'\u0041\U00000042\103\x44\?\`'", "'''a\nb'''", "0x1F", "0x1fu", "1u", "1U",
            ".5", "1e3", "1E+3", "1.25", "01"]


@pytest.mark.parametrize("literal", LITERALS)
def test_the_lexer_reads_each_literal_as_one_token_like_cel(literal):
    import cel
    from advisor.rules.lexer import literal_value, tokens
    toks = list(tokens(literal + " == x"))
    assert toks[0][1] == literal and toks[1:] == [("op", "=="), ("ident", "x")], toks
    assert literal_value(literal) == cel.evaluate(literal)


@pytest.mark.parametrize("text", ["rb'a'", "Rb'a'", "0X1F", "1.", "'a\nb'", "r'a\nb'", "1 /* c */ + 2", "1e3u"])
def test_forms_cel_refuses_are_not_one_literal_token(text):
    import cel
    from advisor.rules.lexer import LexError, tokens
    with pytest.raises(ValueError):
        cel.compile(text)
    try:
        toks = list(tokens(text))
    except LexError:
        return
    assert len(toks) > 1, toks


def test_comments_are_skipped_like_cel_skips_them():
    import cel
    from advisor.rules.lexer import tokens
    expr = "1.0 // a comment with 'quotes' and req.secret\n+ 2.0"
    assert cel.evaluate(expr) == 3.0
    assert [t for _k, t in tokens(expr)] == ["1.0", "+", "2.0"]


@pytest.mark.parametrize("expr, message", [
    # CEL ends a raw string at its first quote, so the second comparison is real: it reads req.secret.
    (r"req.task == r'\' || req.secret == 'S' || req.task == ''", "unknown field 'req.secret'"),
    (r"req.task == '''a\'''' || req.secret == 'S'", "unknown field 'req.secret'"),
    ("req.task == 'other' // '\n|| req.secret == 'S'", "unknown field 'req.secret'"),
    ("req.sensors.exists(req, true) || req.secret == 'S'", "hides the root 'req'"),
    ("req.sensors.exists(s, s == 'camera') || s == 'camera'", "'s' is used outside the comprehension"),
    (".req.task == 'other'", "a leading dot is not allowed"),
    ("req['secret'] == 'S'", "'req' must be followed by a field"),
    ("dyn(req).secret == 'S'", "'req' must be followed by a field"),
    ("est.ram_kb > 0x10", "integer literal 0x10: numbers in the rule context are doubles, write 16.0"),
    ("req.task == '\\x6bkeyword-spotting'", "'kkeyword-spotting' can never match req.task"),
])
def test_tricks_that_would_read_undeclared_fields_are_rejected(expr, message):
    import cel
    cel.compile(expr)  # CEL itself accepts each of them
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace("[", r"\[")):
        compile_condition(expr)


def test_the_raw_string_trick_really_reads_the_field_in_cel():
    import cel
    expr = r"req.task == r'\' || req.secret == 'S'"
    assert cel.evaluate(expr, {"req": {"task": "x", "secret": "S"}}) is True


def test_an_escaped_literal_matches_by_its_value():
    condition = compile_condition("req.task == 'keyword\\x2dspotting'")
    assert condition(nominal_context()) is True


def test_evaluation_errors_are_rule_errors_and_become_problems():
    from advisor.rules.core import EvaluationError, evaluation_problem
    condition = compile_condition("int(est.ram_kb) / int(req.ram_budget_kb) > int(1.0)")
    ctx = nominal_context()
    ctx["req"]["ram_budget_kb"] = 0.0
    with pytest.raises(EvaluationError, match="division by zero"):
        condition(ctx)
    try:
        condition(ctx)
    except EvaluationError as exc:
        problem = evaluation_problem("pitfall", "ram-ratio", "condition", exc).problems[0]
    assert problem.render().startswith("pitfalls/ram-ratio.yaml: $.condition pitfall 'ram-ratio' cannot be "
                                       "evaluated for this project: division by zero")


def test_a_template_that_divides_by_zero_is_an_error_not_inf():
    from advisor.rules.core import EvaluationError
    ctx = nominal_context()
    ctx["est"]["latency_ms"] = 0.0
    with pytest.raises(EvaluationError, match="is inf"):
        compile_template("rate {1000.0 / est.latency_ms} per second").render(ctx)
