"""The bad-input table: every case in tests/bad_inputs/*.yaml, run as a real process.

Each case must exit with its code, say its fragment, and never print a traceback (nor an internal
error, exit 3). Cases are data; see tests/bad_inputs/README.md for the format.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent / "bad_inputs"
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import builders  # noqa: E402

MAKERS = ("write", "copy", "copytree", "mkdir", "fifo", "symlink", "build")
CASE_KEYS = {"name", "command", "make", "exit", "expect", "slow", "timeout", "stdin", "needs"}
HAVE_ML = importlib.util.find_spec("numpy") is not None and importlib.util.find_spec("tensorflow") is not None


def _cases() -> list:
    cases, names = [], set()
    for file in sorted(HERE.glob("*.yaml")):
        for case in yaml.safe_load(file.read_text(encoding="utf-8")) or []:
            unknown = set(case) - CASE_KEYS
            assert not unknown, f"{file.name}: {case.get('name')}: unknown keys {unknown}"
            assert case["name"] not in names, f"duplicate case name {case['name']}"
            names.add(case["name"])
            marks = [pytest.mark.slow] if case.get("slow") else []
            if case.get("needs") == "ml" and not HAVE_ML:
                marks.append(pytest.mark.skip(reason="needs the ml extra (a base install says so instead: see cli.yaml)"))
            if case.get("needs") == "base" and HAVE_ML:
                marks.append(pytest.mark.skip(reason="what a base install (no ml extra) says"))
            cases.append(pytest.param(case, id=f"{file.stem}:{case['name']}", marks=marks))
    return cases


CASES = _cases()


def _fill(text: str, tmp: Path) -> str:
    return text.replace("{tmp}", str(tmp)).replace("{repo}", str(ROOT))


def _make(step: dict, tmp: Path) -> None:
    kind = next((k for k in MAKERS if k in step), None)
    assert kind, f"unknown maker {step}"
    target = tmp / _fill(str(step[kind]), tmp) if kind not in ("copy", "copytree", "build") else \
        tmp / _fill(str(step["to"]), tmp)
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "write":
        if "hex" in step:
            target.write_bytes(bytes.fromhex(step["hex"]))
        elif "repeat" in step:
            target.write_text(step.get("head", "") + step["repeat"] * step["times"] + step.get("tail", ""),
                              encoding="utf-8")
        else:
            target.write_text(_fill(step["text"], tmp), encoding="utf-8")
    elif kind == "copy":
        text = (ROOT / step["copy"]).read_text(encoding="utf-8")
        for old, new in (step.get("replace") or {}).items():
            assert old in text, f"{step['copy']} has no {old!r}"
            text = text.replace(old, _fill(str(new), tmp))
        target.write_text(text + _fill(step.get("append", ""), tmp), encoding="utf-8")
    elif kind == "copytree":
        shutil.copytree(ROOT / step["copytree"], target)
    elif kind == "mkdir":
        target.mkdir(parents=True, exist_ok=True)
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        os.symlink(_fill(str(step["target"]), tmp), target)
    elif kind == "build":
        getattr(builders, step["build"])(target, **(step.get("args") or {}))


def _limits() -> None:  # pragma: no cover - runs in the child
    # NOTE: 6 GiB of address space: enough for the tool (TensorFlow included), small enough that an input
    # that makes it balloon fails here instead of taking the machine down.
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: dict, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    for step in case.get("make") or []:
        _make(step, work)
    env = dict(os.environ, TINYML_ADVISOR_CACHE=str(tmp_path / "cache"), COLUMNS="200",
               TF_CPP_MIN_LOG_LEVEL="2", TF_USE_LEGACY_KERAS="1")
    argv = [sys.executable, "-m", "advisor", *[_fill(str(a), work) for a in case["command"]]]
    timeout = case.get("timeout", 240 if case.get("slow") else 30)
    try:
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
                              input=case.get("stdin", ""), preexec_fn=_limits)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung for {timeout} s: {' '.join(argv[2:])}")
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == case["exit"], f"exit {proc.returncode}, expected {case['exit']}:\n{out}"
    assert case["expect"] in out, f"{case['expect']!r} not in:\n{out}"


def test_the_table_covers_every_command():
    commands = {case.values[0]["command"][0] if case.values[0]["command"][0] != "kb" else
                " ".join(case.values[0]["command"][:2]) for case in CASES}
    assert {"advise", "init", "ask", "profile", "run", "report", "kb validate", "kb list", "kb show",
            "kb probe-ops"} <= commands, commands
