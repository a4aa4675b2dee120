"""One search worker: asks the study for trials and runs each as a real run until the budget is spent.

Run as ``python -m advisor.search.worker STUDY_DIR --worker I`` (the ``search`` command starts them; on
another machine the same ``search`` command starts its own). The storage URL comes in the environment
(``TINYML_ADVISOR_STORAGE``), so a database password never shows in a process list or a file.

A trial, in order:
1. the sampler proposes a recipe, its step parameters and (with a family) architecture parameters;
2. a new architecture is built untrained, converted to int8 with the representative sample and measured in
   the TFLM child: the arena and flash of an int8 model follow from its shapes, not its weights, so a
   candidate that breaks a budget is recorded as infeasible (constraint and numbers) and never trained;
3. otherwise it is trained from scratch (the family's settings) -- or, for the family's defaults, the user's
   own model is used -- and the recipe runs end to end (``advisor.run.runner``): its own run folder with
   manifest, .tflite, TFLM proof and C export;
4. the objectives are read from that run: TFLM accuracy, flash bytes, latency on the board (the one formula,
   ``advisor.perf``, on the measured model with the measured arena); the constraints are RAM (arena +
   runtime, with the questionnaire's margin), flash and latency against the board and the budgets.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

STORAGE_ENV = "TINYML_ADVISOR_STORAGE"
EXIT_INTERRUPTED = 130


class TrialFailed(RuntimeError):
    """The trial's run failed; the message (from its manifest) goes into the trial."""


class TrialInterrupted(TrialFailed):
    """A signal stopped the trial's run (the run folder says ``interrupted``)."""


class Plan:
    """The study's plan.json, written by the ``search`` command."""

    def __init__(self, study_dir: Path):
        self.dir = study_dir
        self._doc = json.loads((study_dir / "plan.json").read_text(encoding="utf-8"))

    def __getattr__(self, name):
        try:
            return self.__dict__["_doc"][name]
        except KeyError:
            raise AttributeError(name) from None


def limits(est: dict, req) -> dict[str, float]:
    """Each constraint's value (<= 0 when met) and the numbers behind it."""
    margin = 1.0 + req.memory_margin_pct / 100.0
    ram = est["ram_kb"] * margin - est["ram_avail_kb"]
    flash = est["flash_kb"] - est["flash_avail_kb"]
    latency = est["latency_ms"] - req.latency_budget_ms if req.latency_budget_ms else 0.0
    return {"ram": ram, "flash": flash, "latency": latency}


def explain(values: dict, est: dict, req) -> list[str]:
    """One sentence per broken constraint, with its numbers."""
    out = []
    if values["ram"] > 0:
        out.append(f"RAM: {est['ram_kb']:.1f} KiB (arena {est['arena_kb']:.1f} + runtime) with a "
                   f"{req.memory_margin_pct:g} % margin needs {est['ram_kb'] * (1 + req.memory_margin_pct / 100):.1f}"
                   f" KiB, {est['ram_avail_kb']:.1f} KiB available")
    if values["flash"] > 0:
        out.append(f"flash: {est['flash_kb']:.1f} KiB needed, {est['flash_avail_kb']:.1f} KiB available")
    if values["latency"] > 0:
        out.append(f"latency: {est['latency_ms']:.2f} ms estimated, budget {req.latency_budget_ms:g} ms")
    return out


