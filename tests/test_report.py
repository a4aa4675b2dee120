"""The checklist report as a person sees it: golden Markdown and JSON, HTML in a real headless browser."""

from __future__ import annotations

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
from advisor.report.render import render_html, render_json, render_markdown
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
    return build_report(load_requirements(path, KB), KB)


def _normalise(text: str) -> str:
    """The knowledge-base digest changes with every fact; the golden files pin everything else."""
    return text.replace(KB.digest, "<digest>").replace(KB.digest[:12], "<digest>")


@pytest.mark.parametrize("fmt, render", [("md", render_markdown), ("json", render_json)])
def test_golden_files(fmt: str, render):
    text = _normalise(render(report_for(EXAMPLE)))
    golden = GOLDEN / f"kws-battery.report.{fmt}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"regenerate with UPDATE_GOLDEN=1 pytest {__file__} if the change is right"


def test_every_example_renders_all_formats(tmp_path: Path):
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        result = runner.invoke(app, ["report", str(example), "-o", str(tmp_path / example.stem)])
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines()[-1].endswith("report.html")
        data = json.loads((tmp_path / example.stem / "report.json").read_text())
        assert [s["id"] for s in data["steps"]] == list(STEPS)


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
    assert "accuracy not a number" in md and "validated in tflite-micro: not a number" in md
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


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it")
        pytest.skip("chromium not installed (CI installs it)")
    return path


def _browser(chromium: str, tmp_path: Path) -> list[str]:
    return [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}"]


def page_requests(chromium: str, page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The page's DOM after loading, and every non-file URL the page itself asked for (from Chromium's
    net log; the browser's own background requests carry no file:// isolation key and are left out)."""
    netlog = tmp_path / f"{page.stem}.netlog.json"
    dom = subprocess.run(_browser(chromium, tmp_path) + [f"--log-net-log={netlog}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = [e["params"]["url"] for e in log["events"] if e["type"] == start
            and str(e["params"].get("network_isolation_key", "")).startswith("file://")]
    return dom, sorted(u for u in urls if not u.startswith("file:"))


def test_html_in_a_headless_browser(tmp_path: Path):
    chromium = _chromium()
    control = tmp_path / "control.html"  # the check must see a request when there is one
    control.write_text('<html><body><img src="https://example.invalid/pixel.png"></body></html>')
    assert page_requests(chromium, control, tmp_path)[1] == ["https://example.invalid/pixel.png"]
    result = runner.invoke(app, ["report", str(EXAMPLE), "-o", str(tmp_path), "--format", "html"])
    assert result.exit_code == 0, result.output
    page = tmp_path / "report.html"
    dom, external = page_requests(chromium, page, tmp_path)
    assert not external, f"the page requested {external}"
    for step in STEPS:
        assert f'id="step-{step}"' in dom
    assert dom.count('class="risk medium"') >= 1 and "Personal data on a device with a data link" in dom
    assert 'id="chart-memory"' in dom and dom.count("<svg") >= 1
    shot = tmp_path / "report.png"
    subprocess.run(_browser(chromium, tmp_path) + [f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000
    if os.environ.get("REPORT_SCREENSHOT_DIR"):  # CI keeps the screenshot for people to look at
        keep = Path(os.environ["REPORT_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / "report.png")
