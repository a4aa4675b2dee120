"""Run a recipe end-to-end into a new runs/<id>/ folder with a manifest saying what happened.

NOTE: the order is fixed so that nothing is lost: inputs are checked before any TensorFlow work;
the run folder is created with exclusive creation (an earlier run is never touched); the manifest is
rewritten after every step, so a run that dies midway still says which step failed and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from advisor import __version__
from advisor.kb.base import KnowledgeBase
from advisor.kb.entities import Recipe
from advisor.problems import Problem, ProblemError, did_you_mean, display_path
from advisor.kb.recipes import step_order
from advisor.kb.steps import default_registry
from advisor.run.steps import implementation
from advisor.run.steps.context import DATA_KEYS, RunContext, StepFailed

MANIFEST_VERSION = 1
PACKAGES = ("tensorflow", "tf_keras", "tensorflow_model_optimization", "tflite_micro", "numpy", "sklearn")


@dataclass
class RunOutcome:
    status: str  # ok | failed | invalid-input
    run_dir: Path
    exit_code: int
    message: str


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(str(p.relative_to(path)).encode() + b"\0" + p.read_bytes())
    else:
        h.update(path.read_bytes())
    return h.hexdigest()


def recipe_for(kb: KnowledgeBase, recipe_id: str) -> Recipe:
    """Raises ProblemError for an unknown recipe id."""
    if recipe_id not in kb.recipes:
        raise ProblemError([Problem("--recipe", 0, "", f"unknown recipe '{recipe_id}'"
                                    f"{did_you_mean(recipe_id, kb.recipes)}", "usage",
                                    "available: " + ", ".join(sorted(kb.recipes)))])
    return kb.recipes[recipe_id]


def load_data(path: Path, recipe: Recipe) -> dict:
    """The .npz arrays, checked against what the recipe's steps need.

    Raises:
        ProblemError: unreadable file, unknown keys, or keys the recipe needs missing.
    """
    name = display_path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise ProblemError([Problem(name, 0, "", "no such data file", "io")]) from None
    except (OSError, ValueError) as exc:
        raise ProblemError([Problem(name, 0, "", f"not a readable .npz archive: {exc}", "data")]) from None
    problems = [Problem(name, 0, key, f"unknown array '{key}'{did_you_mean(key, DATA_KEYS)}", "data",
                        "expected: " + ", ".join(DATA_KEYS)) for key in data if key not in DATA_KEYS]
    registry = default_registry()
    needs = {registry.get(s.uses).data for s in recipe.steps if registry.get(s.uses)}
    if "labelled" in needs and "x_train" not in data:
        have = ", ".join(sorted(data)) or "nothing"
        problems.append(Problem(name, 0, "x_train", f"recipe '{recipe.id}' retrains the model and needs training "
                                f"data (x_train, plus y_train for classifiers); the file has {have}", "data"))
    converts_int8 = any(s.uses == "convert" and s.with_.get("mode", "int8") == "int8" for s in recipe.steps)
    if converts_int8 and "x_rep" not in data and "x_train" not in data:
        problems.append(Problem(name, 0, "x_rep", "int8 conversion needs representative inputs: add x_rep "
                                "(or x_train)", "data"))
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        if x in data and y in data and len(data[x]) != len(data[y]):
            problems.append(Problem(name, 0, y, f"{len(data[y])} labels for {len(data[x])} samples in {x}", "data"))
    if problems:
        raise ProblemError(problems)
    return {k: (v.astype(np.float32) if k.startswith("x_") else v) for k, v in data.items()}


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
             "sklearn": "scikit-learn"}
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
    """Execute ``recipe`` on ``model`` with ``data_path``.

    Raises:
        ProblemError: bad input found before any run folder is created (missing files, bad .npz).
    """
    registry = default_registry()
    if not model.exists():
        raise ProblemError([Problem(display_path(model), 0, "", "no such model file", "io")])
    data = load_data(data_path, recipe)
    inputs = {"model": {"path": str(model), "sha256": sha256(model)},
              "data": {"path": str(data_path), "sha256": sha256(data_path)}}
    if requirements is not None:
        inputs["requirements"] = {"path": str(requirements), "sha256": sha256(requirements)}
    digest = hashlib.sha256(json.dumps([inputs, recipe.id, seed], sort_keys=True).encode()).hexdigest()
    run_dir = new_run_dir(runs, recipe.id, digest)
    ordered = step_order(recipe)
    manifest = {
        "manifest_version": MANIFEST_VERSION, "run_id": run_dir.name, "status": "running",
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "finished_utc": None,
        "seed": seed, "inputs": inputs, "versions": versions(), "knowledge_base": kb.digest,
        "recipe": {"id": recipe.id, "name": recipe.name, "quantization": recipe.quantization,
                   "steps": [{"id": s.id, "uses": s.uses, "requires": list(s.requires),
                              "params": registry.get(s.uses).resolve(s.with_)[0]} for s in ordered]},
        "steps": [{"id": s.id, "uses": s.uses, "status": "pending", "seconds": None, "outputs": {}, "error": None}
                  for s in ordered],
        "failure": None, "artifacts": {},
    }
    write_json(run_dir / "manifest.json", manifest)
    ctx = RunContext(run_dir, seed, data, model, data_name=display_path(data_path))
    failed = None
    for record, step in zip(manifest["steps"], ordered):
        spec = registry.get(step.uses)
        params = spec.resolve(step.with_)[0]
        record["status"] = "running"
        write_json(run_dir / "manifest.json", manifest)
        if on_step:
            on_step(step.id, "start", {})
        started = time.perf_counter()
        try:
            with _stdout_to_stderr():
                outputs = implementation(spec)(ctx, params) or {}
            record.update(status="ok", outputs=outputs)
        except ProblemError as exc:
            record.update(status="failed", error="; ".join(p.render() for p in exc.problems))
            failed = ("invalid-input", 2, record["error"], exc)
        except StepFailed as exc:
            record.update(status="failed", error=str(exc))
            failed = ("failed", 1, f"step '{step.id}' failed: {exc}", None)
        except Exception as exc:  # noqa: BLE001 - an unexpected failure still ends in the manifest
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc(limit=8))
            failed = ("failed", 1, f"step '{step.id}' failed: {type(exc).__name__}: {exc}", None)
        record["seconds"] = round(time.perf_counter() - started, 3)
        if on_step:
            on_step(step.id, record["status"], record)
        if failed:
            manifest["failure"] = {"step": step.id, "reason": record["error"]}
            for later in manifest["steps"]:
                if later["status"] == "pending":
                    later["status"] = "skipped"
            break
    manifest["artifacts"] = {name: {"sha256": sha256(p), "bytes": p.stat().st_size}
                             for name, p in sorted(ctx.artifacts.items())}
    manifest["status"] = failed[0] if failed else "ok"
    manifest["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json(run_dir / "metrics.json", ctx.metrics)
    write_json(run_dir / "manifest.json", manifest)
    if failed:
        return RunOutcome(failed[0], run_dir, failed[1], failed[2])
    return RunOutcome("ok", run_dir, 0, "")


@contextlib.contextmanager
def _stdout_to_stderr():
    """Native libraries (the TFLite converter) print to file descriptor 1; keep stdout for the result."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_plain) + "\n", encoding="utf-8")
    tmp.replace(path)


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
