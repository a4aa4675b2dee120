"""Run a recipe end-to-end into a new runs/<id>/ folder with a manifest that always ends in a true state.

NOTE: the order is fixed so that nothing is lost: the data is checked before any TensorFlow work; the
run folder is created with exclusive creation (an earlier run is never touched); the manifest is
rewritten (atomically) around every step, so a run killed midway still says where; a signal ends the
run as ``interrupted``; a step that fails or is interrupted leaves none of its partial files behind;
bad input found once the model is loaded removes the run folder again.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from advisor import __version__
from advisor.files import check_input
from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import Recipe
from advisor.problems import Problem, ProblemError, did_you_mean, display_path
from advisor.kb.recipes import step_order
from advisor.kb.steps import default_registry
from advisor.run import interrupt, logs
from advisor.run.data import check_arrays, read_npz
from advisor.run.execute import Execution
from advisor.run.manifest import process_identity
from advisor.run.needs import data_needed
from advisor.run.paths import sha256

MANIFEST_VERSION = 1
PACKAGES = ("tensorflow", "tf_keras", "tensorflow_model_optimization", "tflite_micro", "numpy", "sklearn", "onnx",
            "onnxruntime", "onnx2tf")


@dataclass
class RunOutcome:
    status: str  # ok | failed | interrupted
    run_dir: Path
    exit_code: int
    message: str


def recipe_for(kb: KnowledgeBase, recipe_id: str) -> Recipe:
    """Raises ProblemError for an unknown recipe id."""
    if recipe_id not in kb.recipes:
        raise ProblemError([Problem("--recipe", 0, "", f"unknown recipe '{recipe_id}'"
                                    f"{did_you_mean(recipe_id, kb.recipes)}", "usage",
                                    "available: " + ", ".join(sorted(kb.recipes)))])
    return kb.recipes[recipe_id]


def load_data(path: Path, recipe: Recipe) -> dict:
    """The .npz arrays, checked (numpy only, before TensorFlow starts) against what the recipe needs.

    NOTE: whether a retraining recipe also needs ``y_train`` depends on the model (an autoencoder trains on
    its inputs), so that is checked once the model is loaded (``advisor.run.execute``).
    Raises:
        ProblemError: see ``advisor.run.data.read_npz`` and ``check_arrays``.
    """
    return check_arrays(read_npz(path), display_path(path), data_needed(recipe, "autoencoder"))


def _check_format(kb: KnowledgeBase, recipe: Recipe, model: Path) -> None:
    """An ONNX model runs post-training recipes only: retraining needs a Keras model (TFMOT).

    NOTE: the same line as the solver's constraint recipe-runs-on-onnx, drawn by the techniques' preconditions.
    """
    if model.is_dir() or model.suffix.lower() != ".onnx":
        return
    retrains = [t for t in recipe.techniques if t in kb.techniques and kb.techniques[t].preconditions.retraining]
    if retrains:
        usable = sorted(r.id for r in kb.recipes.values()
                        if not any(t in kb.techniques and kb.techniques[t].preconditions.retraining
                                   for t in r.techniques))
        raise ProblemError([Problem("--recipe", 0, "", f"recipe '{recipe.id}' retrains the model "
                                    f"({', '.join(retrains)}), which needs a Keras model; {display_path(model)} is "
                                    "ONNX", "usage", "ONNX models run: " + ", ".join(usable))])


def new_run_dir(root: Path, recipe_id: str, digest: str) -> Path:
    """A fresh folder; an existing one is never reused."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{recipe_id}-{digest[:8]}"
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise ProblemError([Problem(display_path(root), 0, "", "cannot create a new run folder", "io")])


def versions() -> dict:
    import importlib.metadata as md

    names = {"tensorflow": "tensorflow", "tf_keras": "tf-keras", "tensorflow_model_optimization":
             "tensorflow-model-optimization", "tflite_micro": "tflite-micro", "numpy": "numpy",
             "sklearn": "scikit-learn", "onnx": "onnx", "onnxruntime": "onnxruntime", "onnx2tf": "onnx2tf"}
    out = {"python": platform.python_version(), "tinyml-advisor": __version__}
    for module in PACKAGES:
        try:
            out[names[module]] = md.version(names[module])
        except md.PackageNotFoundError:
            out[names[module]] = None
    return out


def run_recipe(kb: KnowledgeBase, recipe: Recipe, model: Path, data_path: Path, runs: Path, seed: int,
               requirements: Path | None = None, on_step: Callable[[str, str, dict], None] | None = None
               ) -> RunOutcome:
    """Execute ``recipe`` on ``model`` with ``data_path`` into a new folder below ``runs``.

    Args:
        kb: the knowledge base (its digest goes into the manifest).
        recipe: the recipe to run.
        model: the float Keras model (a file or a SavedModel folder).
        data_path: the .npz data file.
        runs: the folder that receives the new run folder.
        seed: the seed of every random choice.
        requirements: the questionnaire, hashed into the manifest when given.
        on_step: called with (step id, "start" or the step's status, its manifest record) on the terminal.
    Returns:
        The outcome: exit code 0 (ok), 1 (a step failed) or 130 (interrupted by SIGINT, SIGTERM or SIGHUP).
    Raises:
        ProblemError: bad input (files, data, data that does not fit the model); no run folder is left.
    """
    check_input(model, "model", "model file", allow_dir=True)
    _check_format(kb, recipe, Path(model))
    data = load_data(data_path, recipe)
    inputs = {"model": {"path": str(model), "sha256": sha256(model)},
              "data": {"path": str(data_path), "sha256": sha256(data_path)}}
    if requirements is not None:
        inputs["requirements"] = {"path": str(requirements), "sha256": sha256(requirements)}
    # NOTE: the step parameters are part of the digest: a search runs one recipe with many parameter sets.
    params = [[s.id, s.with_] for s in recipe.steps]
    digest = hashlib.sha256(json.dumps([inputs, recipe.id, params, seed], sort_keys=True).encode()).hexdigest()
    with interrupt.SignalGuard() as signals:
        run_dir = new_run_dir(runs, recipe.id, digest)
        manifest = _manifest(kb, recipe, run_dir, seed, inputs)
        interrupt.CURRENT.append(signals)
        try:
            with logs.RunLog(run_dir / "run.log") as log:
                logs.CURRENT.append(log)
                try:
                    run = Execution(recipe, run_dir, manifest, data, model, display_path(data_path), seed,
                                    signals, log, on_step)
                    status, code, message = run.execute()
                finally:
                    logs.CURRENT.pop()
        except ProblemError:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        finally:
            interrupt.CURRENT.pop()
    return RunOutcome(status, run_dir, code, message)


def _manifest(kb: KnowledgeBase, recipe: Recipe, run_dir: Path, seed: int, inputs: dict) -> dict:
    registry = default_registry()
    ordered = step_order(recipe)
    return {
        "manifest_version": MANIFEST_VERSION, "run_id": run_dir.name, "status": "running",
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "finished_utc": None,
        "process": process_identity(), "seed": seed, "inputs": inputs, "versions": versions(),
        "knowledge_base": kb.digest,
        "recipe": {"id": recipe.id, "name": recipe.name, "quantization": recipe.quantization,
                   "steps": [{"id": s.id, "uses": s.uses, "requires": list(s.requires),
                              "params": registry.get(s.uses).resolve(s.with_)[0]} for s in ordered]},
        "steps": [{"id": s.id, "uses": s.uses, "status": "pending", "seconds": None, "outputs": {}, "error": None}
                  for s in ordered],
        "failure": None, "artifacts": {},
    }
