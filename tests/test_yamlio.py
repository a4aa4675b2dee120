"""Line numbers survive loading."""

from __future__ import annotations

import pytest

from advisor.problems import ProblemError
from advisor.kb.yamlio import line_of, load_yaml_text

TEXT = """\
id: x
mcu:
  part: P
  cores:
    - {core: cortex-m4f, count: 1}
    - core: cortex-m0plus
      count: 1
list: [a, b]
"""


def test_line_map_points_at_keys_and_items():
    data, lines = load_yaml_text(TEXT, "f.yaml")
    assert data["mcu"]["cores"][1]["core"] == "cortex-m0plus"
    assert lines[("id",)] == 1
    assert lines[("mcu",)] == 2
    assert lines[("mcu", "part")] == 3
    assert lines[("mcu", "cores", 0)] == 5
    assert lines[("mcu", "cores", 1, "count")] == 7
    assert line_of(lines, ("mcu", "cores", 1, "clock_mhz")) == 6
    assert line_of(lines, ("nothing", "here")) == 1


def test_python_tags_are_refused():
    with pytest.raises(ProblemError, match="invalid YAML"):
        load_yaml_text("x: !!python/object/apply:os.system ['true']\n", "f.yaml")


def test_empty_document_is_none():
    assert load_yaml_text("", "f.yaml")[0] is None


def _bomb(levels: int = 9, width: int = 9) -> str:
    names = [chr(ord("a") + i) for i in range(levels)]
    text = f"{names[0]}: &{names[0]} [{', '.join(['x'] * width)}]\n"
    for prev, name in zip(names, names[1:]):
        text += f"{name}: &{name} [{', '.join(['*' + prev] * width)}]\n"
    return text


def _problems(load, text: str) -> list[str]:
    with pytest.raises(ProblemError) as info:
        load(text, "f.yaml")
    return [p.render() for p in info.value.problems]


def test_an_alias_bomb_is_refused_at_once():
    import time
    start = time.perf_counter()
    lines = _problems(load_yaml_text, _bomb())  # 9**9 values once expanded
    assert time.perf_counter() - start < 1.0
    assert len(lines) == 1 and "once its aliases are expanded" in lines[0] and lines[0].startswith("f.yaml:6: $")


def test_aliases_within_the_limit_still_load():
    data, _ = load_yaml_text(_bomb(levels=3, width=9), "f.yaml")  # 729 values: an ordinary file
    assert len(data["c"]) == 9 and data["c"][0][0] == ["x"] * 9


def test_a_recursive_alias_is_refused():
    assert _problems(load_yaml_text, "a: &a [1, *a]\n") == [
        "f.yaml:1: $ alias *a is inside the node it names (a recursive alias)"]


@pytest.mark.parametrize("text", ["[" * 990 + "]" * 990, "{a: " * 990 + "}" * 990,
                                  "".join("  " * i + "a:\n" for i in range(200)) + "  " * 200 + "b: 1\n"])
def test_deep_nesting_is_refused_with_its_line(text):
    lines = _problems(load_yaml_text, text)
    assert len(lines) == 1 and "nested more than 50 levels deep (level 51 starts here)" in lines[0]
    assert lines[0].startswith("f.yaml:51:" if text.startswith("a:") else "f.yaml:1:")


def test_nesting_within_the_limit_loads():
    data, lines = load_yaml_text("[" * 50 + "]" * 50, "f.yaml")
    assert lines[(0,) * 49] == 1


@pytest.mark.parametrize("text, expected", [
    ("a: 1\nb: .nan\n", "f.yaml:2: $.b nan is not a finite number"),
    ("a:\n  - 1.0\n  - -.inf\n", "f.yaml:3: $.a[1] -inf is not a finite number"),
    ("a: {b: .Inf}\n", "f.yaml:1: $.a.b inf is not a finite number"),
    ("a: " + "9" * 320 + "\n", "f.yaml:1: $.a number 999"),
    ("a: " + "9" * 5000 + "\n", "f.yaml:1: $.a number with 5000 digits is out of range"),
    ("a: 2024-13-40\n", "f.yaml:1: $.a '2024-13-40' is not a valid timestamp: month must be in 1..12"),
    ("1: x\n", "f.yaml:1: $ key '1' is not a name"),
    ("? [a, b]\n: x\n", "f.yaml:1: $ key a list or mapping is not a name"),
    ("a: 1\n---\nb: 2\n", "f.yaml:2: invalid YAML: several YAML documents in one file"),
    ("a:\n\tb: 1\n", "YAML indents with spaces, not tabs"),
    ("a: 1\na: 2\n", "f.yaml:2: $.a duplicate key 'a' (first at line 1)"),
])
def test_yaml_values_that_cannot_be_data(text, expected):
    lines = _problems(load_yaml_text, text)
    assert any(line.startswith(expected) or expected in line for line in lines), lines
    assert all(len(line) < 200 for line in lines), lines


def test_json_is_parsed_as_json_with_line_marks():
    from advisor.kb.yamlio import load_json_text
    text = '{\n  "a": 1e308,\n  "b": [1,\n    {"c": "x"}],\n  "d": 1.5E3\n}\n'
    data, lines = load_json_text(text, "f.json")
    assert data == {"a": 1e308, "b": [1, {"c": "x"}], "d": 1500.0}
    assert lines[("a",)] == 2 and lines[("b", 1)] == 4 and lines[("b", 1, "c")] == 4 and lines[("d",)] == 5


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1,\n "b": {"c": 1, "c": 2}}', ["f.yaml:2: $.b.c duplicate key 'c' (first at line 2)"]),
    ('{"a": 1,\n "b": [1, NaN]}', ["f.yaml:2: $.b[1] nan is not a finite number"]),
    ('{"a":\n 1e999,\n "b": -Infinity}', ["f.yaml:1: $.a inf is not a finite number",
                                           "f.yaml:3: $.b -inf is not a finite number"]),
    ('{"a": 1,\n "b": 2', ["f.yaml:2: invalid JSON: Expecting ',' delimiter"]),
    ('[' * 100000 + ']' * 100000, ["f.yaml:1: $ nested more than 50 levels deep"]),
])
def test_bad_json(text, expected):
    from advisor.kb.yamlio import load_json_text
    lines = _problems(load_json_text, text)
    assert len(lines) == len(expected) and all(a.startswith(b) for a, b in zip(lines, expected)), lines