class Worker:
    def __init__(self, study_dir: Path, index: int):
        from advisor.kb.cache import load_cached
        from advisor.questionnaire.requirements import load_requirements
        from advisor.run.data import read_npz
        from advisor.search.study import open_storage, sampler, storage_url

        import optuna

        self.plan = Plan(study_dir)
        self.index = index
        knowledge = self.plan.knowledge
        self.kb = load_cached(*([knowledge] if knowledge else []))[0]
        self.req = load_requirements(Path(self.plan.requirements), self.kb)
        self.data = read_npz(Path(self.plan.data))
        url = os.environ.get(STORAGE_ENV) or storage_url(None, study_dir)
        self._base: tuple[Path, int] | None = None
        self.study = optuna.load_study(study_name=self.plan.study, storage=open_storage(url),
                                       sampler=sampler(self.plan.seed, index, self.plan.trials))

    # -- the loop -------------------------------------------------------------------------------------
    def run(self) -> int:
        from advisor.run import interrupt
        from advisor.search.study import counts, recover_stale

        with interrupt.SignalGuard() as guard:
            interrupt.CURRENT.append(guard)
            try:
                while guard.signum is None:
                    recover_stale(self.study)
                    if counts(self.study.get_trials(deepcopy=False)).trials >= self.plan.trials:
                        return 0
                    if self.plan.deadline and time.time() >= self.plan.deadline:
                        return 0
                    trial = self.study.ask()
                    code = self._trial(trial, guard)
                    if code:
                        return code
                return EXIT_INTERRUPTED
            finally:
                interrupt.CURRENT.pop()
                if self._base is not None:
                    shutil.rmtree(self._base[0].parent, ignore_errors=True)

    def _trial(self, trial, guard) -> int:
        from optuna.trial import TrialState

        from advisor.run.interrupt import Interrupted
        from advisor.run.manifest import finite, process_identity

        trial.set_user_attr("worker", process_identity() | {"index": self.index})
        trial.set_user_attr("heartbeat", time.time())
        beat = _Heartbeat(self.study, trial)
        beat.start()
        attrs: dict = {}
        failure, code, values = None, 0, None
        try:
            values = self.evaluate(trial, guard, attrs)
        except Interrupted as exc:
            failure, code = f"interrupted by {exc.name}", EXIT_INTERRUPTED
        except TrialInterrupted as exc:
            failure, code = str(exc), EXIT_INTERRUPTED
        except TrialFailed as exc:
            failure = str(exc)
        finally:
            beat.stop()
        for key, value in attrs.items():
            trial.set_user_attr(key, finite(value))
        if failure is not None:
            trial.set_user_attr("failure", failure)
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            self.study.tell(trial, values)
        return code

    # -- one trial ------------------------------------------------------------------------------------
    def evaluate(self, trial, guard, attrs: dict) -> list[float]:
        """The trial's objective values; ``attrs`` receives what the trial records (also when it fails)."""
        from advisor.search.space import is_default_arch, suggest, variant

        plan, kb = self.plan, self.kb
        recipe_id, overrides, arch = suggest(trial, plan.recipes, plan.family, kb)
        recipe = variant(kb.recipes[recipe_id], overrides)
        attrs |= {"recipe": recipe_id, "arch": arch, "family": plan.family}
        same = self._same_params(trial)
        if same is not None:
            # NOTE: every run is a function of its parameters and the seed, so an identical trial that finished
            # already is not run again: its measurements are the answer (and say where they come from).
            attrs |= {k: v for k, v in same.user_attrs.items() if k not in ("worker", "heartbeat", "fixed_recipe",
                                                                             "retry_of")}
            attrs["duplicate_of"] = same.number
            return list(same.values)
        model_path = Path(plan.model)
        new_arch = bool(plan.family) and not is_default_arch(arch, plan.family)
        # NOTE: distillation trains its own narrower student from the model, so the model's sizes say nothing
        # about what gets deployed: such trials are measured after the step, like pruning and clustering.
        if not any(s.uses == "distill" for s in recipe.steps):
            with guard.armed():
                feasible, measured = self._measure(trial.number, arch if new_arch else None, recipe)
            if not feasible:
                attrs |= measured | {"trained": False}
                return [0.0, float(measured["tflite_bytes"]), measured["est"]["latency_ms"]]
        if new_arch:
            with guard.armed():
                model_path, attrs["training"] = self._train(trial.number, arch)
        outcome = self._run(recipe, model_path)
        run_dir = outcome.run_dir
        attrs["run_dir"] = str(run_dir.relative_to(self.plan.dir))
        attrs["run_id"] = run_dir.name
        if outcome.status == "interrupted":
            raise TrialInterrupted(f"run {run_dir.name} interrupted: {outcome.message}")
        if outcome.exit_code != 0:
            raise TrialFailed(f"run {run_dir.name} {outcome.status}: {outcome.message}")
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        tflm = metrics.get("tflm", {})
        accuracy = tflm["accuracy"] if "accuracy" in tflm else round(float(tflm["auc"]) * 100.0, 2)
        tflite = run_dir / "model.tflite"
        est = self._estimate(tflite, tflm["arena_bytes"], recipe_id)
        values = limits(est, self.req)
        attrs |= {"trained": True, "accuracy_pct": accuracy, "tflite_bytes": tflite.stat().st_size,
                  "arena_bytes": tflm["arena_bytes"], "est": _est_record(est), "constraints": list(values.values()),
                  "broken": explain(values, est, self.req)}
        return [float(accuracy), float(tflite.stat().st_size), float(est["latency_ms"])]

    def _same_params(self, trial):
        from optuna.trial import TrialState

        for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if t.params == trial.params and t.number != trial.number:
                return t
        return None

    def _estimate(self, tflite: Path, arena_bytes: float, recipe_id: str) -> dict:
        """The solver's estimate for the pinned board and framework, on the measured model and arena."""
        from advisor.profile.basis import from_profile
        from advisor.profile.model import load_model
        from advisor.solve.explain import stack_context

        basis = dataclasses.replace(from_profile(load_model(tflite)), int8_arena_bytes=float(arena_bytes))
        return stack_context(self.req, basis, self.kb, self.plan.board, self.plan.framework, recipe_id)["est"]

    def _measure(self, number: int, arch: dict | None, recipe) -> tuple[bool, dict]:
        """Convert the candidate to int8 and measure it in TFLM before any training; check the budgets.

        ``arch`` None measures the user's own model (once per worker: pruning and clustering leave a dense
        int8 model's arena and size as they are, so every such recipe shares the measurement).
        """
        if arch is None and self._base is not None:
            tflite, arena = self._base
        else:
            tflite, arena = self._convert_and_measure(number, arch, recipe)
            if arch is None:
                self._base = (tflite, arena)
        est = self._estimate(tflite, arena, recipe.id)
        size = tflite.stat().st_size
        if arch is not None:
            shutil.rmtree(tflite.parent, ignore_errors=True)
        values = limits(est, self.req)
        record = {"tflite_bytes": size, "arena_bytes": arena, "est": _est_record(est),
                  "constraints": list(values.values()), "broken": explain(values, est, self.req)}
        return all(v <= 0 for v in values.values()), record

    def _convert_and_measure(self, number: int, arch: dict | None, recipe) -> tuple[Path, int]:
        from advisor.profile.keras_io import load_keras_model
        from advisor.run.families import build
        from advisor.run.steps.runctx import RunContext, StepFailed
        from advisor.run.steps.tflite_steps import convert, tflm_validate

        name = f"trial-{number}" if arch is not None else f"base-{os.getpid()}"
        scratch = self.plan.dir / "scratch" / name
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        x = self.data.get("x_rep", self.data.get("x_train"))
        model = build(self.plan.family, x.shape[1:], self.plan.outputs, arch, seed=self.plan.seed) \
            if arch is not None else load_keras_model(Path(self.plan.model))
        ctx = RunContext(scratch, self.plan.seed, {"x_rep": x}, scratch / "none", model=model)
        samples = next((s.with_.get("samples", 100) for s in recipe.steps if s.uses == "convert"), 100)
        try:
            convert(ctx, {"mode": "int8", "samples": samples})
            measured = tflm_validate(ctx, {"samples": 1})
        except StepFailed as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise TrialFailed(f"the candidate could not be measured before training: {exc}") from None
        return ctx.tflite_path, int(measured["arena_bytes"])

    def _train(self, number: int, arch: dict) -> tuple[Path, dict]:
        """Train the architecture from scratch; save it (atomically) under models/trial-<n>/."""
        from advisor.run.families import build, train

        family = self.kb.families[self.plan.family]
        x = self.data["x_train"]
        model = build(family.id, x.shape[1:], self.plan.outputs, arch, seed=self.plan.seed)
        started = time.perf_counter()
        record = train(model, self.data, family.kind, family.train, self.plan.seed)
        folder = self.plan.dir / "models" / f"trial-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / ".model.part.keras"
        model.save(part)
        os.replace(part, folder / "model.keras")
        return folder / "model.keras", record | {"seconds": round(time.perf_counter() - started, 2),
                                                 "parameters": int(model.count_params())}

    def _run(self, recipe, model_path: Path):
        from advisor.run.runner import run_recipe

        return run_recipe(self.kb, recipe, model_path, Path(self.plan.data), self.plan.dir / "trials", self.plan.seed,
                          Path(self.plan.requirements))


