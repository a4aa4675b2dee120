"""The HTML report in a real headless browser (Debian's chromium): no external request, every section in the
DOM, a screenshot that is not blank -- for an example without a run and one with a run. CI keeps the
screenshots (REPORT_SCREENSHOT_DIR, build/ci-artifacts/ in .ci/run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app

from conftest import FIXTURES, ROOT

runner = CliRunner()
STEPS = ("framework-selection", "hardware-selection", "model-compression", "conversion-deployment", "mlops")
# Sections every report with a recommendation has, and those only a run adds.
SECTIONS = ("recommendation", "ranking", "arena", "memory-budget", "energy", "next-steps", "risks")
RUN_SECTIONS = ("run", "compression-path", "layers", "chart-accuracy", "chart-layers", "layer-table")


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


def _screenshot(chromium: str, page: Path, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / f"{name}.png"
    subprocess.run(_browser(chromium, tmp_path) + [f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a blank page compresses to a few KB
    if os.environ.get("REPORT_SCREENSHOT_DIR"):  # CI keeps the screenshot for people to look at
        keep = Path(os.environ["REPORT_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / shot.name)
    return shot


def test_the_check_sees_a_request_when_there_is_one(tmp_path: Path):
    chromium = _chromium()
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="https://example.invalid/pixel.png"></body></html>')
    assert page_requests(chromium, control, tmp_path)[1] == ["https://example.invalid/pixel.png"]


@pytest.mark.parametrize("case", ["kws-battery", "digits-with-run"])
def test_html_in_a_headless_browser(tmp_path: Path, case: str):
    chromium = _chromium()
    if case == "kws-battery":
        args = [str(ROOT / "examples" / "kws-battery.yaml")]
    else:
        shutil.copytree(FIXTURES / "report-runs" / "digits-prune-int8", tmp_path / "run")
        args = [str(ROOT / "examples" / "digits" / "requirements.yaml"), "--run", str(tmp_path / "run")]
    result = runner.invoke(app, ["report", *args, "-o", str(tmp_path / "out"), "--format", "html"])
    assert result.exit_code == 0, result.output
    dom, external = page_requests(chromium, tmp_path / "out" / "report.html", tmp_path)
    assert not external, f"the page requested {external}"
    for step in STEPS:
        assert f'id="step-{step}"' in dom
    for section in SECTIONS + (RUN_SECTIONS if case != "kws-battery" else ()):
        assert f'id="{section}"' in dom, section
    assert 'id="chart-memory"' in dom and 'id="chart-budget"' in dom and dom.count("<svg") >= 2
    assert 'class="status proved"' in dom if case != "kws-battery" else 'class="status estimated"' in dom
    if case == "kws-battery":
        assert dom.count('class="risk medium"') >= 1 and "Personal data on a device with a data link" in dom
    else:
        assert "Test and validate in the TFLite Micro host interpreter" in dom and "on the target board" in dom
    _screenshot(chromium, tmp_path / "out" / "report.html", tmp_path, f"report-{case}")
