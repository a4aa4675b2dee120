"""The profiler: .tflite parsing without TensorFlow, MACs, the arena simulation, bad model files."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from advisor.profile.arena import greedy_plan, Buffer
from advisor.cli import app
from advisor.problems import ProblemError
from advisor.profile.model import load_model
from advisor.profile.tflite import parse_tflite

from conftest import FIXTURES

runner = CliRunner()
MODELS = FIXTURES / "models"
KWS = MODELS / "ds-cnn-kws.tflite"


def test_ds_cnn_macs_and_arena():
    profile = load_model(KWS)
    # Hand count: conv 25x5x64x(10x4x1) + 4 x (depthwise 25x5x64x9 + pointwise 25x5x64x64) + dense 64x12.
    assert profile.macs == 320_000 + 4 * (72_000 + 512_000) + 768
    assert profile.plan.head_bytes == 16_000  # as the tflite-micro RecordingMicroAllocator reports
    assert profile.plan.lower_bound_bytes <= profile.plan.head_bytes
    assert 0.95 <= profile.plan.arena_bytes / 24_352 <= 1.05
    assert [r.op for r in profile.heaviest(1)] == ["CONV_2D"]
    assert profile.ops == ("AVERAGE_POOL_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "RESHAPE",
                           "SOFTMAX")


def test_greedy_planner_places_ties_like_tflm():
    # Equal sizes: TFLM places the later tensor first, which decides where the rest can go.
    buffers = [Buffer(0, 16, 0, 1), Buffer(1, 16, 1, 2), Buffer(2, 16, 2, 3)]
    placed, head = greedy_plan(buffers)
    assert head == 32 and [b.offset for b in placed] == [0, 16, 0]


@pytest.mark.parametrize("cut", [0, 7, 8, 100, 1000, 20_000, 46_000])
def test_truncated_models_are_rejected_cleanly(tmp_path: Path, cut: int):
    path = tmp_path / "cut.tflite"
    path.write_bytes(KWS.read_bytes()[:cut])
    result = runner.invoke(app, ["profile", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "truncated or corrupt" in result.output or "not a TFLite model" in result.output


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 40_000))
def test_random_bytes_never_crash_the_parser(noise: bytes, where: int):
    data = bytearray(KWS.read_bytes())
    data[where:where + len(noise)] = noise
    try:
        parse_tflite(bytes(data), "fuzzed.tflite")
    except ProblemError as exc:
        assert exc.problems[0].file == "fuzzed.tflite"


def test_not_a_model_and_unknown_board(tmp_path: Path):
    text = tmp_path / "notes.tflite"
    text.write_text("hello")
    assert runner.invoke(app, ["profile", str(text)]).exit_code == 2
    assert runner.invoke(app, ["profile", str(tmp_path / "missing.tflite")]).exit_code == 2
    result = runner.invoke(app, ["profile", str(KWS), "--board", "arduino-nano-33-ble-sens"])
    assert result.exit_code == 2 and "did you mean 'arduino-nano-33-ble-sense'?" in result.output


def test_profile_json_on_a_board_and_the_chart(tmp_path: Path):
    chart = tmp_path / "memory.svg"
    result = runner.invoke(app, ["profile", str(KWS), "--board", "arduino-nano-33-ble-sense", "--json",
                                 "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    from advisor.kb.schemas import validator
    assert not list(validator("profile").iter_errors(data))
    board = data["board"]
    assert board["kernel"] == "cmsis-nn" and 100 < board["latency_ms"] < 300
    assert board["ram_avail_kb"] == 256 and board["flash_kb"] > 46_096 / 1024
    svg = ET.fromstring(chart.read_text())
    rects = svg.findall("{http://www.w3.org/2000/svg}rect")
    assert len(rects) == len(data["operators"])
    assert "arduino-nano-33-ble-sense RAM 256 KB" in chart.read_text()


def test_advise_uses_the_profile_of_a_tflite_model(tmp_path: Path):
    from advisor.kb.load import load_kb
    from advisor.questionnaire.requirements import load_requirements
    from advisor.profile.basis import basis_for
    from advisor.solve.solver import solve
    req_file = tmp_path / "req.yaml"
    req_file.write_text(f"project: x\ntask: keyword-spotting\nmodel:\n  file: {KWS}\nsensors: [microphone]\n")
    kb = load_kb()
    sol = solve(req := load_requirements(req_file, kb), kb, basis_for(req, kb))
    assert sol.basis.source == "profile" and sol.basis.macs == load_model(KWS).macs
    assert sol.candidates[0].est["arena_kb"] == pytest.approx(load_model(KWS).plan.arena_bytes / 1024)


def test_profile_does_not_import_tensorflow():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom advisor.cli import app\n"
            f"r = CliRunner().invoke(app, ['profile', {str(KWS)!r}, '--board', 'esp32-s3-eye'])\n"
            "assert r.exit_code == 0, r.output\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_enum_tables_match_the_installed_schema():
    schema = pytest.importorskip("tflite_micro.tensorflow.lite.micro.python.schema_py_generated")
    from advisor.profile.tflite_enums import BUILTIN_OPS, TENSOR_TYPES
    ops = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    assert BUILTIN_OPS == ops
    assert {k: name for k, (name, _size) in TENSOR_TYPES.items()} == types


def test_a_non_finite_board_estimate_is_refused_not_printed(monkeypatch):
    import advisor.profile.model as model
    from advisor.kb.load import load_kb
    profile, kb = load_model(KWS), load_kb()
    assert model.on_board(profile, kb, "arduino-nano-33-ble-sense", None).latency_ms > 0
    monkeypatch.setattr(model, "model_latency_ms", lambda *a, **k: (float("inf"), ""))
    with pytest.raises(ProblemError, match=r"not a finite figure \(latency_ms, energy_mj\)"):
        model.on_board(profile, kb, "arduino-nano-33-ble-sense", None)


def test_the_reader_reports_what_was_written():
    sys.path.insert(0, str(Path(__file__).resolve().parent / "bad_inputs"))
    import builders
    graph = parse_tflite(builders.tflite_bytes(), "tiny.tflite")
    assert [t.shape for t in graph.tensors] == [(1, 4), (2, 4), (1, 2)]
    assert [(op.op, op.inputs, op.outputs) for op in graph.operators] == [("FULLY_CONNECTED", (0, 1, -1), (2,))]
    assert (graph.inputs, graph.outputs, graph.description) == ((0,), (2,), "tiny")
    assert [t.has_data for t in graph.tensors] == [False, True, False]
    from advisor.profile.model import profile_graph  # the optional -1 input is skipped, not read as tensor 2
    assert profile_graph(graph, "tiny.tflite").rows[0].input_bytes == 4


@pytest.mark.parametrize("fragment, message", [
    ({"inputs": [3]}, "subgraph 0: input 0 is tensor 3 of 3"),
    ({"operators": [{"opcode": 0, "inputs": [0, 1, -2], "outputs": [2]}]}, "reads tensor -2 of 3"),
    ({"buffers": [0, 0, 9, 0]}, "needs 8 bytes but buffer 2 holds 9"),
])
def test_off_by_one_indices_are_refused(fragment: dict, message: str):
    sys.path.insert(0, str(Path(__file__).resolve().parent / "bad_inputs"))
    import builders
    with pytest.raises(ProblemError) as info:
        parse_tflite(builders.tflite_bytes(**fragment), "tiny.tflite")
    assert info.value.problems[0].file == "tiny.tflite" and message in info.value.problems[0].message
