"""`run` on ONNX models: nodes TFLM cannot run and retraining recipes are refused (exit 2); float parity of the
onnx2tf conversion on every test model; one end-to-end int8 run to a TFLM-validated model and a C export."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("onnx")
np = pytest.importorskip("numpy")

from test_onnx_models import conv_net, fc_autoencoder, gelu_net, imu_conv1d, labelled

HAVE_ML = all(importlib.util.find_spec(m) for m in ("tensorflow", "onnxruntime", "onnx2tf", "tflite_micro"))
needs_ml = pytest.mark.skipif(not HAVE_ML, reason="needs the ml extra (TensorFlow, onnxruntime, onnx2tf)")
ENV = os.environ | {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _run(tmp: Path, model: Path, data: dict, recipe: str, task: str = "gesture-recognition",
         timeout: float = 60) -> subprocess.CompletedProcess:
    (tmp / "q.yaml").write_text(f"project: p\ntask: {task}\nmodel:\n  file: {model.name}\n")
    np.savez(tmp / "d.npz", **data)
    return subprocess.run([sys.executable, "-m", "advisor", "run", str(tmp / "q.yaml"), "--data", str(tmp / "d.npz"),
                           "--recipe", recipe, "--runs", str(tmp / "runs")], capture_output=True, text=True,
                          timeout=timeout, env=ENV, cwd=tmp, check=False)


@needs_ml
def test_run_names_the_node_tflm_cannot_run(tmp_path):
    model = gelu_net(tmp_path / "g.onnx")
    x = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    out = _run(tmp_path, model, {"x_rep": x}, "int8-ptq")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "node 'gelu_erf' (Erf) becomes the TensorFlow op FlexErf (a Flex/SELECT_TF op)" in out.stderr
    assert "Traceback" not in out.stderr and not list((tmp_path / "runs").glob("*"))


@needs_ml
def test_run_refuses_a_retraining_recipe_on_onnx(tmp_path):
    model = imu_conv1d(tmp_path / "imu.onnx")
    got = labelled(model, 8)
    out = _run(tmp_path, model, {"x_train": got["x"], "y_train": got["y"].argmax(-1)}, "qat-int8")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "recipe 'qat-int8' retrains the model (quantization-aware-training), which needs a Keras model" in out.stderr
    assert "int8-ptq" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
@needs_ml
def test_float_parity_of_the_conversion_on_every_test_model(tmp_path):
    """onnx2tf + the TFLite converter in float32 reproduce onnxruntime's outputs (tolerance of the evaluate step)."""
    import onnx
    import onnxruntime as ort

    from advisor.profile.onnx_read import read_onnx
    from advisor.run.convert_child import convert
    from advisor.run.onnx_convert_child import to_saved_model
    from advisor.run.steps.onnx_steps import PARITY_ATOL, PARITY_RTOL
    from advisor.run.steps.tflite_steps import _interpreter

    # NOTE: the channels-first IMU model's parity is checked by the end-to-end test below
    models = [(conv_net(tmp_path / "conv.onnx"), ()), (fc_autoencoder(tmp_path / "ae.onnx"), ())]
    for path, shape in models:
        static = tmp_path / f"{path.stem}-static.onnx"
        onnx.save(read_onnx(path, shape).model, str(static))
        tflite = convert(to_saved_model(str(static), str(tmp_path / path.stem)), "float32", None)
        session = ort.InferenceSession(str(static), providers=["CPUExecutionProvider"])
        inp = session.get_inputs()[0]
        interpreter = _interpreter(tmp_path / "m.tflite") if (tmp_path / "m.tflite").write_bytes(tflite) else None
        detail = interpreter.get_input_details()[0]
        assert tuple(detail["shape"]) == tuple(inp.shape), f"{path.name}: the input layout changed"
        interpreter.allocate_tensors()
        worst = 0.0
        for x in np.random.default_rng(5).standard_normal((8,) + tuple(inp.shape)).astype(np.float32):
            ref = session.run(None, {inp.name: x})[0]
            interpreter.set_tensor(detail["index"], x)
            interpreter.invoke()
            got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
            diff = float(np.abs(ref - got).max())
            assert diff <= PARITY_ATOL + PARITY_RTOL * float(np.abs(ref).max()), (path.name, diff)
            worst = max(worst, diff)
        assert worst > 0.0 or path.stem == "ae"  # NOTE: a bitwise-equal result would mean nothing was converted


@pytest.mark.slow
@needs_ml
def test_run_int8_ptq_on_an_imu_onnx_model_end_to_end(tmp_path):
    """Dynamic time axis fixed from the data, channels-first input kept, int8 validated in TFLM, C exported."""
    import jsonschema

    from advisor.kb.schemas import schema

    model = imu_conv1d(tmp_path / "imu.onnx", time_axis="T")
    got = labelled(imu_conv1d(tmp_path / "ref.onnx"), 120)
    x, y = got["x"], got["y"].argmax(-1)
    out = _run(tmp_path, model, {"x_train": x[:60], "x_test": x[60:], "y_test": y[60:]}, "int8-ptq", timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    run = next((tmp_path / "runs").iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    jsonschema.validate(metrics, schema("metrics"))
    parity = metrics["parity"]
    assert parity["within"] and parity["max_abs_diff"] <= parity["tolerance"] and parity["samples"] == 60
    assert metrics["float"]["accuracy"] == 100.0  # labels are the ONNX model's own argmax
    assert parity["float_tflite"]["accuracy"] >= 98.0
    assert metrics["tflm"]["accuracy"] >= 80.0 and metrics["tflm"]["samples"] == 60
    assert "TRANSPOSE" in metrics["tflm"]["ops"]  # the NCW input is kept and transposed inside the model
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["versions"]["onnx2tf"]
    assert (run / "firmware" / "model_data.cc").is_file() and "model.tflite" in manifest["artifacts"]
