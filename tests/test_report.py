"""The checklist report as a person sees it: golden Markdown and JSON, HTML in a real headless browser."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb.load import load_kb
from advisor.kb.schemas import validator
from advisor.report.render import render_html, render_issue, render_json, render_markdown
from advisor.problems import ProblemError
from advisor.report.build import build_report
from advisor.report.runfiles import load_run
from advisor.questionnaire.requirements import load_requirements

from conftest import FIXTURES, ROOT

sys.path.insert(0, str(Path(__file__).resolve().parent / "bad_inputs"))
import builders  # noqa: E402

runner = CliRunner()
KB = load_kb()
EXAMPLE = ROOT / "examples" / "kws-battery.yaml"
GOLDEN = FIXTURES / "golden"
STEPS = ("framework-selection", "hardware-selection", "model-compression", "conversion-deployment", "mlops")


def report_for(path: Path) -> dict:
    if path == EXAMPLE:  # NOTE: read-only users share one build of the main example (the suite's time budget)
        return _example_report()
    return build_report(load_requirements(path, KB), KB)


@functools.lru_cache(maxsize=1)
def _example_report() -> dict:
    return build_report(load_requirements(EXAMPLE, KB), KB)


def _normalise(text: str) -> str:
    """The knowledge-base digest changes with every fact; the golden files pin everything else."""
    return text.replace(KB.digest, "<digest>").replace(KB.digest[:12], "<digest>")


RUN_FIXTURE = FIXTURES / "report-runs" / "digits-prune-int8"  # a real digits prune-int8 run, made once
DIGITS = ROOT / "examples" / "digits" / "requirements.yaml"


def run_report(tmp_path: Path) -> dict:
    """The digits report with the fixture run, read from a copy (its path is normalised in the goldens)."""
    shutil.copytree(RUN_FIXTURE, tmp_path / "run")
    return build_report(load_requirements(DIGITS, KB), KB, load_run(tmp_path / "run"))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> tuple[dict, Path]:
    """One digits report with the fixture run for the tests that only read it, and the run copy's folder."""
    tmp = tmp_path_factory.mktemp("digits-run")
    return run_report(tmp), tmp / "run"


def _check_golden(text: str, name: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), f"regenerate with UPDATE_GOLDEN=1 pytest {__file__} if the change is right"


@pytest.mark.parametrize("fmt, render", [("md", render_markdown), ("json", render_json), ("issue.md", render_issue)])
def test_golden_files(fmt: str, render):
    _check_golden(_normalise(render(report_for(EXAMPLE))), f"kws-battery.report.{fmt}")


@pytest.mark.parametrize("fmt, render", [("md", render_markdown), ("json", render_json), ("issue.md", render_issue)])
def test_golden_files_with_a_run(digits_run, fmt: str, render):
    report, run_dir = digits_run
    text = _normalise(render(report)).replace(str(run_dir), "<run>")
    _check_golden(text, f"digits-run.report.{fmt}")


@pytest.mark.parametrize("platform", ["arduino", "esp-idf", "zephyr"])
def test_project_skeletons_golden(platform: str):
    from advisor.run.steps.export import project_files

    firmware = {n: (RUN_FIXTURE / "firmware" / n).read_text() for n in ("model_data.h", "model_data.cc", "main.cc")}
    files = project_files(platform, firmware, "Digit reader <for> a meter\n# display")
    copied = {rel for rel, text in files.items() if text in firmware.values()}
    assert {rel.rsplit("/", 1)[-1].split(".")[0] for rel in copied} == {"model_data", "benchmark"} \
        if platform == "arduino" else {"model_data", "main"}
    for rel, text in sorted(files.items()):
        if rel not in copied:
            assert "<for>" not in text and "# display" not in text  # the project name cannot break a build file
            assert "for Digit reader for a meter display:" in text or "for " not in text.splitlines()[0]
            _check_golden(text, f"firmware/{platform}/{rel}")


