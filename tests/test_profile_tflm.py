"""The arena simulation against the real tflite-micro interpreter, and the Keras conversion path."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.run.probe import run_measured
from advisor.profile.model import load_model

from conftest import FIXTURES

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.mark.parametrize("name", ["ds-cnn-kws", "mobilenet-v1-025-vww", "resnet-8-ic", "fc-autoencoder-ad"])
def test_mlperf_tiny_arena_within_5_percent_and_never_under(tmp_path: Path, name: str):
    from advisor.profile import zoo
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(zoo.to_int8(zoo.build(name)))
    ok, why, arena = run_measured(path)
    assert ok, why
    profile = load_model(path)
    assert profile.plan.head_bytes == arena["head"]
    ratio = profile.plan.arena_bytes / arena["total"]
    assert 0.95 <= ratio <= 1.05, (name, profile.plan.arena_bytes, arena)


@pytest.mark.parametrize("model", sorted((FIXTURES / "models").glob("*.tflite")), ids=lambda p: p.name)
def test_fixture_models_arena(model: Path):
    ok, why, arena = run_measured(model)
    assert ok, why
    assert 0.95 <= load_model(model).plan.arena_bytes / arena["total"] <= 1.05


def test_keras_file_is_converted_and_profiled(tmp_path: Path):
    import os
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras as keras
    inp = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(x)))
    path = tmp_path / "small.keras"
    model.save(path)
    result = runner.invoke(app, ["profile", str(path), "--json"])
    assert result.exit_code == 0, result.output
    import json
    data = json.loads(result.output)
    assert data["converted_from"] == "keras"
    assert data["totals"]["macs"] == 14 * 14 * 4 * 9 + (14 * 14 * 4) * 3  # conv 3x3 valid + dense
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04 not really a zip")
    broken = runner.invoke(app, ["profile", str(tmp_path / "broken.keras")])
    assert broken.exit_code == 2 and "cannot load or convert the model" in broken.output
    dyn_inp = keras.Input((None, 8))
    dynamic = keras.Model(dyn_inp, keras.layers.Dense(2)(dyn_inp))
    dynamic.save(tmp_path / "dynamic.keras")
    result = runner.invoke(app, ["profile", str(tmp_path / "dynamic.keras")])
    assert result.exit_code == 2 and "dynamic input shape" in result.output
