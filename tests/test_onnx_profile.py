"""Profiling .onnx models without TensorFlow: figures, dynamic shapes, nodes TFLM cannot run, advise on an ONNX file."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("onnx")

from test_onnx_models import conv_net, fc_autoencoder, gelu_net, imu_conv1d

from advisor.problems import ProblemError
from advisor.profile.model import load_model


def test_conv_net_figures(tmp_path):
    profile = load_model(conv_net(tmp_path / "c.onnx"))
    ops = [(r.op, r.macs) for r in profile.rows]
    # conv 8 x 12 x 12 outputs x 3 x 3 x 1 input channel; depthwise 8 x 6 x 6 x 3 x 3; fc 3 x 8; ReLUs fused
    assert ops == [("CONV_2D", 10368), ("MAX_POOL_2D", 0), ("DEPTHWISE_CONV_2D", 2592), ("MEAN", 0),
                   ("RESHAPE", 0), ("FULLY_CONNECTED", 24), ("SOFTMAX", 0)]
    assert profile.rows[1].other_ops == 8 * 6 * 6 * 2 * 2  # max pool 2x2 over each output
    assert profile.weight_bytes == 4 * (8 * 9 + 8 + 8 * 9 + 8 + 3 * 8 + 3)
    assert profile.converted_from == "onnx" and profile.activation_dtype == "FLOAT32"
    assert profile.inputs == [{"name": "x", "shape": [1, 1, 12, 12], "dtype": "FLOAT32"}]
    assert profile.rows[0].params["onnx_node"] == "conv1"
    assert profile.plan.arena_bytes >= profile.plan.lower_bound_bytes > 4 * 8 * 12 * 12


def test_conv1d_on_channels_first_imu_input(tmp_path):
    profile = load_model(imu_conv1d(tmp_path / "imu.onnx"))
    conv = profile.rows[0]
    assert conv.op == "CONV_2D" and conv.macs == 16 * 64 * 5 * 6  # out channels x steps x kernel x in channels
    assert profile.inputs[0]["shape"] == [1, 6, 64]


def test_autoencoder_matmul_becomes_fully_connected(tmp_path):
    profile = load_model(fc_autoencoder(tmp_path / "ae.onnx"))
    assert [r.op for r in profile.rows] == ["FULLY_CONNECTED", "FULLY_CONNECTED"]  # bias Add and ReLU fused
    assert profile.macs == 32 * 8 + 8 * 32


def test_dynamic_dimension_names_input_and_axis_and_shape_fixes_it(tmp_path):
    path = imu_conv1d(tmp_path / "dyn.onnx", time_axis="T")
    with pytest.raises(ProblemError) as err:
        load_model(path)
    assert "input 'x' has a dynamic dimension 'T' at axis 2" in str(err.value)
    assert load_model(path, (6, 32)).rows[0].macs == 16 * 32 * 5 * 6
    with pytest.raises(ProblemError, match=r"given input shape is \[3, 32\]"):
        load_model(path, (3, 32))


def test_erf_node_is_named_as_a_flex_op(tmp_path):
    from advisor.profile.onnx_ops import build_graph
    from advisor.profile.onnx_profile import node_problems
    from advisor.profile.onnx_read import read_onnx

    path = gelu_net(tmp_path / "g.onnx")
    profile = load_model(path)
    assert "CUSTOM:FlexErf" in profile.ops
    assert any("node 'gelu_erf' (Erf)" in n for n in profile.notes)
    _graph, mapped = build_graph(read_onnx(path))
    problems = node_problems(mapped, "g.onnx", {"FULLY_CONNECTED", "DIV", "ADD", "MUL"})
    assert [p.message for p in problems] == [
        "node 'gelu_erf' (Erf) becomes the TensorFlow op FlexErf (a Flex/SELECT_TF op): TFLite Micro has no Flex "
        "delegate"]
    assert "ReLU" in problems[0].hint


def test_nodes_without_a_tflm_kernel_or_a_known_lowering_are_named(tmp_path):
    import onnx
    import yaml
    from onnx import TensorProto, helper

    from advisor.profile.onnx_ops import build_graph
    from advisor.profile.onnx_profile import node_problems
    from advisor.profile.onnx_read import read_onnx
    from advisor.resources import KNOWLEDGE

    nodes = [helper.make_node("Gelu", ["x"], ["g"], name="act"), helper.make_node("Hardmax", ["g"], ["y"], name="hm")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    onnx.save(model, str(tmp_path / "g.onnx"))
    tflm = {o["name"] for o in yaml.safe_load((KNOWLEDGE / "operators" / "tflite-micro-ops.yaml").read_text())["ops"]}
    _graph, mapped = build_graph(read_onnx(tmp_path / "g.onnx"))
    messages = [p.message for p in node_problems(mapped, "g.onnx", tflm)]
    assert messages == ["node 'act' (Gelu) becomes GELU, which TFLite Micro has no kernel for",
                        "node 'hm' (Hardmax) has no TFLite builtin that onnx2tf is known to lower it to"]


def test_profile_onnx_does_not_import_tensorflow(tmp_path):
    path = conv_net(tmp_path / "c.onnx")
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom advisor.cli import app\n"
            f"r = CliRunner().invoke(app, ['profile', {str(path)!r}, '--board', 'esp32-s3-eye', '--json'])\n"
            "assert r.exit_code == 0, r.output\n"
            "import json; assert json.loads(r.output)['totals']['macs'] == 12984\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_advise_uses_the_onnx_profile(tmp_path):
    from advisor.kb.load import load_kb
    from advisor.profile.basis import basis_for
    from advisor.questionnaire.requirements import load_requirements
    from advisor.solve.solver import solve

    path = imu_conv1d(tmp_path / "imu.onnx")
    req_file = tmp_path / "req.yaml"
    req_file.write_text("project: x\ntask: gesture-recognition\nmodel:\n  file: imu.onnx\nsensors: [accelerometer]\n")
    kb = load_kb()
    req = load_requirements(req_file, kb)
    assert req.model_source == "onnx"
    sol = solve(req, kb, basis_for(req, kb))
    assert sol.basis.source == "profile" and sol.basis.macs == load_model(path).macs
    recipes = {c.recipe for c in sol.candidates}
    assert recipes, "no stack for a tiny IMU model"
    retraining = {r.id for r in kb.recipes.values()
                  if any(kb.techniques[t].preconditions.retraining for t in r.techniques)}
    assert retraining and not recipes & retraining  # run cannot retrain an ONNX model


@pytest.mark.parametrize("data, message", [
    (b"", "not an ONNX model: no IR version, graph, node or input in the file"),
    (b"\x08\x08", "not an ONNX model: no IR version, graph, node or input in the file"),
])
def test_bytes_that_are_no_onnx_model(data, message):
    from advisor.profile.onnx_read import parse_onnx

    with pytest.raises(ProblemError, match=message):
        parse_onnx(data, "m.onnx")


def test_custom_domain_node_is_refused(tmp_path):
    from onnx import TensorProto, helper

    from advisor.profile.onnx_read import parse_onnx

    node = helper.make_node("MyOp", ["x"], ["y"], name="mine", domain="com.example")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
    with pytest.raises(ProblemError, match=r"node 'mine' \(com.example:MyOp\) is a custom-domain operator"):
        parse_onnx(model.SerializeToString(), "m.onnx")
