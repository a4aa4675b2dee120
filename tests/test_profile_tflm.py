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
    assert broken.exit_code == 2 and "not a readable .keras zip" in broken.output
    dyn_inp = keras.Input((None, 8))
    dynamic = keras.Model(dyn_inp, keras.layers.Dense(2)(dyn_inp))
    dynamic.save(tmp_path / "dynamic.keras")
    result = runner.invoke(app, ["profile", str(tmp_path / "dynamic.keras")])
    assert result.exit_code == 2 and "dynamic input shape" in result.output


def _lambda_model(marker: Path):
    import os
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tf_keras as keras

    target = str(marker)  # NOTE: Keras saves the closure's values with the code; a str serializes, a Path not

    def side_effect(x):
        with open(target, "w", encoding="utf-8") as f:
            f.write("code from the model file ran")
        return x

    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2)(keras.layers.Lambda(side_effect, name="side_effect")(inp)))


@pytest.mark.parametrize("kind", ["h5", "keras", "savedmodel"])
def test_a_lambda_layer_never_runs(tmp_path: Path, kind: str):
    import tf_keras as keras
    from advisor.problems import ProblemError
    from advisor.profile.keras_io import load_keras_model
    marker = tmp_path / "ran.txt"
    path = tmp_path / ("model" if kind == "savedmodel" else f"model.{kind}")
    _lambda_model(marker).save(path, **({"save_format": "tf"} if kind == "savedmodel" else {}))
    marker.unlink()
    if kind == "h5":  # the hazard is real: Keras' own loader runs the Lambda's code from an .h5
        keras.models.load_model(str(path), compile=False)
        assert marker.exists()
        marker.unlink()
    with pytest.raises(ProblemError, match="layer 'side_effect' is a Lambda layer"):
        load_keras_model(path)
    result = runner.invoke(app, ["profile", str(path)])
    assert result.exit_code == 2 and "is a Lambda layer" in result.output, result.output
    assert not marker.exists()


def test_builtin_layer_names_match_tf_keras():
    import inspect

    import tf_keras as keras
    from advisor.profile import keras_names as K
    exported = {n for n, v in vars(keras.layers).items() if inspect.isclass(v) and issubclass(v, keras.layers.Layer)}
    assert K.LAYERS == exported - K.ABSTRACT_LAYERS - K.CODE_LAYERS
    for module, names in ((keras.initializers, K.INITIALIZERS), (keras.regularizers, K.REGULARIZERS),
                          (keras.constraints, K.CONSTRAINTS)):
        assert all(inspect.isclass(getattr(module, n, None)) for n in names), module


@pytest.mark.parametrize("kind", ["h5", "keras", "savedmodel"])
def test_builtin_models_pass_the_inspection_in_every_format(tmp_path: Path, kind: str):
    import tensorflow as tf
    import tf_keras as keras
    from advisor.profile.keras_io import inspect_keras_model, load_keras_model
    inp = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, activation="relu", kernel_regularizer=keras.regularizers.l2(1e-3))(inp)
    x = tf.nn.relu(tf.reshape(x, (-1, 72))[:, :10])  # TFOpLambda and SlicingOpLambda layers
    block = keras.Sequential([keras.layers.Dense(4), keras.layers.BatchNormalization()])
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(block(x)))
    model.compile("adam", "mse", metrics=["accuracy"])  # a training config the inspection must skip
    path = tmp_path / ("model" if kind == "savedmodel" else f"model.{kind}")
    model.save(path, **({"save_format": "tf"} if kind == "savedmodel" else {}))
    assert inspect_keras_model(path) == kind
    assert load_keras_model(path).input_shape == (None, 8, 8, 1)
