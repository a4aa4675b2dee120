"""The search with its real parts: Optuna studies on a journal file and on a real PostgreSQL, worker processes
that run real recipes (TensorFlow, the TFLite converter, the TFLM interpreter), a worker killed mid-trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from advisor.resources import schema_json

ROOT = Path(__file__).resolve().parent.parent
REQ = ROOT / "examples" / "digits" / "requirements.yaml"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> tuple[Path, Path]:
    from advisor.run.datasets import build_example

    return build_example("digits", tmp_path_factory.mktemp("digits"))


def search(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advisor", "search", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})


def base_args(digits, runs: Path, *extra: str) -> list[str]:
    model, data = digits
    return [str(REQ), "--model", str(model), "--data", str(data), "--runs", str(runs), *extra]


def study_trials(url: str, name: str):
    import optuna

    from advisor.search.study import open_storage

    return optuna.load_study(study_name=name, storage=open_storage(url)).get_trials()


def check_no_trial_lost(trials, budget: int) -> None:
    from optuna.trial import TrialState

    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    assert not [t for t in trials if t.state == TrialState.RUNNING], "a trial was left running"
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(done) == budget, [(t.number, t.state, t.user_attrs.get("failure")) for t in trials]
    runs = [t.user_attrs["run_dir"] for t in done if t.user_attrs.get("trained") and "duplicate_of" not in t.user_attrs]
    assert len(runs) == len(set(runs)), "two trials share a run folder"
    for t in done:
        if "duplicate_of" in t.user_attrs:
            assert t.params == trials[t.user_attrs["duplicate_of"]].params


def test_one_worker_same_seed_same_trials_and_a_valid_front(tmp_path: Path, digits):
    """Queued shipped recipe first, then sampled architectures; the same seed proposes and measures the same."""
    args = ("--recipe", "int8-ptq", "--trials", "3", "--seed", "3", "--study", "s")
    first = search(*base_args(digits, tmp_path / "a", *args))
    assert first.returncode == 0, first.stderr[-3000:]
    second = search(*base_args(digits, tmp_path / "b", *args))
    assert second.returncode == 0, second.stderr[-3000:]
    a = [(t.params, t.values) for t in study_trials(f"journal:{tmp_path / 'a' / 's' / 'journal.log'}", "s")]
    b = [(t.params, t.values) for t in study_trials(f"journal:{tmp_path / 'b' / 's' / 'journal.log'}", "s")]
    assert a == b
    doc = json.loads((tmp_path / "a" / "s" / "pareto.json").read_text())
    jsonschema.validate(doc, schema_json("pareto"))
    assert doc["family"] == "digits-cnn" and doc["counts"]["complete"] == 3
    # trial 0 is the shipped recipe on the user's own model, so the search cannot end worse than it
    fixed = doc["best_fixed_recipe"]
    assert fixed["trial"] == 0 and fixed["fixed_recipe"] and fixed["arch"] == {"depth": 2, "kernel": 3, "width": 1.0}
    best = doc["front"][0]
    assert best["accuracy_pct"] >= fixed["accuracy_pct"]
    for point in doc["front"]:
        run = tmp_path / "a" / "s" / point["run_dir"]
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["status"] == "ok"
        assert (run / "model.tflite").stat().st_size == point["flash_bytes"]
        assert json.loads((run / "metrics.json").read_text())["tflm"]["arena_bytes"] == point["arena_bytes"]
        assert (run / "firmware" / "model_data.cc").exists() or any(run.rglob("*.cc"))
    assert "Pareto front" in first.stdout
    # the report files the front and the chosen point's run
    report = subprocess.run([sys.executable, "-m", "advisor", "report", str(REQ), "--search", str(tmp_path / "a" / "s"),
                             "-o", str(tmp_path / "report")], capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert data["search"]["chosen"] == doc["chosen"] and data["search"]["counts"]["complete"] == 3
    assert data["run"]["id"] == best["run_id"]  # the chosen point's run is the report's run
    html = (tmp_path / "report" / "report.html").read_text()
    assert 'id="search"' in html and "Pareto front: accuracy against flash" in html
    assert f"Search s: {doc['counts']['feasible']} feasible" in (tmp_path / "report" / "report.md").read_text()


def test_over_budget_candidates_are_measured_untrained_and_never_trained(tmp_path: Path, digits):
    """A RAM budget below the model's arena: every candidate is measured in TFLM, none is trained or run."""
    req = tmp_path / "tight.yaml"
    req.write_text(REQ.read_text() + "memory:\n  ram_kb: 2\n")
    model, data = digits
    result = search(str(req), "--model", str(model), "--data", str(data), "--runs", str(tmp_path / "runs"),
                    "--board", "sparkfun-edge", "--framework", "tflite-micro", "--recipe", "int8-ptq",
                    "--trials", "2", "--study", "tight")
    assert result.returncode == 1, result.stderr[-3000:]
    doc = json.loads((tmp_path / "runs" / "tight" / "pareto.json").read_text())
    assert doc["front"] == [] and doc["counts"]["untrained"] == 2
    for point in doc["infeasible"]:
        assert point["trained"] is False and point["run_dir"] is None
        assert any(b.startswith("RAM:") and "2.0 KiB available" in b for b in point["broken"]), point["broken"]
        assert point["arena_bytes"] > 2048
    assert not (tmp_path / "runs" / "tight" / "trials").exists()
    assert not (tmp_path / "runs" / "tight" / "models").exists()
    assert "no feasible point: RAM" in result.stderr


