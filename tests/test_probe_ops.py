"""kb probe-ops against the real tflite-micro interpreter (slow: builds models with TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()

SAMPLE = "CONV_2D,DEPTHWISE_CONV_2D,FULLY_CONNECTED,SOFTMAX,AVERAGE_POOL_2D,ADD,RESHAPE"


def test_shipped_claims_agree_with_runtime_on_a_sample():
    result = runner.invoke(app, ["kb", "probe-ops", "--ops", SAMPLE, "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 0, report
    assert report["summary"]["disagrees"] == 0
    agreed = {(r["op"], r["dtype"]) for r in report["results"] if r["status"] == "agrees"}
    assert ("CONV_2D", "int8") in agreed and ("SOFTMAX", "int8") in agreed
    assert report["runtime"].startswith("tflite-micro ")


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
    result = runner.invoke(app, ["kb", "probe-ops", "--framework", "arm-vela"])
    assert result.exit_code == 2 and "the installed runtime is tflite-micro" in result.output
