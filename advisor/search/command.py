"""The ``search`` command: plan the study, start the workers, watch them, write the Pareto front.

The command process never runs a trial itself: it plans (the board and framework from the advice, the
recipes the solver finds feasible for them, the architecture family), creates or joins the study, queues
the shipped recipes as the first trials, starts ``--workers`` worker processes (``advisor.search.worker``)
and reports progress from the storage until they stop. Another machine joins by running the same command
with the same ``--storage`` and ``--study``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from advisor.files import atomic_write
from advisor.kb.base import KnowledgeBase
from advisor.problems import Problem, ProblemError, check_ids, did_you_mean, display_path
from advisor.search import study as st

PLAN_VERSION = 1
PARETO_VERSION = 1
EXIT_OK, EXIT_FINDINGS, EXIT_INTERRUPTED = 0, 1, 130


@dataclass
class Options:
    requirements: Path
    model: Path
    data: Path
    board: str | None = None
    framework: str | None = None
    recipes: list[str] = field(default_factory=list)
    family: str | None = None  # an id, "none", or None (detect)
    trials: int = 12
    timeout: float | None = None
    workers: int = 1
    storage: str | None = None
    study: str | None = None
    seed: int = 0
    runs: Path = Path("runs")
    knowledge: Path | None = None


@dataclass
class Prepared:
    study_dir: Path
    url: str
    plan: dict
    notes: list[str]
    new: bool


def _sha256(path: Path) -> str:
    from advisor.run.paths import sha256

    return sha256(path)


def _tflm_recipe(recipe) -> bool:
    return any(s.uses == "tflm-validate" for s in recipe.steps) and recipe.quantization == "int8"


def prepare(opts: Options, kb: KnowledgeBase, req) -> Prepared:
    """Check the inputs, choose board, framework, recipes and family, and create or join the study.

    Raises:
        ProblemError: bad input (files, data without a test set, unknown ids, a study made for other inputs).
    """
    from advisor.files import check_input
    from advisor.profile.basis import from_profile
    from advisor.profile.keras_io import load_keras_model
    from advisor.profile.model import load_model
    from advisor.run.data import check_arrays, read_npz
    from advisor.run.needs import retrains
    from advisor.solve.solver import solve

    check_input(opts.model, "model", "model file", allow_dir=True)
    data = check_arrays(read_npz(opts.data), display_path(opts.data), {"x_test", "y_test"})
    if "x_rep" not in data and "x_train" not in data:
        raise ProblemError([Problem(display_path(opts.data), 0, "$.x_rep", "missing: the search converts every "
                                    "candidate to int8 and needs x_rep or x_train to calibrate", "data")])
    check_ids((("--board", opts.board, kb.boards), ("--framework", opts.framework, kb.frameworks)))
    for rid in opts.recipes:
        if rid not in kb.recipes or not _tflm_recipe(kb.recipes[rid]):
            raise ProblemError([Problem("--recipe", 0, "", f"'{rid}' is not an int8 recipe with a TFLM "
                                        "validation step (the search scores every point in TFLM)", "usage",
                                        "int8 recipes: " + ", ".join(sorted(r for r, x in kb.recipes.items()
                                                                             if _tflm_recipe(x))))])
    notes: list[str] = []
    sol = solve(req, kb, from_profile(load_model(opts.model)))
    ranked = sol.ranked(board=opts.board or "", framework=opts.framework or "")
    if ranked:
        board, framework = opts.board or ranked[0].board, opts.framework or ranked[0].framework
        ranked = sol.ranked(board=board, framework=framework)
    else:
        if not opts.board or not opts.framework:
            raise ProblemError([Problem("--board", 0, "", "no stack fits the questionnaire with this model, so there "
                                        "is no board to default to", "usage",
                                        "pass --board and --framework to search for a model that fits them")])
        board, framework = opts.board, opts.framework
        notes.append(f"no recipe fits {board} + {framework} with the model as it is: the search tries every int8 "
                     "recipe, and architectures when a family applies")
    labelled = req.data == "labelled" and "x_train" in data
    recipes = [c.recipe for c in ranked] or sorted(kb.recipes)
    recipes = [r for r in dict.fromkeys(recipes) if _tflm_recipe(kb.recipes[r])
               and (labelled or not retrains(kb.recipes[r]))]
    if opts.recipes:
        recipes = [r for r in dict.fromkeys(opts.recipes) if labelled or not retrains(kb.recipes[r])]
    if not recipes:
        raise ProblemError([Problem(display_path(opts.requirements), 0, "$.data", "no int8 recipe can run: the "
                                    "retraining ones need labelled data (data: labelled and x_train in the .npz)",
                                    "requirements")])
    model = load_keras_model(opts.model)
    kind = "autoencoder" if tuple(model.input_shape[1:]) == tuple(model.output_shape[1:]) else "classification"
    outputs = 0 if kind == "autoencoder" else int(model.output_shape[-1])
    family = _family(opts, kb, model, kind, outputs, labelled, notes)
    fingerprint = {"requirements": _sha256(opts.requirements), "model": _sha256(opts.model),
                   "data": _sha256(opts.data), "knowledge_base": kb.digest, "board": board, "framework": framework,
                   "recipes": recipes, "family": family, "seed": opts.seed}
    name = opts.study or "study-" + hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:10]
    study_dir = opts.runs / name
    url = st.storage_url(opts.storage, study_dir)
    plan = {"plan_version": PLAN_VERSION, "study": name, "storage": st.redact(url), "fingerprint": fingerprint,
            "requirements": str(opts.requirements.resolve()), "model": str(opts.model.resolve()),
            "data": str(opts.data.resolve()), "knowledge": str(opts.knowledge.resolve()) if opts.knowledge else None,
            "board": board, "framework": framework, "recipes": recipes, "family": family, "kind": kind,
            "outputs": outputs, "seed": opts.seed, "trials": opts.trials,
            "deadline": time.time() + opts.timeout if opts.timeout else None}
    storage = st.open_storage(url)
    study = st.create_study(storage, name, fingerprint)
    new = not study.get_trials(deepcopy=False)
    if new:
        from advisor.search.space import defaults

        for rid in recipes:
            study.enqueue_trial(defaults(kb.recipes[rid], family, kb), user_attrs={"fixed_recipe": True},
                                skip_if_exists=True)
    study_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(study_dir / "plan.json", json.dumps(plan, indent=2) + "\n")
    return Prepared(study_dir, url, plan, notes, new)


def _family(opts: Options, kb: KnowledgeBase, model, kind: str, outputs: int, labelled: bool,
            notes: list[str]) -> str | None:
    from advisor.run.families import family_of

    if opts.family == "none":
        return None
    if opts.family:
        if opts.family not in kb.families:
            raise ProblemError([Problem("--family", 0, "", f"unknown family '{opts.family}'"
                                        f"{did_you_mean(opts.family, kb.families)}", "usage",
                                        "families: " + ", ".join(sorted(kb.families)))])
        if not labelled and kind == "classification":
            raise ProblemError([Problem("--family", 0, "", "an architecture search trains from scratch and needs "
                                        "labelled data (data: labelled and x_train/y_train)", "usage")])
        return opts.family
    if not labelled:
        notes.append("no architecture search: it trains from scratch and needs labelled data")
        return None
    found = family_of(model, kind, outputs, kb.families)
    if found is None:
        notes.append("no architecture search: the model is none of the families "
                     f"({', '.join(sorted(kb.families))}); pass --family ID to search one")
    return found


def worker_env(url: str) -> dict:
    from advisor.search.worker import STORAGE_ENV

    env = dict(os.environ)
    env[STORAGE_ENV] = url
    env.setdefault("TF_USE_LEGACY_KERAS", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def start_worker(prepared: Prepared, index: int) -> subprocess.Popen:
    """One worker process; its output goes to ``workers/worker-<index>.log`` under the study folder."""
    logs = prepared.study_dir / "workers"
    logs.mkdir(exist_ok=True)
    log = open(logs / f"worker-{index}.log", "ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "advisor.search.worker", str(prepared.study_dir),
                                 "--worker", str(index), "--die-with-parent"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=worker_env(prepared.url), start_new_session=True)
    finally:
        log.close()


def worker_offset(url: str) -> int:
    """Seed offset of this machine's workers: 0 on a journal file (one machine: reproducible), else from the host
    name, so workers on two machines sharing a database do not propose the same first trials."""
    if url.startswith("journal:"):
        return 0
    import socket

    return zlib.crc32(socket.gethostname().encode()) % 10_000 * 100


def run_search(prepared: Prepared, workers: int, on_progress: Callable[[st.Counts, list], None] | None = None,
               poll: float = 2.0) -> tuple[int, dict]:
    """Start the workers, report progress until they stop, write pareto.json; return (exit code, its document)."""
    storage = st.open_storage(prepared.url)
    import optuna

    study = optuna.load_study(study_name=prepared.plan["study"], storage=storage)
    offset = worker_offset(prepared.url)
    procs = [start_worker(prepared, offset + i) for i in range(workers)]
    interrupted = False
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stop = []

    def handle(signum, _frame):
        stop.append(signum)

    for s in previous:
        signal.signal(s, handle)
    try:
        last = 0.0
        while any(p.poll() is None for p in procs):
            if stop and not interrupted:
                interrupted = True
                for p in procs:
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
            if on_progress and time.monotonic() - last >= poll:
                last = time.monotonic()
                trials = study.get_trials(deepcopy=False)
                on_progress(st.counts(trials), st.front(trials))
            time.sleep(0.2)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    st.recover_stale(study)
    trials = study.get_trials(deepcopy=False)
    doc = pareto_doc(prepared, trials)
    codes = [p.returncode for p in procs]
    doc["workers"] = [{"index": offset + i, "exit_code": code,
                       "log": str(Path("workers") / f"worker-{offset + i}.log")} for i, code in enumerate(codes)]
    atomic_write(prepared.study_dir / "pareto.json", json.dumps(doc, indent=2, allow_nan=False) + "\n")
    if on_progress:
        on_progress(st.counts(trials), st.front(trials))
    if interrupted or EXIT_INTERRUPTED in codes:
        return EXIT_INTERRUPTED, doc
    return (EXIT_OK if doc["front"] else EXIT_FINDINGS), doc


def _point(t) -> dict:
    a = t.user_attrs
    est = a.get("est", {})
    run_dir = a.get("run_dir")
    return {"trial": t.number, "recipe": a.get("recipe"), "fixed_recipe": bool(a.get("fixed_recipe")),
            "params": {k: v for k, v in sorted(t.params.items()) if k != "recipe"}, "arch": a.get("arch") or {},
            "accuracy_pct": t.values[0], "flash_bytes": int(t.values[1]), "latency_ms": t.values[2],
            "tflite_bytes": a.get("tflite_bytes"), "arena_bytes": a.get("arena_bytes"),
            "ram_kb": est.get("ram_kb"), "ram_avail_kb": est.get("ram_avail_kb"), "flash_kb": est.get("flash_kb"),
            "flash_avail_kb": est.get("flash_avail_kb"), "energy_mj": est.get("energy_mj") or None,
            "run_id": a.get("run_id"), "run_dir": run_dir, "host": (a.get("worker") or {}).get("host"),
            "trained": bool(a.get("trained", True)), "broken": a.get("broken", [])}


def pareto_doc(prepared: Prepared, trials) -> dict:
    """pareto.json (advisor/schemas/pareto.schema.json): the front, the counts, the best shipped recipe."""
    from optuna.trial import TrialState

    plan = prepared.plan
    c = st.counts(trials)
    front = [_point(t) for t in st.front(trials)]
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    fixed = [t for t in done if t.user_attrs.get("fixed_recipe") and all(v <= 0 for v in st.constraints_of(t))]
    fixed.sort(key=lambda t: (-t.values[0], t.values[1], t.number))
    infeasible = [_point(t) for t in done if not all(v <= 0 for v in st.constraints_of(t))]
    failed = [{"trial": t.number, "recipe": t.user_attrs.get("recipe") or t.params.get("recipe"),
               "reason": t.user_attrs.get("failure", "unknown")} for t in trials if t.state == TrialState.FAIL]
    return {
        "pareto_version": PARETO_VERSION, "study": plan["study"], "storage": plan["storage"],
        "board": plan["board"], "framework": plan["framework"], "family": plan["family"],
        "recipes": plan["recipes"], "seed": plan["seed"], "fingerprint": plan["fingerprint"],
        "objectives": [{"name": n, "direction": d} for n, d in st.OBJECTIVES],
        "constraints": list(st.CONSTRAINTS),
        "counts": {"trials": c.trials, "complete": c.complete, "feasible": c.feasible, "infeasible": c.infeasible,
                   "untrained": c.untrained, "failed": c.failed},
        "front": front,
        "chosen": front[0]["trial"] if front else None,
        "best_fixed_recipe": _point(fixed[0]) if fixed else None,
        "infeasible": infeasible, "failed": failed,
    }