def test_every_example_renders_all_formats(tmp_path: Path):
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        result = runner.invoke(app, ["report", str(example), "-o", str(tmp_path / example.stem)])
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines()[-1].endswith("report.html")
        data = json.loads((tmp_path / example.stem / "report.json").read_text())
        assert [s["id"] for s in data["steps"]] == list(STEPS)
        errors = [e.message for e in validator("report").iter_errors(data)]
        assert not errors, (example.name, errors[:3])


def test_user_text_is_escaped(tmp_path: Path):
    evil = tmp_path / "evil.yaml"
    evil.write_text(EXAMPLE.read_text().replace("project: Wake-word sensor for a battery-powered light switch",
                                                "project: \"<script>alert('x')</script> & <b>bold</b>\""))
    report = report_for(evil)
    html = render_html(report)
    assert "<script" not in html and "&lt;script&gt;alert(" in html and "<b>bold" not in html
    md = render_markdown(report)
    assert "<script>" not in md and "&lt;script&gt;" in md


EVIL = "<script>alert('x')</script>"


def test_run_fields_are_escaped_in_markdown_and_html_and_plain_in_json(tmp_path: Path):
    builders.run_folder(tmp_path / "run", status="failed", set={
        "run_id": EVIL, "recipe.id": "<b>int8</b>", "steps.0.id": "lo|ad\n# injected heading",
        "failure": {"step": "<i>convert</i>", "reason": f"boom {EVIL}"}})
    report = build_report(load_requirements(EXAMPLE, KB), KB, load_run(tmp_path / "run"))
    md = render_markdown(report)
    assert "<script" not in md and "<b>" not in md and "<i>" not in md
    assert "## Run &lt;script&gt;alert('x')&lt;/script&gt;: failed" in md
    assert "| lo\\|ad # injected heading | ok | 1.5 |" in md  # one cell, on its own row
    assert "\n# injected" not in md
    html = render_html(report)
    assert "<script" not in html and "<b>int8" not in html and "&lt;script&gt;alert(" in html
    data = json.loads(render_json(report))
    assert data["run"]["id"] == EVIL and data["run"]["failure"]["reason"] == f"boom {EVIL}"


def test_a_running_run_is_shown_as_incomplete(tmp_path: Path):
    builders.run_folder(tmp_path / "run", status="running")
    assert not (tmp_path / "run" / "metrics.json").exists()
    run = load_run(tmp_path / "run")
    assert run["complete"] is False and run["metrics"] == {} and run["tflite"] is None  # convert still running
    report = build_report(load_requirements(EXAMPLE, KB), KB, run)
    assert report["run"]["complete"] is False
    assert "(incomplete)" in render_markdown(report) and "(incomplete)" in render_html(report)
    methods = {m["text"]: m["done"] for s in report["steps"] for m in s["methods"]}
    assert not any(done for text, done in methods.items() if "onvert" in text)


def test_a_run_whose_process_died_is_incomplete_with_the_reason(tmp_path: Path):
    import socket

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)
    builders.run_folder(tmp_path / "run", status="running", set={
        "process": {"pid": dead, "host": socket.gethostname(), "boot_id": None, "start_ticks": None}})
    run = load_run(tmp_path / "run")
    assert (run["complete"], run["state"]) == (False, "incomplete") and f"process {dead} is gone" in run["state_reason"]
    md = render_markdown(build_report(load_requirements(EXAMPLE, KB), KB, run))
    assert f"This run has not finished: the run stopped without finishing during step 'convert': its process {dead}" in md


def test_a_finished_run_is_complete_and_its_model_profiled(tmp_path: Path):
    builders.run_folder(tmp_path / "run")
    run = load_run(tmp_path / "run")
    assert run["complete"] is True and run["tflite"] is not None
    report = build_report(load_requirements(EXAMPLE, KB), KB, run)
    assert report["run"]["complete"] is True and report["model"]["source"] == "profile"
    assert "(incomplete)" not in render_markdown(report)


