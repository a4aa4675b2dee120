"""The step loop of a run: each step recorded before and after, a failed or interrupted one cleaned up."""

from __future__ import annotations

import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from advisor.kb.entities import Recipe
from advisor.kb.recipes import step_order
from advisor.kb.steps import default_registry
from advisor.problems import Problem, ProblemError
from advisor.run.interrupt import Interrupted, SignalGuard
from advisor.run.logs import RunLog
from advisor.run.manifest import write_json
from advisor.run.needs import data_needed
from advisor.run.paths import remove_new, sha256, snapshot
from advisor.run.steps import implementation
from advisor.run.steps.runctx import RunContext, StepFailed

EXIT_FAILED, EXIT_INTERRUPTED = 1, 130


def io_reason(exc: OSError) -> str:
    """``cannot write model_data.cc: No space left on device`` from an OSError."""
    name = Path(exc.filename).name if exc.filename else "a file"
    return f"cannot write {name}: {exc.strerror or exc}"


class Execution:
    """One run's steps in order, with its manifest, log and signal guard."""

    def __init__(self, recipe: Recipe, run_dir: Path, manifest: dict, data: dict, model: Path, data_name: str,
                 seed: int, signals: SignalGuard, log: RunLog,
                 on_step: Callable[[str, str, dict], None] | None) -> None:
        self.recipe, self.run_dir, self.manifest = recipe, run_dir, manifest
        self.ctx = RunContext(run_dir, seed, data, model, data_name=data_name)
        self.signals, self.log, self.on_step = signals, log, on_step
        self.registry = default_registry()

    def execute(self) -> tuple[str, int, str]:
        """Run every step until one fails or a signal arrives; write metrics.json and the final manifest.

        Returns:
            (status, exit code, message): ``ok``/0, ``failed``/1 or ``interrupted``/130.
        Raises:
            ProblemError: bad input found by a step (the caller removes the run folder).
        """
        failed = self._save()
        if failed is None:
            for record, step in zip(self.manifest["steps"], step_order(self.recipe)):
                failed = self._step(record, step)
                if failed:
                    break
        return self._finish(failed)

    def _save(self) -> tuple[str, int, str] | None:
        try:
            write_json(self.run_dir / "manifest.json", self.manifest)
        except OSError as exc:
            return "failed", EXIT_FAILED, io_reason(exc)
        return None

    def _progress(self, step: str, status: str, record: dict) -> None:
        if self.on_step:
            with self.log.terminal():
                self.on_step(step, status, record)

    def _step(self, record: dict, step) -> tuple[str, int, str] | None:
        spec = self.registry.get(step.uses)
        params = spec.resolve(step.with_)[0]
        record["status"] = "running"
        failed = self._save()
        if failed:
            record.update(status="failed", error=failed[2])
            return failed
        self._progress(step.id, "start", {})
        before = snapshot(self.run_dir)
        started = time.perf_counter()
        self.log.write(f"--- step {step.id} ({step.uses}) {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
        try:
            with self.signals.armed():
                outputs = implementation(spec)(self.ctx, params) or {}
                if step.uses == "load-model":
                    self._check_needs()
            record.update(status="ok", outputs=outputs)
        except Interrupted as exc:
            record.update(status="interrupted", error=f"interrupted by {exc.name}")
            failed = "interrupted", EXIT_INTERRUPTED, f"step '{step.id}' interrupted by {exc.name}"
        except StepFailed as exc:
            record.update(status="failed", error=str(exc))
            failed = "failed", EXIT_FAILED, f"step '{step.id}' failed: {exc}"
        except OSError as exc:
            record.update(status="failed", error=io_reason(exc))
            failed = "failed", EXIT_FAILED, f"step '{step.id}' failed: {io_reason(exc)}"
        except ProblemError:
            raise
        except Exception as exc:  # noqa: BLE001 - an unexpected failure still ends in the manifest
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc(limit=8))
            failed = "failed", EXIT_FAILED, f"step '{step.id}' failed: {type(exc).__name__}: {exc}"
        record["seconds"] = round(time.perf_counter() - started, 3)
        if failed:
            # NOTE: whatever the step left (a half-written firmware folder, a child's scratch files) goes.
            removed = remove_new(self.run_dir, before)
            self.log.write(f"--- step {step.id} {record['status']}: {record['error']}; removed: "
                           f"{', '.join(removed) or 'nothing'}")
        self._progress(step.id, record["status"], record)
        return failed

    def _check_needs(self) -> None:
        """Once the model says whether it is a classifier: a retraining classifier needs y_train."""
        missing = data_needed(self.recipe, self.ctx.kind) - set(self.ctx.data)
        if "x_rep" in missing and "x_train" in self.ctx.data:
            missing.discard("x_rep")
        if missing:
            raise ProblemError([Problem(self.ctx.data_name, 0, f"$.{key}", f"missing: recipe '{self.recipe.id}' "
                                        f"retrains this {self.ctx.kind} model and needs {key}", "data")
                                for key in sorted(missing)])

    def _finish(self, failed: tuple[str, int, str] | None) -> tuple[str, int, str]:
        m = self.manifest
        if failed:
            step = next((s for s in m["steps"] if s["status"] in ("failed", "interrupted")), None)
            m["failure"] = {"step": step["id"] if step else "manifest", "reason": step["error"] if step else failed[2]}
            for later in m["steps"]:
                if later["status"] in ("pending", "running"):
                    later["status"] = "skipped"
        try:
            write_json(self.run_dir / "metrics.json", self.ctx.metrics)
        except OSError as exc:
            if not failed:
                failed = "failed", EXIT_FAILED, io_reason(exc)
                m["failure"] = {"step": m["steps"][-1]["id"] if m["steps"] else "metrics", "reason": io_reason(exc)}
        m["artifacts"] = {name: {"sha256": sha256(p), "bytes": p.stat().st_size}
                          for name, p in sorted(self.ctx.artifacts.items()) if p.exists()}
        m["status"] = failed[0] if failed else "ok"
        m["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            write_json(self.run_dir / "manifest.json", m)
        except OSError as exc:
            message = (failed[2] + "; " if failed else "") + f"the final manifest could not be written: {io_reason(exc)}"
            return "failed", EXIT_FAILED, message
        return failed or ("ok", 0, "")

