"""kb probe-ops against the real tflite-micro interpreter (slow ones build models with TensorFlow).

The full probe of every claim is ``tinyml-advisor kb probe-ops`` (or ``bench/probe_coverage.py``);
here a sample covers each way a one-op model is made: int8 / 16x8 / float32 conversion, raw int32
and bool inputs, a raw-int16 fallback, resource variables, control flow, an unknown batch size, and
models edited after conversion.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb.cache import load_cached
from advisor.run.opbuilders import plans_for
from advisor.run.probe import PROBED_DTYPES

runner = CliRunner()

SAMPLE = ("CONV_2D,FULLY_CONNECTED,SOFTMAX,EQUAL,LOGICAL_AND,QUANTIZE,SVDF,VAR_HANDLE,WHILE,EXPAND_DIMS,"
          "SELECT_V2")


@pytest.mark.slow
def test_shipped_claims_agree_with_runtime_on_a_sample():
    result = runner.invoke(app, ["kb", "probe-ops", "--ops", SAMPLE, "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 0, report
    assert report["summary"]["disagrees"] == 0 and report["summary"]["not-probed"] == 0, report["summary"]
    how = {(r["op"], r["dtype"]): r["method"] for r in report["results"] if r["status"] == "agrees"}
    assert how[("CONV_2D", "int8")] == "full-integer int8"
    assert how[("CONV_2D", "int16")].startswith("16x8")
    assert how[("EQUAL", "int32")] == how[("LOGICAL_AND", "bool")].replace("bool", "int32")
    assert how[("SELECT_V2", "int16")] == "int16 input tensors, not quantized"  # no 16x8 SELECT_V2 in TF
    assert how[("SVDF", "int8")].startswith("converted model edited")
    assert how[("QUANTIZE", "float32")] == "full-integer int8 with float input"
    assert {("VAR_HANDLE", "int8"), ("WHILE", "int8"), ("EXPAND_DIMS", "float32")} <= how.keys()
    assert report["runtime"].startswith("tflite-micro ") and report["summary"]["probed_percent"] == 100.0


@pytest.mark.slow
def test_a_false_claim_is_reported_as_disagreement(minimal_kb: Path):
    """The fixture framework stands in for TFLM; SQRT has no int8 kernel in TFLM."""
    fw = minimal_kb / "frameworks" / "demo-runtime.yaml"
    ops = minimal_kb / "operators" / "demo-runtime-ops.yaml"
    # Reuse the fixture under the real framework id so the probe accepts it.
    fw.rename(fw.with_name("tflite-micro.yaml"))
    (minimal_kb / "frameworks" / "tflite-micro.yaml").write_text(
        (minimal_kb / "frameworks" / "tflite-micro.yaml").read_text()
        .replace("id: demo-runtime", "id: tflite-micro").replace("operators: demo-runtime-ops", "operators: tflm-ops"))
    ops.rename(ops.with_name("tflm-ops.yaml"))
    text = (minimal_kb / "operators" / "tflm-ops.yaml").read_text()
    text = text.replace("id: demo-runtime-ops", "id: tflm-ops").replace("framework: demo-runtime", "framework: tflite-micro")
    text = text.replace("  - {name: SOFTMAX, dtypes: [int8]}", "  - {name: SOFTMAX, dtypes: [int8]}\n  - {name: SQRT, dtypes: [int8]}")
    (minimal_kb / "operators" / "tflm-ops.yaml").write_text(text)
    for path in minimal_kb.rglob("*.yaml"):
        path.write_text(path.read_text().replace("[demo-runtime]", "[tflite-micro]"))
    result = runner.invoke(app, ["kb", "probe-ops", "-k", str(minimal_kb), "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    bad = [r for r in report["results"] if r["status"] == "disagrees"]
    assert [(r["op"], r["dtype"]) for r in bad] == [("SQRT", "int8")]
    assert {(r["op"], r["dtype"]) for r in report["results"] if r["status"] == "agrees"} == \
        {("CONV_2D", "int8"), ("SOFTMAX", "int8")}


def test_probe_rejects_a_framework_without_runtime():
    pytest.importorskip("tflite_micro")  # without the ml extra the command stops earlier, at the install hint
    result = runner.invoke(app, ["kb", "probe-ops", "--framework", "arm-vela"])
    assert result.exit_code == 2 and "the installed runtime is tflite-micro" in result.output


def test_every_shipped_tflm_claim_has_a_model_plan():
    """Coverage cannot silently drop: each claimed (op, dtype) has a builder, a fallback or an edit."""
    kb = load_cached()[0]
    claims = [(op.name, d) for op in kb.operator_sets["tflite-micro-ops"].ops for d in op.dtypes]
    assert {d for _op, d in claims} <= set(PROBED_DTYPES)
    assert [c for c in claims if not plans_for(*c)] == []


def test_plans_name_how_the_model_is_made():
    assert plans_for("NO_SUCH_OP", "int8") == []
    assert plans_for("SVDF", "int8")[0].edit == "svdf-int8"
    assert [p.typed for p in plans_for("GREATER", "int32")] == ["int32"]
    assert [(p.quantize, p.typed) for p in plans_for("SELECT_V2", "int16")] == [("int16", None), (None, "int16")]
    assert plans_for("CAST", "int8")[0].quantize is None  # CAST on int8 means an int8 tensor, not a quantized graph


def test_every_edit_names_a_base_builder_and_says_why():
    from advisor.run.opbuilders import BUILDERS, EDIT_BASES
    from advisor.run.opedits import EDITS

    for name, edit in EDITS.items():
        assert edit.base in BUILDERS or edit.base in EDIT_BASES, name
        assert edit.why and all(plans_for(*claim)[0].edit == name for claim in edit.makes), name