def test_a_measurement_that_was_not_a_number_is_said_so(tmp_path: Path):
    builders.run_folder(tmp_path / "run", set_metrics={"tflite.accuracy": None, "tflm.accuracy": None})
    report = build_report(load_requirements(EXAMPLE, KB), KB, load_run(tmp_path / "run"))
    md = render_markdown(report)
    assert "accuracy not a number" in md and "validated in the tflite-micro host interpreter (not on the target): not a number" in md
    assert "TFLite Micro" not in report["charts"]["accuracy"] and "float Keras" in report["charts"]["accuracy"]


def test_hand_edited_manifest_names_line_and_path(tmp_path: Path):
    builders.run_folder(tmp_path / "run", set={"recipe.steps.1.requires": "load"})
    with pytest.raises(ProblemError) as info:
        load_run(tmp_path / "run")
    (problem,) = info.value.problems
    text = (tmp_path / "run" / "manifest.json").read_text().splitlines()
    assert problem.path == "$.recipe.steps[1].requires" and "expected array" in problem.message
    assert '"requires": "load"' in text[problem.line - 1]


def test_fail_on_gates_ci(tmp_path: Path):
    worst = report_for(EXAMPLE)["worst_severity"]
    assert worst == "medium"
    medium = runner.invoke(app, ["report", str(EXAMPLE), "-o", str(tmp_path), "--fail-on", "medium"])
    assert medium.exit_code == 1 and "risks at or above medium fired" in medium.output
    assert runner.invoke(app, ["report", str(EXAMPLE), "-o", str(tmp_path), "--fail-on", "high"]).exit_code == 0
    bad = runner.invoke(app, ["report", str(EXAMPLE), "-o", str(tmp_path), "--fail-on", "hihg"])
    assert bad.exit_code == 2 and "did you mean 'high'?" in bad.output
    assert runner.invoke(app, ["report", str(EXAMPLE), "--run", str(tmp_path / "nope")]).exit_code == 2


# --- the numbers that decide, and honest status ---------------------------------------------------------------

def test_a_run_report_has_every_section_in_json_against_the_schema(digits_run):
    report, run_dir = digits_run
    data = json.loads(render_json(report))
    assert not [e.message for e in validator("report").iter_errors(data)]
    assert [p["step"] for p in data["compression_path"]] == ["load", "prune", "convert", "convert", "tflm"]
    assert data["compression_path"][1]["accuracy"] == data["run"]["metrics"]["keras"]["accuracy"]
    arena = data["arena"]
    tflm = data["run"]["metrics"]["tflm"]
    assert arena["measured_bytes"] == tflm["arena_bytes"] and arena["firmware_bytes"] % 1024 == 0
    assert arena["firmware_bytes"] >= arena["measured_bytes"] * 1.1 and arena["firmware_margin_pct"] == 10.0
    header = (run_dir / "firmware" / "model_data.h").read_text()
    assert f"kTensorArenaSize = {arena['firmware_bytes']};" in header  # the firmware's figure, as written
    assert len(data["layers"]) == 8 and abs(sum(r["est_ms"] for r in data["layers"]) -
                                             data["recommendation"]["estimates"]["latency_ms"]) < 0.01
    score = data["ranking"]["rows"][0]
    assert abs(sum(v for v in score["terms"].values() if v is not None) - score["score"]) < 0.005
    assert data["next_steps"]["record"][0]["host"] == tflm["checksum"]
    # one project skeleton per platform the recommended board runs (arduino, esp-idf or zephyr among its os)
    board = data["recommendation"]["board"]
    platforms = {p.split("/")[1] for p in data["projects"]}
    assert platforms and platforms <= set(load_kb().boards[board].os) & {"arduino", "esp-idf", "zephyr"}, platforms