def _est_record(est: dict) -> dict:
    keys = ("ram_kb", "ram_avail_kb", "arena_kb", "flash_kb", "flash_avail_kb", "model_flash_kb", "latency_ms",
            "energy_mj", "kernel")
    return {k: est[k] for k in keys if k in est}


class _Heartbeat:
    """Refreshes the trial's heartbeat while it runs, so workers on other hosts can tell it is alive."""

    def __init__(self, study, trial):
        from advisor.search.study import HEARTBEAT_SECONDS

        self._stop = threading.Event()
        self._every = HEARTBEAT_SECONDS
        self._thread = threading.Thread(target=self._loop, args=(study._storage, trial._trial_id), daemon=True)

    def _loop(self, storage, trial_id) -> None:
        while not self._stop.wait(self._every):
            try:
                storage.set_trial_user_attr(trial_id, "heartbeat", time.time())
            except Exception:  # noqa: BLE001 - a finished trial or a storage hiccup: the next beat retries
                if self._stop.is_set():
                    return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def main(argv: list[str]) -> int:
    from advisor.run.child import die_with_parent

    study_dir, index = Path(argv[0]), 0
    if "--worker" in argv:
        index = int(argv[argv.index("--worker") + 1])
    if "--die-with-parent" in argv:
        die_with_parent()
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    return Worker(study_dir, index).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
