"""Small ONNX models built with onnx.helper (no PyTorch), shared by the ONNX tests, and checks that they are valid.

Weights are seeded random; a classifier's labels come from the ONNX model itself (onnxruntime), so the float
model is right by construction and every accuracy below it measures what conversion and quantization lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")

from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def _w(rng, name: str, shape: tuple[int, ...], scale: float):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def _save(nodes, inputs, outputs, inits, path: Path, opset: int = OPSET) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def conv_net(path: Path, seed: int = 0) -> Path:
    """NCHW image classifier: Conv 3x3 -> ReLU -> MaxPool -> depthwise Conv -> ReLU -> GAP -> Gemm -> Softmax."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
             helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=8, name="dw2"),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], transB=1, name="fc"),
             helper.make_node("Softmax", ["logits"], ["y"], axis=1, name="softmax")]
    inits = [_w(rng, "w1", (8, 1, 3, 3), 0.5), _w(rng, "b1", (8,), 0.1), _w(rng, "w2", (8, 1, 3, 3), 0.5),
             _w(rng, "b2", (8,), 0.1), _w(rng, "w3", (3, 8), 1.0), _w(rng, "b3", (3,), 0.1)]
    return _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 12, 12])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits, path)


def imu_conv1d(path: Path, seed: int = 1, time_axis: int | str = 64) -> Path:
    """Channels-first IMU classifier, input [N, 6 axes, 64 steps]: Conv1d k5 -> ReLU -> GAP -> Gemm (logits)."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[2, 2], name="conv1d"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r1"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], name="fc")]
    inits = [_w(rng, "w1", (16, 6, 5), 0.4), _w(rng, "b1", (16,), 0.1), _w(rng, "w2", (16, 4), 1.0),
             _w(rng, "b2", (4,), 0.1)]
    return _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6, time_axis])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], inits, path)


def fc_autoencoder(path: Path, seed: int = 2) -> Path:
    """Dense autoencoder on 32 features: MatMul 32->8 -> ReLU -> MatMul 8->32."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h0"], name="enc"),
             helper.make_node("Add", ["h0", "b1"], ["h1"], name="enc_bias"),
             helper.make_node("Relu", ["h1"], ["h"], name="enc_relu"),
             helper.make_node("MatMul", ["h", "w2"], ["y"], name="dec")]
    inits = [_w(rng, "w1", (32, 8), 0.3), _w(rng, "b1", (8,), 0.1), _w(rng, "w2", (8, 32), 0.3)]
    return _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 32])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 32])], inits, path)


def gelu_net(path: Path, seed: int = 3) -> Path:
    """A dense layer with an exact GELU as PyTorch exports it below opset 20: x * 0.5 * (1 + Erf(x / sqrt 2))."""
    rng = np.random.default_rng(seed)
    consts = [numpy_helper.from_array(np.array(v, np.float32), n)
              for n, v in (("sqrt2", 2 ** 0.5), ("one", 1.0), ("half", 0.5))]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Div", ["h", "sqrt2"], ["hs"], name="gelu_div"),
             helper.make_node("Erf", ["hs"], ["e"], name="gelu_erf"),
             helper.make_node("Add", ["e", "one"], ["e1"], name="gelu_add"),
             helper.make_node("Mul", ["h", "e1"], ["m"], name="gelu_mul"),
             helper.make_node("Mul", ["m", "half"], ["y0"], name="gelu_half"),
             helper.make_node("MatMul", ["y0", "w2"], ["y"], name="fc2")]
    inits = [_w(rng, "w1", (16, 8), 0.3), _w(rng, "w2", (8, 3), 0.3)] + consts
    return _save(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits, path)


def labelled(path: Path, n: int, seed: int = 7) -> dict:
    """Seeded inputs for the model at ``path`` and, for classifiers, the model's own argmax as labels."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    shape = tuple(d if isinstance(d, int) else n for d in inp.shape)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    y = session.run(None, {inp.name: x})[0]
    return {"x": x, "y": y}


def test_builders_make_valid_models(tmp_path):
    for build in (conv_net, imu_conv1d, fc_autoencoder, gelu_net):
        model = onnx.load(str(build(tmp_path / f"{build.__name__}.onnx")))
        onnx.checker.check_model(model, full_check=True)
        assert model.graph.node