def test_status_says_what_was_proved_where(digits_run):
    report = digits_run[0]
    items = {m["text"]: m for s in report["steps"] for m in s["methods"]}
    host = items["Test and validate in the TFLite Micro host interpreter"]
    assert host["status"] == "proved" and "540 test samples" in host["evidence"]
    assert items["Test and validate accuracy, latency and memory on the target board"]["status"] == "todo"
    assert items["Model versioning"]["status"] == "proved" and "216a6f257999" in items["Model versioning"]["evidence"]
    assert items["Compare energy per inference and sleep power against the power budget"]["status"] == "estimated"
    md = render_markdown(report)
    assert "done by the tool" not in md and "on the target — done" not in md
    assert "not on the target" in md and "**proved here**" in md and "**estimated**" in md


def test_wording_follows_the_questionnaire_and_the_recipe(tmp_path: Path):
    md = render_markdown(report_for(DIGITS))  # the questionnaire says nothing about power
    assert "mains powered" not in md and "power: not stated in the questionnaire" in md
    assert " 1 feasible stacks" not in md
    builders.run_folder(tmp_path / "run", set={"recipe.quantization": "float32", "recipe.id": "float32"})
    report = build_report(load_requirements(EXAMPLE, KB), KB, load_run(tmp_path / "run"))
    md = render_markdown(report)
    assert "compressed model" not in md and "converted model (float32, weights not quantized to int8)" in md
    items = {m["text"]: m for s in report["steps"] for m in s["methods"]}
    assert items["Quantization (post-training or quantization-aware training)"]["status"] == "todo"


def test_harness_fills_the_input_type_of_the_model():
    from types import SimpleNamespace

    from advisor.run.steps.export import harness_source

    def model(dtype: str):
        return SimpleNamespace(ops=("FULLY_CONNECTED",), inputs=[{"shape": [1, 4], "dtype": dtype}],
                               outputs=[{"shape": [1, 2], "dtype": dtype}])

    floating = harness_source(model("FLOAT32"), "0x01234567")
    assert "input->data.f[i] = static_cast<float>(pattern(i)) / 128.0f;" in floating and "data.int8" not in floating
    assert "(host 0x01234567)" in floating and "output->data.f[i] * 1e6f" in floating
    integer = harness_source(model("INT8"), None)
    assert "input->data.int8[i] = static_cast<int8_t>(pattern(i));" in integer and "(host not measured)" in integer
    for text in (floating, integer):
        assert "arena_used_bytes()" in text and "0xE0001004u" in text and "esp_timer_get_time()" in text


def test_host_checksum_is_that_of_the_fixed_input(tmp_path: Path):
    """The TFLM child's checksum for the fixture run's model is the one its metrics recorded."""
    pytest.importorskip("tflite_micro")
    import numpy as np

    from advisor.run.tflm_child import checksum, fixed_input

    np.save(tmp_path / "in.npy", np.zeros((1, 8, 8, 1), dtype=np.int8))
    proc = subprocess.run([sys.executable, "-m", "advisor.run.tflm_child", str(RUN_FIXTURE / "model.tflite"), "--eval",
                           str(tmp_path / "in.npy"), str(tmp_path / "out.npy")], capture_output=True, text=True,
                          timeout=120)
    verdict = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    recorded = json.loads((RUN_FIXTURE / "metrics.json").read_text())["tflm"]
    assert verdict["checksum"] == recorded["checksum"] and verdict["fixed_output"] == recorded["fixed_output"]
    assert fixed_input((3,), np.dtype("int8")).tolist() == [-121, -90, -59]  # ((31 i + 7) mod 256) - 128
    assert checksum(np.zeros(0, np.int8)) == "0x811c9dc5"  # FNV-1a offset basis


