"""The kb commands as a user runs them: exit codes, messages, JSON, and no TensorFlow import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from advisor.cli import app

from conftest import FIXTURES

runner = CliRunner()
MINIMAL = str(FIXTURES / "kb-minimal")


def test_validate_ok_on_fixture():
    result = runner.invoke(app, ["kb", "validate", MINIMAL])
    assert result.exit_code == 0, result.output
    assert "knowledge base OK: 12 files (guideline-steps: 5, boards: 1" in result.output


def test_validate_json():
    result = runner.invoke(app, ["kb", "validate", MINIMAL, "--json"])
    data = json.loads(result.output)
    assert data["ok"] is True and data["counts"]["board"] == 1 and len(data["digest"]) == 64


def test_validate_bad_kb_exits_2_with_lines_and_no_traceback(minimal_kb: Path):
    (minimal_kb / "boards" / "demo-board.yaml").write_text("id: demo-board\nname: [oops\n")
    result = runner.invoke(app, ["kb", "validate", str(minimal_kb)])
    assert result.exit_code == 2
    assert "demo-board.yaml:3: invalid YAML" in result.output
    assert "Traceback" not in result.output and "1 problem found" in result.output


def test_validate_missing_folder_exits_2(tmp_path: Path):
    result = runner.invoke(app, ["kb", "validate", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such knowledge-base folder" in result.output


def test_list_and_show():
    result = runner.invoke(app, ["kb", "list", "boards", "-k", MINIMAL])
    assert result.exit_code == 0 and "demo-board" in result.output and "DEMO-M4F" in result.output
    result = runner.invoke(app, ["kb", "list", "frameworks", "-k", MINIMAL, "--json"])
    assert json.loads(result.output)[0]["id"] == "demo-runtime"
    result = runner.invoke(app, ["kb", "show", "demo-board", "-k", MINIMAL])
    assert result.exit_code == 0 and "sram_kb: 256" in result.output and "sources:" in result.output
    result = runner.invoke(app, ["kb", "show", "demo-board", "-k", MINIMAL, "--json"])
    assert json.loads(result.output)["class"] == "mcu"


def test_unknown_kind_and_id_suggest():
    result = runner.invoke(app, ["kb", "list", "bords", "-k", MINIMAL])
    assert result.exit_code == 2 and "did you mean 'boards'" in result.output
    result = runner.invoke(app, ["kb", "show", "demo-bord", "-k", MINIMAL])
    assert result.exit_code == 2 and "did you mean 'demo-board'" in result.output


def test_kb_advise_init_and_report_do_not_import_tensorflow(tmp_path: Path):
    example = Path(__file__).resolve().parent.parent / "examples" / "kws-battery.yaml"
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from advisor.cli import app\n"
        "r = CliRunner()\n"
        f"for args in (['kb', 'validate'], ['kb', 'list', 'boards'], ['kb', 'show', 'tflite-micro'],\n"
        f"             ['advise', {str(example)!r}, '--why-not', 'esp-dl', '--pareto', '--json'],\n"
        f"             ['init', {str(tmp_path / 'q.yaml')!r}],\n"
        f"             ['report', {str(example)!r}, '-o', {str(tmp_path / 'report')!r}]):\n"
        "    res = r.invoke(app, args)\n"
        "    assert res.exit_code == 0, res.output\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras', 'tflite_micro'))\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_advise_pins_board_framework_recipe_and_explains_an_unusable_pin():
    run = CliRunner()
    example = str(Path(__file__).resolve().parent.parent / "examples" / "kws-battery.yaml")
    pinned = run.invoke(app, ["advise", example, "--framework", "st-edge-ai", "--recipe", "int8-ptq", "--json"])
    assert pinned.exit_code == 0, pinned.output
    data = json.loads(pinned.output)
    assert data["pins"] == {"framework": "st-edge-ai", "recipe": "int8-ptq"}
    assert data["recommendations"] and all(r["framework"] == "st-edge-ai" and r["recipe"] == "int8-ptq"
                                           for r in data["recommendations"])
    assert [r["rank"] for r in data["recommendations"]] == list(range(1, len(data["recommendations"]) + 1))
    unusable = run.invoke(app, ["advise", example, "--board", "arduino-uno-r3", "--json"])
    assert unusable.exit_code == 1
    why = json.loads(unusable.output)["why_not"]
    assert [w["id"] for w in why] == ["arduino-uno-r3"] and why[0]["own"]
    typo = run.invoke(app, ["advise", example, "--board", "arduino-uno"])
    assert typo.exit_code == 2 and "did you mean 'arduino-uno-r3'?" in typo.output
