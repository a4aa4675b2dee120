"""`init` writes a valid commented template; `ask` interviews and writes a valid questionnaire."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb.load import load_kb
from advisor.questionnaire.requirements import TASK_INPUT, load_requirements
from advisor.kb.schemas import schema

runner = CliRunner()
KB = load_kb()


@pytest.mark.parametrize("task", sorted(set(TASK_INPUT) - {"other"}))
def test_init_template_loads_for_every_task(tmp_path: Path, task: str):
    path = tmp_path / "req.yaml"
    result = runner.invoke(app, ["init", str(path), "--task", task, "--project", "Shop <sensor>: 'v2'"])
    assert result.exit_code == 0, result.output
    req = load_requirements(path, KB)
    assert req.task == task and req.project == "Shop <sensor>: 'v2'"
    assert runner.invoke(app, ["advise", str(path), "--json"]).exit_code in (0, 1)


def test_init_mentions_every_questionnaire_field(tmp_path: Path):
    path = tmp_path / "req.yaml"
    runner.invoke(app, ["init", str(path)])
    text = path.read_text()
    for key in schema("requirements")["properties"]:
        assert f"{key}:" in text, key


def test_init_refuses_to_overwrite(tmp_path: Path):
    path = tmp_path / "req.yaml"
    path.write_text("keep me")
    result = runner.invoke(app, ["init", str(path)])
    assert result.exit_code == 2 and "already exists" in result.output and path.read_text() == "keep me"
    assert runner.invoke(app, ["init", str(tmp_path / "x.yaml"), "--task", "kws"]).exit_code == 2


def test_ask_writes_what_was_answered(tmp_path: Path):
    path = tmp_path / "asked.yaml"
    answers = [
        "Door sensor",          # project
        "visual-wake-words",    # task
        "",                     # input: default image
        "2",                    # classes
        "2",                    # accuracy drop
        "500",                  # latency
        "2",                    # inferences/s
        "0", "0",               # RAM, flash budgets
        "1000", "180",          # battery, lifetime
        "60",                   # cost
        "camera, gass",         # sensors: a typo is asked again
        "camera",
        "microphone",           # added off the board
        "wifi",                 # connectivity
        "esp32-s3-ey",          # board typo: asked again
        "esp32-s3-eye", "prefer",
        "esp-d",                # framework typo: asked again
        "esp-dl", "prefer",
        "3.1",                  # its release
        "no",                   # retraining not allowed
        "cpp", "rtos", "labelled",
    ]
    result = runner.invoke(app, ["ask", str(path)], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "unknown: gass" in result.output and "did you mean 'esp32-s3-eye'?" in result.output
    data = yaml.safe_load(path.read_text())
    assert data["sensors"] == ["camera"] and data["hardware"] == {"board": "esp32-s3-eye", "mode": "prefer"}
    req = load_requirements(path, KB)
    assert req.task == "visual-wake-words" and req.input_kind == "image" and req.battery_mah == 1000.0
    assert req.latency_budget_ms == 500.0 and req.existing_board == "esp32-s3-eye"
    assert "did you mean 'esp-dl'?" in result.output and data["framework"] == {"id": "esp-dl", "mode": "prefer",
                                                                          "version": "3.1"}
    assert data["retraining"] is False and req.post_training_only and req.framework == "esp-dl"
    assert not req.force_framework and req.external_sensors == ("microphone",) and req.framework_version == "3.1"