def test_issue_format_lists_only_the_open_items(tmp_path: Path, digits_run):
    result = runner.invoke(app, ["report", str(DIGITS), "-o", str(tmp_path / "out"), "--format", "issue"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "report-issue.md").read_text()
    assert [ln for ln in text.splitlines() if ln.startswith("### ")] == [
        f"### {s.step}. {s.title}" for s in sorted(KB.guideline.values(), key=lambda s: s.step)]
    tasks = [ln for ln in text.splitlines() if ln.startswith("- ")]
    assert tasks and all(ln.startswith("- [ ] ") for ln in tasks)
    assert "Continuous monitoring" in text and "Data versioning" in text and "Model versioning" in text
    issue = render_issue(digits_run[0])
    assert "Model versioning" not in issue and "on the target board" in issue and "- [x]" not in issue


def test_budget_and_energy_fall_back_to_the_older_estimates():
    """Without advise's ram_parts_kb / power_parts_mw, the arena and runtime are the only RAM parts and the rest
    is said to be unknown; energy comes from energy_mj and the board's active power."""
    from advisor.report import numbers

    req = load_requirements(EXAMPLE, KB)
    board = KB.boards["sparkfun-edge"]
    rec = {"board": board.id, "estimates": {"ram_kb": 30.0, "arena_kb": 20.0, "ram_avail_kb": 384.0, "flash_kb": 70.0,
                                            "model_flash_kb": 50.0, "flash_avail_kb": 1024.0, "latency_ms": 100.0,
                                            "energy_mj": 0.095, "avg_power_mw": 0.095, "battery_days": 0.0}}
    budget = numbers.memory_budget(rec, board)
    assert [p["kb"] for p in budget["ram"]["parts"]] == [20.0, 10.0, None, None, None, None]
    assert budget["ram"]["left_kb"] == 354.0 and "not counted" in budget["ram"]["left_note"]
    assert budget["flash"]["left_kb"] == 954.0
    energy = numbers.energy(rec, req, board)
    assert energy["energy_mj"] == 0.095 and energy["battery_days"] is None
    assert energy["parts_mw"]["inference"] == pytest.approx(board.power.active_mw * 0.1)
    assert "sensor power" in energy["missing"] and "radio power" in energy["missing"]
    rec["estimates"]["ram_parts_kb"] = {"arena": 20.0, "runtime": 4.0, "buffers": 1.0, "stack": 2.0, "os": None,
                                        "radio": 6.0}
    rec["estimates"]["ram_left_kb"] = 351.0
    budget = numbers.memory_budget(rec, board)
    assert budget["ram"]["left_kb"] == 351.0 and budget["ram"]["unknown"] == ["os"]


def test_device_plan_and_skeletons_follow_the_board(tmp_path: Path):
    """An ESP32-S3 board gets the ESP-IDF project (and its other platforms), esp_timer and its IDF target."""
    from advisor.report import nextsteps, numbers

    shutil.copytree(RUN_FIXTURE, tmp_path / "run")
    run = load_run(tmp_path / "run")
    board = KB.boards["esp32-s3-eye"]
    rec = {"board": board.id, "estimates": {"latency_ms": 5.0}}
    plan = nextsteps.plan(board, run, rec, numbers.arena(None, run, rec | {"estimates": {"arena_kb": 6.0}}))
    assert "esp-idf" in plan["platforms"] and plan["timer"].startswith("esp_timer_get_time()")
    assert any("idf.py set-target esp32s3" in s for s in plan["steps"])
    assert plan["record"][0]["host"] == run["metrics"]["tflm"]["checksum"]
    files = nextsteps.projects(board, run, "x")
    assert "firmware/esp-idf/main/main.cc" in files and "firmware/esp-idf/main/idf_component.yml" in files
    assert files["firmware/esp-idf/main/main.cc"] == (tmp_path / "run" / "firmware" / "main.cc").read_text()
    assert {p.split("/")[1] for p in files} == set(plan["platforms"])
    m0 = next(b for b in KB.boards.values() if b.mcu.main_core.core == "cortex-m0plus")
    assert "no DWT cycle counter" in nextsteps.timer_for(m0)
