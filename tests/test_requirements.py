"""Bad questionnaires get one clear message per problem (file:line: field), exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb.load import load_kb
from advisor.problems import ProblemError
from advisor.questionnaire.requirements import load_requirements

from conftest import ROOT

runner = CliRunner()
KB = load_kb()
GOOD = {"project": "demo", "task": "keyword-spotting"}


def write(tmp_path: Path, text: str, name: str = "req.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ProblemError) as info:
        load_requirements(write(tmp_path, text), KB)
    return [p.render() for p in info.value.problems]


@pytest.mark.parametrize("text, expected", [
    ("task: keyword-spotting\n", "req.yaml:1: $ missing required field 'project'"),
    ("project: x\ntask: keyword-spoting\n", "req.yaml:2: $.task 'keyword-spoting' is not allowed (did you mean "
                                             "'keyword-spotting'?)"),
    ("project: x\ntask: regression\nlatency_ms: 0\n", "req.yaml:3: $.latency_ms 0 is less than or equal to the "
                                                       "minimum of 0"),
    ("project: x\ntask: regression\nmemory:\n  ram_kb: -64\n", "req.yaml:4: $.memory.ram_kb -64 is less than or "
                                                                "equal to the minimum of 0"),
    ("project: x\ntask: regression\nlatency_ms: fast\n", "req.yaml:3: $.latency_ms expected number, got str 'fast'"),
    ("project: x\ntask: regression\nsensors: [camra]\n", "req.yaml:3: $.sensors[0] 'camra' is not allowed (did you "
                                                          "mean 'camera'?)"),
    ("project: x\ntask: regression\nlatncy_ms: 5\n", "req.yaml:3: $.latncy_ms unknown field 'latncy_ms' (did you "
                                                      "mean 'latency_ms'?)"),
    ("project: x\ntask: regression\nhardware:\n  board: arduino-nano-33-ble-sens\n",
     "req.yaml:4: $.hardware.board unknown board 'arduino-nano-33-ble-sens' (did you mean "
     "'arduino-nano-33-ble-sense'?)"),
    ("project: x\ntask: regression\npower:\n  lifetime_days: 30\n",
     "req.yaml:4: $.power.lifetime_days a lifetime needs a battery: add power.battery_mah"),
    ("project: x\ntask: regression\nmodel:\n  file: missing.tflite\n", "req.yaml:4: $.model.file model file not "
                                                                       "found"),
    ("project: x\ntask: regression\nmodel:\n  reference: ds-cnn-kws\n", "req.yaml:4: $.model.reference reference "
                                                                        "model 'ds-cnn-kws' is for keyword-spotting"),
    ("project: x\ntask: other\n", "req.yaml:2: $.task the knowledge base has no reference model for task 'other'"),
    ("project: x\ntask: other\nmodel:\n  file: req.yaml\n", "req.yaml:4: $.model.file unknown model type '.yaml'"),
    ("project: x\ntask: regression\ntask: other\n", "req.yaml:3: $.task duplicate key 'task'"),
    ("project: x\ntask: regression\nframework:\n  id: tflite-micr\n",
     "req.yaml:4: $.framework.id unknown framework 'tflite-micr' (did you mean 'tflite-micro'?)"),
    ("project: x\ntask: regression\nframework:\n  mode: force\n", "req.yaml:3: $.framework missing required "
                                                                    "field 'id'"),
    ("project: x\ntask: regression\nretraining: no-way\n", "req.yaml:3: $.retraining expected boolean"),
    ("project: x\ntask: regression\nsensors: [camera]\nexternal_sensors: [camera]\n",
     "req.yaml:4: $.external_sensors[0] 'camera' is listed in sensors (on the board) and external_sensors"),
    ("project: [x\n", "req.yaml:2: invalid YAML"),
    ("- a list\n", "req.yaml:1: $ expected a mapping"),
])
def test_bad_questionnaire_messages(tmp_path: Path, text: str, expected: str):
    rendered = problems(tmp_path, text)
    assert any(expected in r for r in rendered), rendered


def test_every_problem_is_reported_at_once(tmp_path: Path):
    rendered = problems(tmp_path, "project: x\ntask: regresion\nlatency_ms: 0\nsensors: [mic]\nbogus: 1\n")
    assert len(rendered) == 4 and [r.split("req.yaml:")[1].split(":")[0] for r in rendered] == ["2", "3", "4", "5"]


def test_corrupt_model_files(tmp_path: Path):
    (tmp_path / "random.tflite").write_bytes(b"\x00\x01not a flatbuffer at all")
    (tmp_path / "model.h5").write_bytes(b"PK\x03\x04")
    (tmp_path / "saved").mkdir()
    for name, message in (("random.tflite", "is not a TFLite flatbuffer"), ("model.h5", "is not an HDF5 file"),
                          ("saved", "without saved_model.pb"), ("notes.txt", "model file not found")):
        rendered = problems(tmp_path, f"project: x\ntask: regression\nmodel:\n  file: {name}\n")
        assert any(message in r for r in rendered), rendered


def test_json_questionnaire_works(tmp_path: Path):
    path = write(tmp_path, json.dumps({**GOOD, "latency_ms": 100}), "req.json")
    assert load_requirements(path, KB).latency_budget_ms == 100.0


def test_cli_bad_input_exits_2_without_traceback(tmp_path: Path):
    path = write(tmp_path, "project: x\ntask: keyword-spotting\nunit_cost_usd: cheap\n")
    result = runner.invoke(app, ["advise", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "$.unit_cost_usd expected number" in result.output
    assert runner.invoke(app, ["advise", str(tmp_path / "nope.yaml")]).exit_code == 2
    why = runner.invoke(app, ["advise", str(ROOT / "examples" / "kws-battery.yaml"), "--why-not", "sparkfun-edg"])
    assert why.exit_code == 2 and "did you mean 'sparkfun-edge'?" in why.output
    weight = runner.invoke(app, ["advise", str(ROOT / "examples" / "kws-battery.yaml"), "--weight", "speed=2"])
    assert weight.exit_code == 2 and "--weight" in weight.output


# Hypothesis: arbitrary YAML-ish documents and mutations of a good questionnaire never crash the loader.
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=12)
KEYS = ["project", "task", "input", "num_classes", "model", "accuracy", "latency_ms", "inferences_per_s", "memory",
        "power", "unit_cost_usd", "sensors", "connectivity", "hardware", "language", "os", "data", "weights",
        "framework", "retraining", "external_sensors"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_mutated_questionnaires_fail_cleanly_or_load(tmp_path: Path, changes: dict):
    path = write(tmp_path, yaml.safe_dump({**GOOD, **changes}))
    try:
        req = load_requirements(path, KB)
    except ProblemError as exc:
        assert exc.problems and all(p.file.endswith("req.yaml") and p.message for p in exc.problems)
    else:
        assert req.project and req.task


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_arbitrary_text_fails_cleanly(tmp_path: Path, text: str):
    path = write(tmp_path, text)
    try:
        load_requirements(path, KB)
    except ProblemError as exc:
        assert exc.problems


def test_task_other_without_a_model_or_an_input_shape_is_bad_input(tmp_path: Path):
    # Without a model file the estimates stand on a reference model scaled to the input, so task: other needs
    # input.shape (a model file is profiled: see tests/test_basis.py).
    path = write(tmp_path, "project: x\ntask: other\ninput:\n  kind: audio\n")
    result = runner.invoke(app, ["advise", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "$.task the knowledge base has no reference model for task 'other'" in result.output
    assert "input.shape" in result.output


def test_json_numbers_are_json_not_yaml_1_1(tmp_path: Path):
    # YAML 1.1 reads 1e308 (no '.', no exponent sign) as a string; JSON reads it as a number.
    path = write(tmp_path, '{"project": "p", "task": "keyword-spotting", "latency_ms": 1e308,\n'
                           ' "power": {"battery_mah": 2E3}}', "req.json")
    req = load_requirements(path, KB)
    assert req.latency_budget_ms == 1e308 and req.battery_mah == 2000.0


@pytest.mark.parametrize("text, expected", [
    ('{"project": "p",\n "task": "keyword-spotting",\n "latency_ms": 1e999}', "req.json:3: $.latency_ms inf is not a "
                                                                               "finite number"),
    ('{"project": "p",\n "task": "keyword-spotting",\n "weights": {"cost": NaN}}', "req.json:3: $.weights.cost nan"),
    ('{"project": "p",\n "task": "keyword-spotting",\n "project": "q"}', "req.json:3: $.project duplicate key"),
    ('{"project": "p",\n "task": "keyword-spotting",\n "sensors": ["camra"]}', "req.json:3: $.sensors[0] 'camra' is "
                                                                               "not allowed"),
])
def test_bad_json_questionnaires_name_the_line(tmp_path: Path, text: str, expected: str):
    with pytest.raises(ProblemError) as info:
        load_requirements(write(tmp_path, text, "req.json"), KB)
    rendered = [p.render() for p in info.value.problems]
    assert any(r.split('/')[-1].startswith(expected) for r in rendered), rendered


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
def test_non_finite_yaml_numbers_are_refused_before_the_solver(tmp_path: Path, value: str):
    rendered = problems(tmp_path, f"project: x\ntask: regression\nlatency_ms: {value}\n")
    assert "req.yaml:3: $.latency_ms" in rendered[0] and "is not a finite number" in rendered[0], rendered


def test_a_huge_value_is_quoted_short(tmp_path: Path):
    rendered = problems(tmp_path, "project: x\ntask: " + "y" * 100_000 + "\n")
    assert len(rendered) == 1 and "req.yaml:2: $.task 'yyy" in rendered[0] and "y" * 100 not in rendered[0], rendered