def _two_workers(tmp_path: Path, digits, extra: tuple[str, ...]) -> list:
    result = search(*base_args(digits, tmp_path / "runs", "--recipe", "int8-ptq", "--family", "none",
                               "--trials", "4", "--workers", "2", "--study", "two", *extra))
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads((tmp_path / "runs" / "two" / "pareto.json").read_text())
    assert [w["exit_code"] for w in doc["workers"]] == [0, 0]
    return doc


def test_two_workers_share_a_journal_study(tmp_path: Path, digits):
    _two_workers(tmp_path, digits, ())
    trials = study_trials(f"journal:{tmp_path / 'runs' / 'two' / 'journal.log'}", "two")
    check_no_trial_lost(trials, 4)
    assert {t.user_attrs["worker"]["pid"] for t in trials} and \
        len({t.user_attrs["worker"]["index"] for t in trials}) == 2, "both workers must have run trials"


@pytest.fixture(scope="module")
def postgres():
    from tests.pg import Cluster, binaries

    if binaries() is None:
        if os.environ.get("TINYML_ADVISOR_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required here (.ci/run installs it) but initdb is missing")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    cluster = Cluster()
    url = cluster.start()
    yield url
    cluster.stop()


def test_two_workers_share_a_postgresql_study(tmp_path: Path, digits, postgres):
    doc = _two_workers(tmp_path, digits, ("--storage", postgres))
    assert doc["storage"] == postgres  # no password in this URL to hide
    trials = study_trials(postgres, "two")
    check_no_trial_lost(trials, 4)
    assert len({t.user_attrs["worker"]["index"] for t in trials}) == 2, "both workers must have run trials"


def test_a_worker_killed_mid_trial_fails_its_trial_and_the_study_recovers(tmp_path: Path, digits):
    import optuna
    from optuna.trial import TrialState

    from advisor.search.study import open_storage

    args = base_args(digits, tmp_path / "runs", "--recipe", "prune-int8", "--family", "none", "--trials", "2",
                     "--study", "k")
    proc = subprocess.Popen([sys.executable, "-m", "advisor", "search", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    journal = tmp_path / "runs" / "k" / "journal.log"
    victim = None
    deadline = time.time() + 300
    while victim is None and time.time() < deadline:
        time.sleep(1)
        if not journal.exists():
            continue
        study = optuna.load_study(study_name="k", storage=open_storage(f"journal:{journal}"))
        running = [t for t in study.get_trials() if t.state == TrialState.RUNNING and "worker" in t.user_attrs
                   and t.user_attrs.get("run_id") is None]
        if running and list((tmp_path / "runs" / "k" / "trials").glob("*/manifest.json")):
            victim = running[0]
    assert victim is not None, "no trial started"
    os.kill(victim.user_attrs["worker"]["pid"], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode != 0, err[-2000:]
    trials = {t.number: t for t in study_trials(f"journal:{journal}", "k")}
    dead = trials[victim.number]
    assert dead.state == TrialState.FAIL and "its worker died" in dead.user_attrs["failure"]
    # its run folder is left as it was, and reads as incomplete, not running
    from advisor.run.manifest import run_state

    killed_runs = list((tmp_path / "runs" / "k" / "trials").iterdir())
    assert [run_state(r).state for r in killed_runs] == ["incomplete"]
    # the same command continues the study: the dead trial's parameters run again, the budget is met
    again = search(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    trials = study_trials(f"journal:{journal}", "k")
    retry = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE and retry[0].params == dead.params
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 2
    assert not [t for t in trials if t.state == TrialState.RUNNING]


def test_ctrl_c_stops_the_workers_and_the_trial_and_its_run_end_interrupted(tmp_path: Path, digits):
    from optuna.trial import TrialState

    args = base_args(digits, tmp_path / "runs", "--recipe", "prune-int8", "--family", "none", "--trials", "3",
                     "--study", "i")
    proc = subprocess.Popen([sys.executable, "-m", "advisor", "search", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    trials_dir = tmp_path / "runs" / "i" / "trials"
    deadline = time.time() + 300
    while time.time() < deadline and not list(trials_dir.glob("*/manifest.json")):
        time.sleep(0.5)
    assert list(trials_dir.glob("*/manifest.json")), "no run started"
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    trials = study_trials(f"journal:{tmp_path / 'runs' / 'i' / 'journal.log'}", "i")
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert len(stopped) == 1 and "interrupted" in stopped[0].user_attrs["failure"]
    manifests = [json.loads(p.read_text()) for p in trials_dir.glob("*/manifest.json")]
    assert [m["status"] for m in manifests] == ["interrupted"]
    doc = json.loads((tmp_path / "runs" / "i" / "pareto.json").read_text())
    assert doc["counts"]["failed"] == 1
