"""The recipe engine end to end with real TensorFlow, TFMOT and tflite-micro (slow), and its failure paths."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb.load import load_kb
from advisor.kb.entities import Recipe
from advisor.run.runner import run_recipe

from conftest import ROOT

pytestmark = pytest.mark.slow
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
runner = CliRunner()
KB = load_kb()


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> tuple[Path, Path]:
    from advisor.run.datasets import build_example
    return build_example("digits", tmp_path_factory.mktemp("digits"))


def manifest(run_dir: Path) -> dict:
    """The run's manifest, checked against its schema (a contract other tools read)."""
    from advisor.kb.schemas import validator
    data = json.loads((run_dir / "manifest.json").read_text())
    errors = list(validator("manifest").iter_errors(data))
    assert not errors, errors[0].message
    return data


@pytest.mark.parametrize("recipe", ["int8-ptq", "prune-int8", "cluster-int8", "qat-int8", "distill-int8"])
def test_recipe_families_on_digits(tmp_path: Path, digits, recipe: str):
    model, data = digits
    outcome = run_recipe(KB, KB.recipes[recipe], model, data, tmp_path, seed=0)
    assert outcome.exit_code == 0, outcome.message
    m = manifest(outcome.run_dir)
    assert m["status"] == "ok" and all(s["status"] == "ok" for s in m["steps"])
    assert m["versions"]["tensorflow"] and m["versions"]["tflite-micro"] and m["knowledge_base"] == KB.digest
    metrics = json.loads((outcome.run_dir / "metrics.json").read_text())
    assert metrics["float"]["accuracy"] > 90
    assert metrics["tflite"]["accuracy"] > 85
    assert abs(metrics["tflm"]["accuracy"] - metrics["tflite"]["accuracy"]) <= 0.5
    assert metrics["tflm"]["arena_bytes"] > 0
    header = (outcome.run_dir / "firmware" / "model_data.h").read_text()
    assert "kTensorArenaSize = " in header
    main = (outcome.run_dir / "firmware" / "main.cc").read_text()
    for op in metrics["tflm"]["ops"]:
        from advisor.run.steps.export import resolver_method
        assert f"resolver.{resolver_method(op)}();" in main
    assert f"MicroMutableOpResolver<{len(metrics['tflm']['ops'])}>" in main
    source = (outcome.run_dir / "firmware" / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model[]" in source
    assert f"g_model_len = {(outcome.run_dir / 'model.tflite').stat().st_size};" in source
    if recipe == "prune-int8":
        assert m["steps"][1]["outputs"]["sparsity"] >= 0.7
        assert metrics["size"]["gzip_bytes"] < 0.7 * metrics["size"]["tflite_bytes"]
    if recipe == "distill-int8":
        assert m["steps"][1]["outputs"]["student_parameters"] < m["steps"][1]["outputs"]["teacher_parameters"] / 2


def test_same_seed_same_bytes(tmp_path: Path, digits):
    model, data = digits
    hashes = []
    for _ in range(2):
        outcome = run_recipe(KB, KB.recipes["prune-int8"], model, data, tmp_path, seed=3)
        assert outcome.exit_code == 0
        hashes.append(hashlib.sha256((outcome.run_dir / "model.tflite").read_bytes()).hexdigest())
    assert hashes[0] == hashes[1]
    assert len(list(tmp_path.iterdir())) == 2  # two runs, two folders


@pytest.mark.parametrize("example, recipe", [("imu-gestures", "int8-ptq"), ("vibration", "int8-ptq")])
def test_other_examples_run(tmp_path: Path, example: str, recipe: str):
    from advisor.run.datasets import build_example
    model, data = build_example(example, tmp_path / "build")
    result = runner.invoke(app, ["run", str(ROOT / "examples" / example / "requirements.yaml"), "--model", str(model),
                                 "--data", str(data), "--recipe", recipe, "--runs", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs").iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if example == "vibration":
        assert metrics["float"]["auc"] > 0.9 and abs(metrics["tflm"]["auc"] - metrics["tflite"]["auc"]) <= 0.01
    else:
        assert metrics["tflite"]["accuracy"] > 90


def test_a_step_failing_midway_is_recorded_and_earlier_runs_are_untouched(tmp_path: Path, digits):
    model, data = digits
    first = run_recipe(KB, KB.recipes["int8-ptq"], model, data, tmp_path, seed=0)
    before = (first.run_dir / "manifest.json").read_bytes()
    # TFLM has no hybrid kernels: validating a dynamic-range model must fail in the interpreter.
    recipe = Recipe.model_validate({
        "id": "hybrid-on-tflm", "name": "n", "description": "d", "techniques": ["dynamic-range-quantization"],
        "quantization": "dynamic-range", "steps": [
            {"id": "load", "uses": "load-model"},
            {"id": "convert", "uses": "convert", "with": {"mode": "dynamic-range"}, "requires": ["load"]},
            {"id": "tflm", "uses": "tflm-validate", "requires": ["convert"]},
            {"id": "export", "uses": "export-c", "requires": ["tflm"]}]})
    outcome = run_recipe(KB, recipe, model, data, tmp_path, seed=0)
    assert outcome.exit_code == 1 and outcome.status == "failed"
    m = manifest(outcome.run_dir)
    assert m["status"] == "failed" and m["failure"]["step"] == "tflm"
    assert "TFLM validation failed" in m["failure"]["reason"]
    assert [s["status"] for s in m["steps"]] == ["ok", "ok", "failed", "skipped"]
    assert (first.run_dir / "manifest.json").read_bytes() == before


def test_bad_inputs_exit_2(tmp_path: Path, digits):
    model, data = digits
    req = str(ROOT / "examples" / "digits" / "requirements.yaml")
    arrays = dict(np.load(data))

    def run(*args) -> tuple[int, str]:
        result = runner.invoke(app, ["run", req, "--runs", str(tmp_path / "runs"), *args])
        assert "Traceback" not in result.output
        return result.exit_code, result.output

    code, out = run("--model", str(tmp_path / "nope.keras"), "--data", str(data), "--recipe", "int8-ptq")
    assert code == 2 and "no such model file" in out
    code, out = run("--model", str(model), "--data", str(data), "--recipe", "int8-ptqq")
    assert code == 2 and "did you mean 'int8-ptq'?" in out
    only_rep = tmp_path / "rep.npz"
    np.savez(only_rep, x_rep=arrays["x_rep"])
    code, out = run("--model", str(model), "--data", str(only_rep), "--recipe", "qat-int8")
    assert code == 2 and "needs training data" in out
    odd = tmp_path / "odd.npz"
    np.savez(odd, x_trian=arrays["x_train"])
    code, out = run("--model", str(model), "--data", str(odd), "--recipe", "int8-ptq")
    assert code == 2 and "unknown array 'x_trian' (did you mean 'x_train'?)" in out
    assert not (tmp_path / "runs").exists()  # nothing was started
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x_train=arrays["x_train"].reshape(-1, 64), y_train=arrays["y_train"])
    code, out = run("--model", str(model), "--data", str(wrong), "--recipe", "int8-ptq")
    assert code == 2 and "do not match the model input (8, 8, 1)" in out
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"PK\x03\x04garbage")
    code, out = run("--model", str(corrupt), "--data", str(data), "--recipe", "int8-ptq")
    assert code == 2 and "not a loadable Keras model" in out
    statuses = sorted(manifest(d)["status"] for d in (tmp_path / "runs").iterdir())
    assert statuses == ["invalid-input", "invalid-input"]


def test_run_without_recipe_uses_the_solvers_choice(tmp_path: Path, digits):
    model, data = digits
    result = runner.invoke(app, ["run", str(ROOT / "examples" / "digits" / "requirements.yaml"), "--model", str(model),
                                 "--data", str(data), "--runs", str(tmp_path)])
    assert result.exit_code == 0, result.output
    from advisor.profile.model import load_model
    from advisor.questionnaire.requirements import load_requirements
    from advisor.profile.basis import basis_for, from_profile
    from advisor.solve.solver import solve
    req = load_requirements(ROOT / "examples" / "digits" / "requirements.yaml", KB)
    top = solve(req, KB, from_profile(load_model(model))).candidates[0]  # the user's model, profiled
    assert manifest(next(tmp_path.iterdir()))["recipe"]["id"] == top.recipe


def test_report_with_a_run(tmp_path: Path, digits):
    model, data = digits
    outcome = run_recipe(KB, KB.recipes["prune-int8"], model, data, tmp_path / "runs", seed=0)
    assert outcome.exit_code == 0
    req = str(ROOT / "examples" / "digits" / "requirements.yaml")
    result = runner.invoke(app, ["report", req, "--run", str(outcome.run_dir), "-o", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["run"]["id"] == outcome.run_dir.name and report["model"]["source"] == "profile"
    methods = {m["text"]: m for s in report["steps"] for m in s["methods"]}
    assert methods["Pruning and weight clustering"]["done"] and methods["Model versioning"]["done"]
    assert not methods["Continuous monitoring"]["done"]
    html = (tmp_path / "report" / "report.html").read_text()
    assert 'id="chart-accuracy"' in html and 'id="chart-layers"' in html and outcome.run_dir.name in html
