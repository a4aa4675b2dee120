"""The checklist report as a person sees it: golden Markdown and JSON, HTML in a real headless browser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb.load import load_kb
from advisor.report.render import render_html, render_json, render_markdown
from advisor.report.build import build_report
from advisor.questionnaire.requirements import load_requirements

from conftest import FIXTURES, ROOT

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


def test_fail_on_gates_ci(tmp_path: Path):
    worst = report_for(EXAMPLE)["worst_severity"]
    assert worst == "high"
    high = runner.invoke(app, ["report", str(EXAMPLE), "-o", str(tmp_path), "--fail-on", "high"])
    assert high.exit_code == 1 and "risks at or above high fired" in high.output
    assert runner.invoke(app, ["report", str(EXAMPLE), "-o", str(tmp_path), "--fail-on", "critical"]).exit_code == 0
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
    assert dom.count('class="risk high"') >= 1 and "Personal data and a radio" in dom
    assert 'id="chart-memory"' in dom and dom.count("<svg") >= 1
    shot = tmp_path / "report.png"
    subprocess.run(_browser(chromium, tmp_path) + [f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000
    if os.environ.get("REPORT_SCREENSHOT_DIR"):  # CI keeps the screenshot for people to look at
        keep = Path(os.environ["REPORT_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / "report.png")
