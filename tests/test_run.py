"""The recipe engine end to end with real TensorFlow, TFMOT and tflite-micro (slow), and its failure paths:
bad data, signals, a killed run, a crashing converter, a full disk."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.kb.load import load_kb
from advisor.kb.entities import Recipe
from advisor.problems import ProblemError
from advisor.run.manifest import run_state
from advisor.run.runner import run_recipe

from conftest import ROOT

slow = pytest.mark.slow
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
runner = CliRunner()
KB = load_kb()


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> tuple[Path, Path]:
    from advisor.run.datasets import build_example
    return build_example("digits", tmp_path_factory.mktemp("digits"))


def manifest(run_dir: Path) -> dict:
    """The run's manifest, checked against its schema (a contract other tools read)."""
    from advisor.kb.schemas import validator
    data = json.loads((run_dir / "manifest.json").read_text())
    errors = list(validator("manifest").iter_errors(data))
    assert not errors, errors[0].message
    return data


@slow
@pytest.mark.parametrize("recipe", ["int8-ptq", "prune-int8", "cluster-int8", "qat-int8", "distill-int8"])
def test_recipe_families_on_digits(tmp_path: Path, digits, recipe: str):
    model, data = digits
    outcome = run_recipe(KB, KB.recipes[recipe], model, data, tmp_path, seed=0)
    assert outcome.exit_code == 0, outcome.message
    m = manifest(outcome.run_dir)
    assert m["status"] == "ok" and all(s["status"] == "ok" for s in m["steps"])
    assert m["versions"]["tensorflow"] and m["versions"]["tflite-micro"] and m["knowledge_base"] == KB.digest
    metrics = json.loads((outcome.run_dir / "metrics.json").read_text())
    assert metrics["float"]["accuracy"] > 90
    assert metrics["tflite"]["accuracy"] > 85
    assert abs(metrics["tflm"]["accuracy"] - metrics["tflite"]["accuracy"]) <= 0.5
    assert metrics["tflm"]["arena_bytes"] > 0
    header = (outcome.run_dir / "firmware" / "model_data.h").read_text()
    assert "kTensorArenaSize = " in header
    main = (outcome.run_dir / "firmware" / "main.cc").read_text()
    for op in metrics["tflm"]["ops"]:
        from advisor.run.steps.export import resolver_method
        assert f"resolver.{resolver_method(op)}();" in main
    assert f"MicroMutableOpResolver<{len(metrics['tflm']['ops'])}>" in main
    source = (outcome.run_dir / "firmware" / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model[]" in source
    assert f"g_model_len = {(outcome.run_dir / 'model.tflite').stat().st_size};" in source
    if recipe == "prune-int8":
        assert m["steps"][1]["outputs"]["sparsity"] >= 0.7
        assert metrics["size"]["gzip_bytes"] < 0.7 * metrics["size"]["tflite_bytes"]
    if recipe == "distill-int8":
        assert m["steps"][1]["outputs"]["student_parameters"] < m["steps"][1]["outputs"]["teacher_parameters"] / 2


@slow
def test_same_seed_same_bytes(tmp_path: Path, digits):
    model, data = digits
    hashes = []
    for _ in range(2):
        outcome = run_recipe(KB, KB.recipes["prune-int8"], model, data, tmp_path, seed=3)
        assert outcome.exit_code == 0
        hashes.append(hashlib.sha256((outcome.run_dir / "model.tflite").read_bytes()).hexdigest())
    assert hashes[0] == hashes[1]
    assert len(list(tmp_path.iterdir())) == 2  # two runs, two folders


@slow
@pytest.mark.parametrize("example, recipe", [("imu-gestures", "int8-ptq"), ("vibration", "int8-ptq")])
def test_other_examples_run(tmp_path: Path, example: str, recipe: str):
    from advisor.run.datasets import build_example
    model, data = build_example(example, tmp_path / "build")
    result = runner.invoke(app, ["run", str(ROOT / "examples" / example / "requirements.yaml"), "--model", str(model),
                                 "--data", str(data), "--recipe", recipe, "--runs", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs").iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if example == "vibration":
        assert metrics["float"]["auc"] > 0.9 and abs(metrics["tflm"]["auc"] - metrics["tflite"]["auc"]) <= 0.01
    else:
        assert metrics["tflite"]["accuracy"] > 90


@slow
def test_a_step_failing_midway_is_recorded_and_earlier_runs_are_untouched(tmp_path: Path, digits):
    model, data = digits
    first = run_recipe(KB, KB.recipes["int8-ptq"], model, data, tmp_path, seed=0)
    before = (first.run_dir / "manifest.json").read_bytes()
    # TFLM has no hybrid kernels: validating a dynamic-range model must fail in the interpreter.
    recipe = Recipe.model_validate({
        "id": "hybrid-on-tflm", "name": "n", "description": "d", "techniques": ["dynamic-range-quantization"],
        "quantization": "dynamic-range", "steps": [
            {"id": "load", "uses": "load-model"},
            {"id": "convert", "uses": "convert", "with": {"mode": "dynamic-range"}, "requires": ["load"]},
            {"id": "tflm", "uses": "tflm-validate", "requires": ["convert"]},
            {"id": "export", "uses": "export-c", "requires": ["tflm"]}]})
    outcome = run_recipe(KB, recipe, model, data, tmp_path, seed=0)
    assert outcome.exit_code == 1 and outcome.status == "failed"
    m = manifest(outcome.run_dir)
    assert m["status"] == "failed" and m["failure"]["step"] == "tflm"
    assert "TFLM validation failed" in m["failure"]["reason"]
    assert [s["status"] for s in m["steps"]] == ["ok", "ok", "failed", "skipped"]
    assert (first.run_dir / "manifest.json").read_bytes() == before


@slow
def test_bad_inputs_exit_2(tmp_path: Path, digits):
    model, data = digits
    req = str(ROOT / "examples" / "digits" / "requirements.yaml")
    arrays = dict(np.load(data))

    def run(*args) -> tuple[int, str]:
        result = runner.invoke(app, ["run", req, "--runs", str(tmp_path / "runs"), *args])
        assert "Traceback" not in result.output
        return result.exit_code, result.output

    code, out = run("--model", str(tmp_path / "nope.keras"), "--data", str(data), "--recipe", "int8-ptq")
    assert code == 2 and "no such model file" in out
    code, out = run("--model", str(model), "--data", str(data), "--recipe", "int8-ptqq")
    assert code == 2 and "did you mean 'int8-ptq'?" in out
    only_rep = tmp_path / "rep.npz"
    np.savez(only_rep, x_rep=arrays["x_rep"])
    code, out = run("--model", str(model), "--data", str(only_rep), "--recipe", "qat-int8")
    assert code == 2 and "needs training data" in out
    odd = tmp_path / "odd.npz"
    np.savez(odd, x_trian=arrays["x_train"])
    code, out = run("--model", str(model), "--data", str(odd), "--recipe", "int8-ptq")
    assert code == 2 and "unknown array 'x_trian' (did you mean 'x_train'?)" in out
    assert not list((tmp_path / "runs").glob("*"))  # nothing was started
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x_train=arrays["x_train"].reshape(-1, 64), y_train=arrays["y_train"])
    code, out = run("--model", str(model), "--data", str(wrong), "--recipe", "int8-ptq")
    assert code == 2 and "wrong.npz: $.x_train samples of shape (64,) do not match the model input (8, 8, 1)" in out
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"PK\x03\x04garbage")
    code, out = run("--model", str(corrupt), "--data", str(data), "--recipe", "int8-ptq")
    assert code == 2 and "corrupt.keras: not a readable .keras zip" in out
    assert not list((tmp_path / "runs").iterdir())  # bad input found once the model loaded leaves no run folder


@slow
def test_run_without_recipe_uses_the_solvers_choice(tmp_path: Path, digits):
    model, data = digits
    result = runner.invoke(app, ["run", str(ROOT / "examples" / "digits" / "requirements.yaml"), "--model", str(model),
                                 "--data", str(data), "--runs", str(tmp_path)])
    assert result.exit_code == 0, result.output
    from advisor.profile.model import load_model
    from advisor.questionnaire.requirements import load_requirements
    from advisor.profile.basis import from_profile
    from advisor.solve.solver import solve
    req = load_requirements(ROOT / "examples" / "digits" / "requirements.yaml", KB)
    top = solve(req, KB, from_profile(load_model(model))).candidates[0]  # the user's model, profiled
    assert manifest(next(tmp_path.iterdir()))["recipe"]["id"] == top.recipe


@slow
def test_report_with_a_run(tmp_path: Path, digits):
    model, data = digits
    outcome = run_recipe(KB, KB.recipes["prune-int8"], model, data, tmp_path / "runs", seed=0)
    assert outcome.exit_code == 0
    req = str(ROOT / "examples" / "digits" / "requirements.yaml")
    result = runner.invoke(app, ["report", req, "--run", str(outcome.run_dir), "-o", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["run"]["id"] == outcome.run_dir.name and report["model"]["source"] == "profile"
    methods = {m["text"]: m for s in report["steps"] for m in s["methods"]}
    assert methods["Pruning and weight clustering"]["done"] and methods["Model versioning"]["done"]
    assert not methods["Continuous monitoring"]["done"]
    html = (tmp_path / "report" / "report.html").read_text()
    assert 'id="chart-accuracy"' in html and 'id="chart-layers"' in html and outcome.run_dir.name in html


# --- what a recipe needs, from the step catalog -------------------------------------------------------------

def test_data_needed_follows_the_step_catalog():
    from advisor.run.needs import data_needed, data_used, retrains
    assert data_needed(KB.recipes["int8-ptq"]) == {"x_rep"}
    assert data_needed(KB.recipes["float32"]) == set()
    assert data_needed(KB.recipes["qat-int8"]) == {"x_train", "y_train"}
    assert data_needed(KB.recipes["qat-int8"], "autoencoder") == {"x_train"}
    assert {"x_test", "y_test", "x_rep"} <= data_used(KB.recipes["int8-ptq"])
    training = {"prune", "cluster", "qat", "distill"}
    for recipe in KB.recipes.values():
        assert retrains(recipe) == bool(training & {s.uses for s in recipe.steps}), recipe.id


# --- the data file, before TensorFlow -----------------------------------------------------------------------

def _bad_inputs_builders():
    sys.path.insert(0, str(ROOT / "tests" / "bad_inputs"))
    import builders
    return builders


def test_a_zip_bomb_is_refused_from_its_header(tmp_path: Path):
    from advisor.run.runner import load_data
    _bad_inputs_builders().npz_zip_bomb(tmp_path / "bomb.npz")
    started = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ProblemError, match=r"claims 4096\.0 MiB of arrays once loaded"):
        load_data(tmp_path / "bomb.npz", KB.recipes["int8-ptq"])
    assert time.perf_counter() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 200 * 1024  # KiB: nothing was inflated


def test_good_data_comes_back_as_the_steps_take_it(tmp_path: Path):
    from advisor.run.runner import load_data
    np.savez(tmp_path / "d.npz", x_rep=np.ones((3, 4), np.float64), x_test=np.zeros((2, 4), np.uint8),
             y_test=np.array([1.0, 0.0]))
    data = load_data(tmp_path / "d.npz", KB.recipes["int8-ptq"])
    assert data["x_rep"].dtype == np.float32 and data["x_test"].dtype == np.float32
    assert data["y_test"].dtype == np.int64 and data["y_test"].tolist() == [1, 0]


# --- run_state: a manifest read as a true state -------------------------------------------------------------

def _write_manifest(run_dir: Path, status: str = "running", **process) -> Path:
    from advisor.run.manifest import process_identity
    run_dir.mkdir(parents=True, exist_ok=True)
    data = {"status": status, "process": process_identity() | process, "failure": None,
            "steps": [{"id": "load", "status": "ok"}, {"id": "convert", "status": "running"}]}
    (run_dir / "manifest.json").write_text(json.dumps(data))
    return run_dir


def test_run_state_tells_a_live_run_from_a_dead_one(tmp_path: Path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert run_state(_write_manifest(tmp_path / "live")).state == "running"
    dead = run_state(_write_manifest(tmp_path / "dead", pid=gone.pid))
    assert dead.state == "incomplete" and f"process {gone.pid} is gone" in dead.reason
    assert "during step 'convert'" in dead.reason
    reused = run_state(_write_manifest(tmp_path / "reused", start_ticks=1))
    assert reused.state == "incomplete" and "belongs to another process" in reused.reason
    rebooted = run_state(_write_manifest(tmp_path / "rebooted", boot_id="not-this-boot"))
    assert rebooted.state == "incomplete" and "restarted" in rebooted.reason
    elsewhere = _write_manifest(tmp_path / "elsewhere", host="another-host")
    assert run_state(elsewhere).state == "running"
    old = time.time() - 2 * 86400
    os.utime(elsewhere / "manifest.json", (old, old))
    assert run_state(elsewhere).state == "incomplete"
    assert run_state(_write_manifest(tmp_path / "done", status="interrupted")).state == "interrupted"
    assert run_state(tmp_path / "empty").state == "incomplete"


# --- signals, log redirection and cleanup, without TensorFlow -----------------------------------------------

def test_a_signal_interrupts_only_an_armed_step():
    from advisor.run.interrupt import Interrupted, SignalGuard
    with SignalGuard() as guard:
        os.kill(os.getpid(), signal.SIGTERM)  # not armed: noted, not raised
        assert guard.signum == signal.SIGTERM
        with pytest.raises(Interrupted):
            with guard.armed():
                pytest.fail("an earlier signal must stop the next step before it starts")
    with SignalGuard() as guard, pytest.raises(Interrupted) as caught:
        with guard.armed():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
    assert caught.value.name == "SIGINT" and isinstance(caught.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_native_output_goes_to_the_log_and_progress_to_the_terminal(tmp_path: Path):
    script = (f"import os, sys\nfrom advisor.run.logs import RunLog\n"
              f"with RunLog({str(tmp_path / 'run.log')!r}) as log:\n"
              f"    os.write(2, b'native noise\\n'); os.write(1, b'converter stdout\\n')\n"
              f"    print('python warning', file=sys.stderr)\n"
              f"    with log.terminal():\n        print('  progress line', file=sys.stderr)\n"
              f"print('after', file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "  progress line\nafter\n" and proc.stdout == ""
    assert (tmp_path / "run.log").read_text() == "native noise\nconverter stdout\npython warning\n"


def test_a_failed_step_leaves_none_of_its_files(tmp_path: Path):
    from advisor.run.paths import remove_new, snapshot
    (tmp_path / "model.tflite").write_bytes(b"kept")
    (tmp_path / "manifest.json").write_text("{}")
    before = snapshot(tmp_path)
    (tmp_path / "firmware").mkdir()
    (tmp_path / "firmware" / "model_data.h").write_text("half")
    (tmp_path / ".main.cc.x1.part").write_text("partial")
    (tmp_path / "run.log").write_text("log")
    assert remove_new(tmp_path, before) == [".main.cc.x1.part", "firmware", "firmware/model_data.h"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "model.tflite", "run.log"]


# --- real runs in a child process: signals, SIGKILL, a crashing converter, a full disk ----------------------

def _start(tmp_path: Path, digits, recipe: str = "int8-ptq", limit_bytes: int | None = None) -> subprocess.Popen:
    model, data = digits

    def limits():  # pragma: no cover - runs in the child
        if limit_bytes:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # NOTE: then a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", COLUMNS="200")  # TensorFlow as chatty as it gets
    argv = [sys.executable, "-m", "advisor", "run", str(ROOT / "examples" / "digits" / "requirements.yaml"),
            "--model", str(model), "--data", str(data), "--recipe", recipe, "--runs", str(tmp_path / "runs")]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=limits)


def _wait_for_step(tmp_path: Path, step: str, timeout: float = 180) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (tmp_path / "runs").glob("*/manifest.json"):
            try:
                steps = {s["id"]: s["status"] for s in json.loads(path.read_text())["steps"]}
            except (OSError, ValueError):
                continue  # NOTE: cannot happen with atomic writes; tolerated so the test fails on its assertion
            if steps.get(step) == "running":
                return path.parent
        time.sleep(0.2)
    pytest.fail(f"step {step} never started")


def _children_writing_into(run_dir: Path) -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(run_dir).encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


@slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_step_ends_the_run_interrupted(tmp_path: Path, digits, sig):
    proc = _start(tmp_path, digits)
    run_dir = _wait_for_step(tmp_path, "convert")
    time.sleep(1.5)  # the converter child is starting TensorFlow
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    m = manifest(run_dir)
    assert m["status"] == "interrupted" and m["failure"] == {"step": "convert",
                                                             "reason": f"interrupted by {sig.name}"}
    assert [s["status"] for s in m["steps"]] == ["ok", "interrupted", "skipped", "skipped", "skipped"]
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json", "metrics.json", "run.log"]
    assert not _children_writing_into(run_dir)  # the converter was killed and reaped
    assert run_state(run_dir).state == "interrupted"
    assert f"step 'convert' interrupted by {sig.name}" in err
    for noise in ("I0000", "oneDNN", "absl::InitializeLog", "cuda"):  # TensorFlow's chatter is in the log only
        assert noise not in err
    assert "oneDNN" in (run_dir / "run.log").read_text()


@slow
def test_a_killed_run_reads_as_incomplete(tmp_path: Path, digits):
    proc = _start(tmp_path, digits)
    run_dir = _wait_for_step(tmp_path, "convert")
    assert run_state(run_dir).state == "running"
    proc.kill()
    proc.communicate(timeout=60)
    state = run_state(run_dir)
    assert state.state == "incomplete" and "is gone" in state.reason and "step 'convert'" in state.reason
    deadline = time.monotonic() + 10
    while _children_writing_into(run_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _children_writing_into(run_dir)  # the converter died with its parent


@slow
def test_a_converter_crash_is_a_failed_step_with_the_signal(tmp_path: Path, digits):
    proc = _start(tmp_path, digits)
    run_dir = _wait_for_step(tmp_path, "convert")
    deadline = time.monotonic() + 60
    while not _children_writing_into(run_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in _children_writing_into(run_dir):
        os.kill(pid, signal.SIGSEGV)  # what a native crash in the converter looks like from outside
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    m = manifest(run_dir)
    assert m["status"] == "failed" and m["failure"]["step"] == "convert"
    assert m["failure"]["reason"].startswith("converter died with SIGSEGV")
    assert not (run_dir / "model.tflite").exists() and not (run_dir / ".convert").exists()


@slow
def test_the_converter_segfaulting_on_infinite_inputs_fails_the_step(tmp_path: Path, digits):
    from advisor.run.steps.runctx import RunContext, StepFailed, keras
    from advisor.run.steps.tflite_steps import convert
    model, data = digits
    x = np.load(data)["x_rep"].astype(np.float32)
    x[0, 0, 0, 0] = np.inf  # the data check refuses this; here it goes straight to the converter
    ctx = RunContext(tmp_path, 0, {"x_rep": x}, model)
    ctx.model = keras().models.load_model(str(model), compile=False)
    with pytest.raises(StepFailed, match="converter died with SIGSEGV"):
        convert(ctx, {"mode": "int8", "samples": 100})
    assert not list(tmp_path.iterdir())


@slow
def test_a_full_disk_fails_the_step_and_leaves_no_partial_file(tmp_path: Path, digits):
    proc = _start(tmp_path, digits, limit_bytes=300_000)  # model.tflite (63 KB) fits, model_data.cc (390 KB) not
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 1, err
    run_dir = next((tmp_path / "runs").iterdir())
    m = manifest(run_dir)
    assert m["status"] == "failed" and m["failure"] == {"step": "export",
                                                        "reason": "cannot write model_data.cc: File too large"}
    assert (run_dir / "model.tflite").stat().st_size == m["artifacts"]["model.tflite"]["bytes"]
    assert not (run_dir / "firmware").exists() and not list(run_dir.rglob("*.part"))
    assert "firmware/model_data.h" not in m["artifacts"]


@slow
@pytest.mark.parametrize("recipe, keys", [("int8-ptq", ("x_rep", "x_test", "y_test")),
                                          ("float32", ("x_test", "y_test"))])
def test_recipes_without_retraining_need_no_training_set(tmp_path: Path, digits, recipe: str, keys):
    model, data = digits
    arrays = dict(np.load(data))
    np.savez(tmp_path / "d.npz", **{k: arrays[k] for k in keys})
    outcome = run_recipe(KB, KB.recipes[recipe], model, tmp_path / "d.npz", tmp_path / "runs", seed=0)
    assert outcome.exit_code == 0, outcome.message
    metrics = json.loads((outcome.run_dir / "metrics.json").read_text())
    assert metrics["tflite"]["accuracy"] > 85 and manifest(outcome.run_dir)["process"]["pid"] == os.getpid()
